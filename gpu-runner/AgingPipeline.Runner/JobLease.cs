using AgingPipeline.Contracts;
using AgingPipeline.Storage;
using Microsoft.Extensions.Logging;

namespace AgingPipeline.Runner;

/// <summary>Keeps a received job message invisible while its job runs, by renewing the visibility timeout.</summary>
/// <remarks>A job can outlast the visibility timeout (large images, a busy CPU). Without renewal the message would
/// reappear and a second runner would start the same job. Renewal happens every third of the timeout; each renewal
/// returns a new pop receipt, which <see cref="Current"/> tracks for the final delete. When a renewal finds the message
/// is no longer ours, <see cref="Lost"/> is cancelled so the job stops instead of racing the new holder.</remarks>
internal sealed class JobLease : IAsyncDisposable
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
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, _stop.Token).ConfigureAwait(false);
                var renewed = await _queue.ExtendVisibilityAsync(Current, _visibilityTimeout, _stop.Token).ConfigureAwait(false);
                Volatile.Write(ref _current, renewed);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (PipelineException e) when (e.Code == PipelineErrorCode.InputGone)
            {
                _logger.LogWarning("Lost the lease of message {MessageId}: {Reason}", Current.MessageId, e.Message);
                await _lost.CancelAsync().ConfigureAwait(false);
                return;
            }
            catch (PipelineException e)
            {
                // Storage trouble: keep trying at the next interval; the timeout leaves two more chances.
                _logger.LogWarning(e, "Renewing the lease of message {MessageId} failed; retrying.", Current.MessageId);
            }
        }
    }
}
