using AgingPipeline.Inference;
using AgingPipeline.Storage;
using Microsoft.Extensions.Options;

namespace AgingPipeline.Runner;

/// <summary>Receives job messages from <c>aging-jobs</c> and processes up to
/// <see cref="RunnerOptions.MaxConcurrentJobs"/> at once.</summary>
/// <remarks>Nothing is received before the model repository's first scan has finished, so a starting runner never
/// takes jobs it would fail for lack of a model. Only as many messages are received as there are free slots: a
/// message received but not started would sit invisible for the whole visibility timeout while other runners idle.
/// An empty queue is polled with a growing interval (KEDA scales runners to zero when it stays empty).</remarks>
internal sealed partial class JobWorker(
    JobQueue queue,
    JobProcessor processor,
    ModelRepository models,
    StorageClients storageClients,
    IOptions<RunnerOptions> options,
    ILogger<JobWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (settings.EnsureStorageCreated)
        {
            await EnsureStorageAsync(stoppingToken).ConfigureAwait(false);
        }
        while (models.LastScan is null)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), stoppingToken).ConfigureAwait(false);
        }
        // The models are listed "a/1, b/2" by the logging formatter (ServedModel.ToString).
        LogStarted(logger, settings.MaxConcurrentJobs, models.Models);

        using var slots = new SemaphoreSlim(settings.MaxConcurrentJobs, settings.MaxConcurrentJobs);
        var running = new HashSet<Task>();
        var idle = settings.MinPollInterval;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await slots.WaitAsync(stoppingToken).ConfigureAwait(false);
                var free = 1;
                while (free < 32 && slots.Wait(0, stoppingToken))
                {
                    free++;
                }
                IReadOnlyList<ReceivedJobMessage> messages;
                try
                {
                    messages = await queue.ReceiveAsync(free, cancellationToken: stoppingToken).ConfigureAwait(false);
                }
                catch (AgingPipeline.Contracts.PipelineException e)
                {
                    LogReceiveFailed(logger, e, settings.MaxPollInterval);
                    slots.Release(free);
                    await Task.Delay(settings.MaxPollInterval, stoppingToken).ConfigureAwait(false);
                    continue;
                }
                if (free > messages.Count)
                {
                    slots.Release(free - messages.Count);
                }
                if (messages.Count == 0)
                {
                    await Task.Delay(idle, stoppingToken).ConfigureAwait(false);
                    idle = TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, settings.MaxPollInterval.Ticks));
                    continue;
                }
                idle = settings.MinPollInterval;
                foreach (var message in messages)
                {
                    var task = RunOneAsync(message, slots, stoppingToken);
                    lock (running)
                    {
                        running.Add(task);
                    }
                    _ = task.ContinueWith(t =>
                    {
                        lock (running)
                        {
                            running.Remove(t);
                        }
                    }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        Task[] remaining;
        lock (running)
        {
            remaining = [.. running];
        }
        await Task.WhenAll(remaining).ConfigureAwait(false);
        LogStopped(logger);
    }

    private async Task RunOneAsync(ReceivedJobMessage message, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        try
        {
            await processor.ProcessAsync(message, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            LogHandedBack(logger, message.MessageId);
        }
        catch (Exception e)
        {
            // The processor already decided what to do with the job; this is a failure of that decision (e.g. storage
            // down while recording the outcome). The message stays and reappears after its visibility timeout.
            LogHandlingFailed(logger, e, message.MessageId);
        }
        finally
        {
            slots.Release();
        }
    }

    private async Task EnsureStorageAsync(CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                await storageClients.EnsureCreatedAsync(stoppingToken).ConfigureAwait(false);
                return;
            }
            catch (AgingPipeline.Contracts.PipelineException e)
            {
                LogStorageNotReachable(logger, e);
                await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Message {MessageId} handed back at shutdown.")]
    private static partial void LogHandedBack(ILogger logger, string messageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling message {MessageId} failed; it will be delivered again.")]
    private static partial void LogHandlingFailed(ILogger logger, Exception exception, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Receiving job messages failed; retrying in {Delay}.")]
    private static partial void LogReceiveFailed(ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job worker started: {Concurrency} concurrent jobs; models served: {Models}.")]
    private static partial void LogStarted(ILogger logger, int concurrency, IEnumerable<ServedModel> models);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job worker stopped.")]
    private static partial void LogStopped(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage is not reachable yet; retrying in 5 s.")]
    private static partial void LogStorageNotReachable(ILogger logger, Exception exception);
}
