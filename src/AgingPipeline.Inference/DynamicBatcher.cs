using System.Diagnostics;
using System.Threading.Channels;
using AgingPipeline.Contracts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgingPipeline.Inference;

/// <summary>Settings of one <see cref="DynamicBatcher"/>.</summary>
/// <param name="MaxBatch">Largest batch formed (at most the model's own maximum).</param>
/// <param name="MaxQueueDelay">How long to wait for more requests once the first of a batch arrived.</param>
/// <param name="QueueCapacity">Requests that may wait; further callers wait for room (back-pressure).</param>
public sealed record DynamicBatcherOptions(int MaxBatch, TimeSpan MaxQueueDelay, int QueueCapacity);

/// <summary>Collects single-image requests into batches for one model, Triton-style.</summary>
/// <remarks>A GPU (and, less so, a CPU) runs a batch of 16 in far less than 16 times the time of one. Requests (one
/// image at one age each) go into a bounded channel; one loop takes the first waiting request, then keeps taking until
/// the batch is full or <see cref="DynamicBatcherOptions.MaxQueueDelay"/> has passed since it started, runs the batch
/// and completes each request with its slice of the output. A failing batch fails exactly its own requests. When the
/// channel is full, <see cref="InferAsync"/> waits, which slows the job consumers down instead of growing memory.
/// A request cancelled before its batch starts is dropped from the batch.</remarks>
public sealed partial class DynamicBatcher : IAsyncDisposable
{
    private readonly IBatchModel _model;
    private readonly DynamicBatcherOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<Request> _channel;
    private readonly Task _loop;
    private readonly KeyValuePair<string, object?> _modelTag;
    private long _batchesRun;
    private long _requestsRun;
    private int _largestBatch;
    private long _runTicks;
    private int _disposed;

    /// <summary>Starts the batching loop for <paramref name="model"/>.</summary>
    public DynamicBatcher(IBatchModel model, DynamicBatcherOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.QueueCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxQueueDelay, TimeSpan.Zero);
        _model = model;
        _options = options with { MaxBatch = Math.Min(options.MaxBatch, model.MaxBatch) };
        _logger = logger ?? NullLogger.Instance;
        _modelTag = new("model", model.DisplayName);
        _channel = Channel.CreateBounded<Request>(new BoundedChannelOptions(options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
        _loop = Task.Run(RunLoopAsync);
    }

    /// <summary>The model the batches run on.</summary>
    public IBatchModel Model => _model;

    /// <summary>The largest batch this batcher forms.</summary>
    public int MaxBatch => _options.MaxBatch;

    /// <summary>Batches run so far.</summary>
    public long BatchesRun => Interlocked.Read(ref _batchesRun);

    /// <summary>Requests completed so far (successfully or not).</summary>
    public long RequestsRun => Interlocked.Read(ref _requestsRun);

    /// <summary>The largest batch run so far.</summary>
    public int LargestBatch => Volatile.Read(ref _largestBatch);

    /// <summary>Seconds the model spent running batches so far (successful ones).</summary>
    public double RunSeconds => TimeSpan.FromTicks(Interlocked.Read(ref _runTicks)).TotalSeconds;

    /// <summary>Queues one image and returns its output once its batch has run.</summary>
    /// <param name="image">One image, <see cref="IBatchModel.ImageLength"/> floats (CHW); it must stay unchanged until
    /// the task completes.</param>
    /// <param name="conditions">Its <see cref="IBatchModel.ConditionCount"/> encoded condition values.</param>
    /// <param name="cancellationToken">Abandons the request (and the wait for queue room).</param>
    /// <returns><see cref="IBatchModel.OutputLength"/> floats.</returns>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.ModelFailed"/> when the batch failed or the
    /// model was unloaded meanwhile (both worth a retry).</exception>
    public async Task<float[]> InferAsync(ReadOnlyMemory<float> image, ReadOnlyMemory<float> conditions, CancellationToken cancellationToken = default)
    {
        if (image.Length != _model.ImageLength)
        {
            throw new ArgumentException($"Expected {_model.ImageLength} image floats, got {image.Length}.", nameof(image));
        }
        if (conditions.Length != _model.ConditionCount)
        {
            throw new ArgumentException($"Expected {_model.ConditionCount} condition values, got {conditions.Length}.", nameof(conditions));
        }
        var request = new Request(image, conditions, cancellationToken);
        try
        {
            await _channel.Writer.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw Unloaded(e);
        }
        using var registration = cancellationToken.Register(static state => ((Request)state!).Completion.TrySetCanceled(), request);
        return await request.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Stops accepting requests, runs those already queued, then stops the loop.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _channel.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private async Task RunLoopAsync()
    {
        var reader = _channel.Reader;
        var batch = new List<Request>(_options.MaxBatch);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            if (!reader.TryRead(out var first))
            {
                continue;
            }
            batch.Add(first);
            var started = Stopwatch.GetTimestamp();
            while (batch.Count < _options.MaxBatch)
            {
                if (reader.TryRead(out var next))
                {
                    batch.Add(next);
                    continue;
                }
                var remaining = _options.MaxQueueDelay - Stopwatch.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero || !await WaitForMoreAsync(reader, remaining).ConfigureAwait(false))
                {
                    break;
                }
            }
            Execute(batch);
        }
    }

