using System.Diagnostics.Metrics;
using AgingPipeline.Contracts;
using AgingPipeline.Storage;
using Azure;

namespace AgingPipeline.Runner;

/// <summary>Publishes the approximate lengths of <c>aging-jobs</c> and <c>aging-jobs-poison</c> as the
/// <c>aging.queue.length</c> gauge (tag <c>queue</c>).</summary>
/// <remarks>The gauge callback must not do I/O, so the lengths are read in the background every
/// <see cref="Interval"/> and the callback reports the last values read. The job queue length is the number KEDA scales
/// the runners on; a growing poison queue is the number to alert on. With zero replicas nothing reports, which is
/// itself the statement that the job queue is below the activation threshold.</remarks>
internal sealed partial class QueueLengthMonitor : BackgroundService
{
    /// <summary>Time between two reads.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    private readonly StorageClients _clients;
    private readonly ILogger<QueueLengthMonitor> _logger;
    private long _jobs = -1;
    private long _poison = -1;

    public QueueLengthMonitor(StorageClients clients, ILogger<QueueLengthMonitor> logger)
    {
        _clients = clients;
        _logger = logger;
        PipelineTelemetry.Meter.CreateObservableGauge("aging.queue.length", Observe, "{message}", "Approximate number of messages in a pipeline queue.");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            do
            {
                Interlocked.Exchange(ref _jobs, await ReadAsync(_clients.JobsQueue, stoppingToken).ConfigureAwait(false));
                Interlocked.Exchange(ref _poison, await ReadAsync(_clients.PoisonQueue, stoppingToken).ConfigureAwait(false));
            }
            while (await WaitAsync(timer, stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private IEnumerable<Measurement<long>> Observe()
    {
        if (Interlocked.Read(ref _jobs) is var jobs and >= 0)
        {
            yield return new Measurement<long>(jobs, new KeyValuePair<string, object?>("queue", BlobNames.JobsQueue));
        }
        if (Interlocked.Read(ref _poison) is var poison and >= 0)
        {
            yield return new Measurement<long>(poison, new KeyValuePair<string, object?>("queue", BlobNames.PoisonQueue));
        }
    }

    private async Task<long> ReadAsync(Azure.Storage.Queues.QueueClient queue, CancellationToken cancellationToken)
    {
        try
        {
            var properties = await queue.GetPropertiesAsync(cancellationToken).ConfigureAwait(false);
            return properties.Value.ApproximateMessagesCount;
        }
        catch (RequestFailedException e)
        {
            // No permission or no queue: report nothing rather than a wrong number.
            LogQueueLengthUnreadable(_logger, e, queue.Name);
            return -1;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TimeoutException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogQueueLengthUnreadable(_logger, e, queue.Name);
            return -1;
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not read the length of queue {Queue}.")]
    private static partial void LogQueueLengthUnreadable(ILogger logger, Exception exception, string queue);
}
