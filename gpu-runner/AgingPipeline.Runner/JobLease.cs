using AgingPipeline.Contracts;
using AgingPipeline.Storage;

namespace AgingPipeline.Runner;

/// <summary>Keeps a received job message invisible while its job runs, by renewing the visibility timeout.</summary>
/// <remarks>A job can outlast the visibility timeout (large images, a busy CPU). Without renewal the message would
/// reappear and a second runner would start the same job. Renewal happens every third of the timeout; each renewal
/// returns a new pop receipt, which <see cref="Current"/> tracks for the final delete. When a renewal finds the message
/// is no longer ours, <see cref="Lost"/> is cancelled so the job stops instead of racing the new holder.
/// The timeout is short (45 s by default, so that a killed runner's jobs come back within a minute); a renewal that
/// fails is tried again after a tenth of the timeout rather than a third, so that a storage hiccup mid-job still
/// leaves several attempts before the message could reappear.</remarks>
internal sealed partial class JobLease : IAsyncDisposable
{
    private readonly JobQueue _queue;
    private readonly TimeSpan _visibilityTimeout;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _lost = new();
    private readonly Task _renewal;
    private ReceivedJobMessage _current;
    private int _disposed;

    public JobLease(JobQueue queue, ReceivedJobMessage message, TimeSpan visibilityTimeout, ILogger logger)
    {
        _queue = queue;
        _current = message;
        _visibilityTimeout = visibilityTimeout;
        _logger = logger;
        _renewal = Task.Run(RenewAsync);
    }

    /// <summary>The message with its latest pop receipt.</summary>
    public ReceivedJobMessage Current => Volatile.Read(ref _current);

    /// <summary>Cancelled when the message was lost to another worker.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>Stops renewing (before deleting or abandoning the message); safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        await _renewal.ConfigureAwait(false);
        _stop.Dispose();
        _lost.Dispose();
    }

    private async Task RenewAsync()
    {
        var interval = _visibilityTimeout / 3;
        var delay = interval;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, _stop.Token).ConfigureAwait(false);
                delay = _visibilityTimeout / 10;
                var renewed = await _queue.ExtendVisibilityAsync(Current, _visibilityTimeout, _stop.Token).ConfigureAwait(false);
                Volatile.Write(ref _current, renewed);
                delay = interval;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (PipelineException e) when (e.Code == PipelineErrorCode.InputGone)
            {
                LogLeaseLost(_logger, Current.MessageId, e.Message);
                await _lost.CancelAsync().ConfigureAwait(false);
                return;
            }
            catch (PipelineException e)
            {
                // Storage trouble: try again soon (a tenth of the timeout); the message stays ours until the timeout runs out.
                LogRenewFailed(_logger, e, Current.MessageId);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the lease of message {MessageId}: {Reason}")]
    private static partial void LogLeaseLost(ILogger logger, string messageId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the lease of message {MessageId} failed; retrying.")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, string messageId);
}
