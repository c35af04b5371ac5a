using System.Collections.Concurrent;
using AgingPipeline.Contracts;
using AgingPipeline.Inference;

namespace AgingPipeline.UnitTests.Inference;

public sealed class DynamicBatcherTests
{
    [Fact]
    public async Task Requests_that_wait_together_run_as_one_batch()
    {
        var model = new RecordingModel(maxBatch: 16);
        await using var batcher = new DynamicBatcher(model, new DynamicBatcherOptions(16, TimeSpan.FromMilliseconds(50), 64));
        model.Block();
        var first = batcher.InferAsync(Image(1), C(1f));
        await model.WaitForRunsAsync(1);

        var waiting = Enumerable.Range(2, 10).Select(i => batcher.InferAsync(Image(i), C(i))).ToList();
        await Task.Delay(20);
        model.Release();

        var results = await Task.WhenAll(waiting.Prepend(first));

        Assert.Equal([1, 10], model.BatchSizes);
        for (var i = 0; i < results.Length; i++)
        {
            // The model returns image + condition, so each caller gets its own slice back.
            Assert.Equal([i + 1 + (i + 1), i + 1 + (i + 1)], results[i]);
        }
        Assert.Equal(2, batcher.BatchesRun);
        Assert.Equal(11, batcher.RequestsRun);
        Assert.Equal(10, batcher.LargestBatch);
    }

    [Fact]
    public async Task Never_exceeds_the_maximum_batch()
    {
        var model = new RecordingModel(maxBatch: 32);
        await using var batcher = new DynamicBatcher(model, new DynamicBatcherOptions(4, TimeSpan.FromMilliseconds(20), 64));
        model.Block();
        var first = batcher.InferAsync(Image(0), C(0f));
        await model.WaitForRunsAsync(1);
        var rest = Enumerable.Range(1, 10).Select(i => batcher.InferAsync(Image(i), C(i))).ToList();
        await Task.Delay(20);
        model.Release();

        await Task.WhenAll(rest.Prepend(first));

        Assert.Equal(4, batcher.MaxBatch);
        Assert.All(model.BatchSizes, size => Assert.InRange(size, 1, 4));
        Assert.Equal(11, model.BatchSizes.Sum());
        Assert.Equal([1, 4, 4, 2], model.BatchSizes);
    }

