using AgingPipeline.Contracts;
using Microsoft.Extensions.Options;

namespace AgingPipeline.EventPump;

/// <summary>Runs <see cref="UploadEventPump"/> rounds until the host stops.</summary>
/// <remarks>A round that fails (storage down, state file not writable) is logged and the next round tries again:
/// the pump must outlive an Azurite or function-app restart, as Event Grid outlives a function app restart.</remarks>
public sealed class EventPumpWorker(UploadEventPump pump, IOptions<EventPumpOptions> options, ILogger<EventPumpWorker> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.PollInterval;
        logger.LogInformation("Event pump: {Container} → {Url}{Function}, every {Interval}, state in {State}",
            BlobNames.UploadsContainer, options.Value.FunctionAppUrl, options.Value.FunctionName, interval, pump.StateFile);
        using var timer = new PeriodicTimer(interval);
        do
        {
            try
            {
                var round = await pump.RunOnceAsync(stoppingToken).ConfigureAwait(false);
                if (round.Delivered + round.Failed + round.DeadLettered > 0)
                {
                    logger.LogInformation("Round: {Listed} blobs, {Delivered} delivered, {Failed} to retry, {DeadLettered} dead-lettered.",
                        round.Listed, round.Delivered, round.Failed, round.DeadLettered);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is Azure.RequestFailedException or PipelineException or IOException or UnauthorizedAccessException or HttpRequestException)
            {
                logger.LogWarning("Pump round failed, retrying next round: {Error}", ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
