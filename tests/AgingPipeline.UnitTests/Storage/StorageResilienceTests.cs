using AgingPipeline.Contracts;
using AgingPipeline.Storage;
using Azure;
using Polly;

namespace AgingPipeline.UnitTests.Storage;

public sealed class StorageResilienceTests
{
    private static readonly StorageOptions FastOptions = new()
    {
        MaxRetryAttempts = 3,
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        RetryMaxDelay = TimeSpan.FromMilliseconds(2),
    };

    [Theory]
    [InlineData(0, true)]
    [InlineData(408, true)]
    [InlineData(429, true)]
    [InlineData(500, true)]
    [InlineData(503, true)]
    [InlineData(501, false)]
    [InlineData(505, false)]
    [InlineData(400, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(409, false)]
    [InlineData(412, false)]
    public void Only_transient_statuses_are_retried(int status, bool transient) =>
        Assert.Equal(transient, StorageResilience.IsTransient(new RequestFailedException(status, "x")));

    [Fact]
    public void Cancellation_by_the_caller_is_not_transient_but_a_network_timeout_is()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.False(StorageResilience.IsTransient(new OperationCanceledException(), cancelled.Token));
        Assert.True(StorageResilience.IsTransient(new TaskCanceledException(), CancellationToken.None));
        Assert.True(StorageResilience.IsTransient(new HttpRequestException("reset")));
        Assert.False(StorageResilience.IsTransient(new InvalidOperationException()));
    }

    [Fact]
    public async Task Transient_failures_are_retried_then_reported_as_StorageUnavailable()
    {
        var calls = 0;
        var pipeline = StorageResilience.Create(FastOptions);
        var error = await Assert.ThrowsAsync<PipelineException>(async () => await pipeline.ExecuteStorageAsync<int, int>(
            (_, _) => { calls++; throw new RequestFailedException(503, "busy", "ServerBusy", null); },
            0, "read something", CancellationToken.None));
        Assert.Equal(4, calls);
        Assert.Equal(PipelineErrorCode.StorageUnavailable, error.Code);
        Assert.Contains("HTTP 503 ServerBusy", error.Message);
        Assert.IsType<RequestFailedException>(error.InnerException);
    }

    [Fact]
    public async Task Input_errors_are_not_retried()
    {
        var calls = 0;
        var pipeline = StorageResilience.Create(FastOptions);
        var error = await Assert.ThrowsAsync<PipelineException>(async () => await pipeline.ExecuteStorageAsync<int, int>(
            (_, _) => { calls++; throw new RequestFailedException(403, "denied", "AuthorizationFailure", null); },
            0, "write something", CancellationToken.None));
        Assert.Equal(1, calls);
        Assert.Equal(PipelineErrorCode.StorageUnavailable, error.Code);
    }

    [Fact]
    public async Task A_success_after_a_transient_failure_is_returned()
    {
        var calls = 0;
        var result = await StorageResilience.Create(FastOptions).ExecuteStorageAsync<int, int>(
            (s, _) => ++calls < 3 ? throw new RequestFailedException(500, "oops") : ValueTask.FromResult(s * 2),
            21, "compute", CancellationToken.None);
        Assert.Equal(42, result);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task Caller_cancellation_propagates_unwrapped()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await ResiliencePipeline.Empty.ExecuteStorageAsync<int, int>(
            (_, ct) => { ct.ThrowIfCancellationRequested(); return ValueTask.FromResult(1); }, 0, "x", cancelled.Token));
    }
}
