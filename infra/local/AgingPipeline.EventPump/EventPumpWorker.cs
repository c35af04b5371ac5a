using AgingPipeline.Contracts;
using Microsoft.Extensions.Options;

namespace AgingPipeline.EventPump;

/// <summary>Runs <see cref="UploadEventPump"/> rounds until the host stops.</summary>
/// <remarks>A round that fails (storage down, state file not writable) is logged and the next round tries again:
/// the pump must outlive an Azurite or function-app restart, as Event Grid outlives a function app restart.</remarks>
public sealed partial class EventPumpWorker(UploadEventPump pump, IOptions<EventPumpOptions> options, ILogger<EventPumpWorker> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.PollInterval;
        LogStarted(logger, BlobNames.UploadsContainer, options.Value.FunctionAppUrl, options.Value.FunctionName, interval, pump.StateFile);
        using var timer = new PeriodicTimer(interval);
        do
        {
            try
            {
                var round = await pump.RunOnceAsync(stoppingToken).ConfigureAwait(false);
                if (round.Delivered + round.Failed + round.DeadLettered > 0)
                {
                    LogRound(logger, round.Listed, round.Delivered, round.Failed, round.DeadLettered);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is Azure.RequestFailedException or PipelineException or IOException or UnauthorizedAccessException or HttpRequestException)
            {
                LogRoundFailed(logger, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Round: {Listed} blobs, {Delivered} delivered, {Failed} to retry, {DeadLettered} dead-lettered.")]
    private static partial void LogRound(ILogger logger, int listed, int delivered, int failed, int deadLettered);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pump round failed, retrying next round: {Error}")]
    private static partial void LogRoundFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Event pump: {Container} → {Url}{Function}, every {Interval}, state in {State}")]
    private static partial void LogStarted(ILogger logger, string container, Uri url, string function, TimeSpan interval, string state);
}