    [Fact]
    public async Task A_single_request_runs_after_the_queue_delay()
    {
        var model = new RecordingModel(maxBatch: 8);
        await using var batcher = new DynamicBatcher(model, new DynamicBatcherOptions(8, TimeSpan.FromMilliseconds(5), 8));

        var result = await batcher.InferAsync(Image(3), C(4f)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([7f, 7f], result);
        Assert.Equal([1], model.BatchSizes);
    }

    [Fact]
    public async Task A_failing_batch_fails_its_own_requests_only()
    {
        var model = new RecordingModel(maxBatch: 8) { FailWhenConditionIs = 13f };
        await using var batcher = new DynamicBatcher(model, new DynamicBatcherOptions(8, TimeSpan.FromMilliseconds(50), 64));
        model.Block();
        var first = batcher.InferAsync(Image(1), C(1f));
        await model.WaitForRunsAsync(1);
        var poisoned = batcher.InferAsync(Image(2), C(13f));
        var neighbour = batcher.InferAsync(Image(3), C(3f));
        await Task.Delay(20);
        model.Release();

        var firstResult = await first;
        Assert.Equal([2f, 2f], firstResult);
        var error = await Assert.ThrowsAsync<PipelineException>(() => poisoned);
        Assert.Equal(PipelineErrorCode.ModelFailed, error.Code);
        Assert.Contains("recording/1", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<PipelineException>(() => neighbour);

        var after = await batcher.InferAsync(Image(5), C(5f));
        Assert.Equal([10f, 10f], after);
    }

    [Fact]
    public async Task A_request_cancelled_while_queued_is_not_run()
    {
        var model = new RecordingModel(maxBatch: 8);
        await using var batcher = new DynamicBatcher(model, new DynamicBatcherOptions(8, TimeSpan.FromMilliseconds(50), 64));
        model.Block();
        var first = batcher.InferAsync(Image(1), C(1f));
        await model.WaitForRunsAsync(1);
        using var cancellation = new CancellationTokenSource();
        var cancelled = batcher.InferAsync(Image(2), C(2f), cancellation.Token);
        var kept = batcher.InferAsync(Image(3), C(3f));
        cancellation.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        model.Release();

        await first;
        await kept;
        Assert.Equal([1, 1], model.BatchSizes);
    }

    [Fact]
    public async Task Back_pressure_holds_callers_when_the_queue_is_full()
    {
        var model = new RecordingModel(maxBatch: 1);
        var batcher = new DynamicBatcher(model, new DynamicBatcherOptions(1, TimeSpan.Zero, 2));
        model.Block();
        var running = batcher.InferAsync(Image(0), C(0f));
        await model.WaitForRunsAsync(1);
        var queued1 = batcher.InferAsync(Image(1), C(1f));
        var queued2 = batcher.InferAsync(Image(2), C(2f));
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => batcher.InferAsync(Image(3), C(3f), cancellation.Token));

        model.Release();
        await Task.WhenAll(running, queued1, queued2);
        await batcher.DisposeAsync();
        Assert.Equal(3, model.BatchSizes.Count);
    }

    [Fact]
    public async Task Disposing_runs_what_is_queued_then_refuses_new_requests()
    {
        var model = new RecordingModel(maxBatch: 2);
        var batcher = new DynamicBatcher(model, new DynamicBatcherOptions(2, TimeSpan.FromMilliseconds(1), 16));
        model.Block();
        var requests = Enumerable.Range(0, 5).Select(i => batcher.InferAsync(Image(i), C(i))).ToList();
        await model.WaitForRunsAsync(1);
        var disposal = batcher.DisposeAsync().AsTask();
        model.Release();
        await disposal;

        Assert.All(await Task.WhenAll(requests), r => Assert.Equal(2, r.Length));
        var error = await Assert.ThrowsAsync<PipelineException>(() => batcher.InferAsync(Image(9), C(9f)));
        Assert.Equal(PipelineErrorCode.ModelFailed, error.Code);
        Assert.Contains("unloaded", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batches_concurrent_requests_on_a_real_onnx_model()
    {
        using var session = AgerSession.Load(ModelFixtures.AgerDirectory, ModelFixtures.AgerManifest, ModelFixtures.Options());
        await using var batcher = new DynamicBatcher(session, new DynamicBatcherOptions(8, TimeSpan.FromMilliseconds(20), 64));
        var image = new float[session.ImageLength];
        var ages = Enumerable.Range(0, 20).Select(i => 10 + i * 4).ToList();

        var results = await Task.WhenAll(ages.Select(age => batcher.InferAsync(image, session.EncodeConditions(age))));

        for (var i = 0; i < ages.Count; i++)
        {
            var expected = 0.5f * (ages[i] * 0.01f - 0.5f);
            Assert.All(results[i], v => Assert.Equal(expected, v, 1e-5f));
        }
        Assert.Equal(20, batcher.RequestsRun);
        Assert.True(batcher.BatchesRun < 20, $"{batcher.BatchesRun} batches for 20 requests");
        Assert.InRange(batcher.LargestBatch, 2, 8);
    }

    private static float[] Image(int value) => [value, value];

    private static float[] C(float value) => [value];

    /// <summary>A two-float "model" that returns image + condition and records batch sizes; it can be held on a gate.</summary>
    private sealed class RecordingModel(int maxBatch) : IBatchModel, IDisposable
    {
        private readonly ConcurrentQueue<int> _sizes = new();
        private readonly SemaphoreSlim _runs = new(0);
        private readonly ManualResetEventSlim _gate = new(true);

        public float? FailWhenConditionIs { get; init; }

        public string DisplayName => "recording/1";

        public int ImageLength => 2;

        public int ConditionCount => 1;

        public int OutputLength => 2;

        public int MaxBatch => maxBatch;

        public List<int> BatchSizes => [.. _sizes];

        public void Block() => _gate.Reset();

        public void Dispose()
        {
            _runs.Dispose();
            _gate.Dispose();
        }

        public void Release() => _gate.Set();

        public async Task WaitForRunsAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                Assert.True(await _runs.WaitAsync(TimeSpan.FromSeconds(10)), "the model was not run");
            }
        }

        public float[] Run(ReadOnlyMemory<float> images, ReadOnlyMemory<float> conditions, int batch, CancellationToken cancellationToken = default)
        {
            _sizes.Enqueue(batch);
            _runs.Release();
            Assert.True(_gate.Wait(TimeSpan.FromSeconds(10), cancellationToken), "the test never released the model");
            if (FailWhenConditionIs is { } poison && conditions.Span.Contains(poison))
            {
                throw new PipelineException(PipelineErrorCode.ModelFailed, $"Model {DisplayName} failed on purpose.");
            }
            var output = new float[batch * 2];
            for (var i = 0; i < batch; i++)
            {
                output[2 * i] = images.Span[2 * i] + conditions.Span[i];
                output[2 * i + 1] = images.Span[2 * i + 1] + conditions.Span[i];
            }
            return output;
        }
    }
}