    private static async Task<bool> WaitForMoreAsync(ChannelReader<Request> reader, TimeSpan timeout)
    {
        using var timer = new CancellationTokenSource(timeout);
        try
        {
            return await reader.WaitToReadAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested)
        {
            return false;
        }
    }

    private void Execute(List<Request> batch)
    {
        batch.RemoveAll(r => r.Completion.Task.IsCompleted || r.CancellationToken.IsCancellationRequested);
        foreach (var r in batch)
        {
            InferenceMetrics.QueueWait.Record(Stopwatch.GetElapsedTime(r.Enqueued).TotalSeconds, _modelTag);
        }
        if (batch.Count == 0)
        {
            return;
        }
        var n = batch.Count;
        var imageLength = _model.ImageLength;
        var conditionCount = _model.ConditionCount;
        var images = new float[n * imageLength];
        var conditions = new float[n * conditionCount];
        for (var i = 0; i < n; i++)
        {
            batch[i].Image.Span.CopyTo(images.AsSpan(i * imageLength, imageLength));
            var values = batch[i].Conditions.Span;
            for (var c = 0; c < conditionCount; c++)
            {
                conditions[c * n + i] = values[c];
            }
        }

        var started = Stopwatch.GetTimestamp();
        float[] output;
        try
        {
            output = _model.Run(images, conditions, n, CancellationToken.None);
        }
        catch (Exception e)
        {
            InferenceMetrics.Failures.Add(1, _modelTag);
            LogBatchFailed(_logger, e, n, _model.DisplayName);
            var failure = e is PipelineException or OperationCanceledException
                ? e
                : new PipelineException(PipelineErrorCode.ModelFailed, $"Model {_model.DisplayName} failed: {e.Message}", e);
            foreach (var r in batch)
            {
                r.Completion.TrySetException(failure);
            }
            Count(n);
            return;
        }
        var runTime = Stopwatch.GetElapsedTime(started);
        Interlocked.Add(ref _runTicks, runTime.Ticks);
        var elapsed = runTime.TotalSeconds;
        InferenceMetrics.BatchDuration.Record(elapsed, _modelTag);
        InferenceMetrics.BatchSize.Record(n, _modelTag);
        InferenceMetrics.Batches.Add(1, _modelTag);
        InferenceMetrics.Requests.Add(n, _modelTag);

        var outputLength = _model.OutputLength;
        if (output.Length != n * outputLength)
        {
            var wrong = new PipelineException(PipelineErrorCode.ModelFailed, $"Model {_model.DisplayName} returned {output.Length} floats for a batch of {n}; expected {n * outputLength}.");
            foreach (var r in batch)
            {
                r.Completion.TrySetException(wrong);
            }
            Count(n);
            return;
        }
        for (var i = 0; i < n; i++)
        {
            batch[i].Completion.TrySetResult(output.AsSpan(i * outputLength, outputLength).ToArray());
        }
        Count(n);
    }

    private void Count(int n)
    {
        Interlocked.Increment(ref _batchesRun);
        Interlocked.Add(ref _requestsRun, n);
        int largest;
        do
        {
            largest = Volatile.Read(ref _largestBatch);
        }
        while (n > largest && Interlocked.CompareExchange(ref _largestBatch, n, largest) != largest);
    }

    private PipelineException Unloaded(Exception inner) =>
        new(PipelineErrorCode.ModelFailed, $"Model {_model.DisplayName} was unloaded while the request was queued; retry.", inner);

    private sealed class Request(ReadOnlyMemory<float> image, ReadOnlyMemory<float> conditions, CancellationToken cancellationToken)
    {
        public ReadOnlyMemory<float> Image { get; } = image;

        public ReadOnlyMemory<float> Conditions { get; } = conditions;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public long Enqueued { get; } = Stopwatch.GetTimestamp();

        public TaskCompletionSource<float[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A batch of {Count} on {Model} failed.")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count, string model);
}
