using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgingPipeline.Inference;

/// <summary>Scans the <see cref="ModelRepository"/> at start and every <see cref="InferenceOptions.RescanInterval"/>.</summary>
/// <remarks>A failed scan (e.g. the model share is briefly unreachable) is logged and retried at the next tick; it
/// never stops the host, and models already served stay served.</remarks>
public sealed partial class ModelRepositoryService(ModelRepository repository, IOptions<InferenceOptions> options, ILogger<ModelRepositoryService> logger)
    : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.RescanInterval;
        do
        {
            try
            {
                await repository.ScanAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogScanFailed(logger, e, repository.Root);
            }
            if (interval <= TimeSpan.Zero)
            {
                return;
            }
            try
            {
                await Task.Delay(interval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        while (!stoppingToken.IsCancellationRequested);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Scanning the model repository {Root} failed; retrying at the next interval.")]
    private static partial void LogScanFailed(ILogger logger, Exception exception, string root);
}
