using AgingPipeline.Contracts;
using Azure;
using Polly;
using Polly.Retry;

namespace AgingPipeline.Storage;

/// <summary>The <c>storage</c> resilience pipeline and the rules for what is worth retrying.</summary>
/// <remarks>
/// <para>The SDK's own retries are switched off (see <see cref="StorageClients"/>) so that exactly one policy
/// decides: otherwise three SDK attempts inside five Polly attempts make fifteen, and an outage takes minutes to
/// surface.</para>
/// <para>Only transient failures are retried: 408, 429, 5xx (except 501/505, which never heal) and network
/// errors. A 4xx that means "this request is wrong" (400, 403, 404, 409, 412, …) is returned at once; callers
/// that expect 404/409/412 handle them as results.</para>
/// </remarks>
public static class StorageResilience
{
    /// <summary>Name under which the pipeline is registered.</summary>
    public const string PipelineName = "storage";

    /// <summary>True for failures that a later attempt of the same call may not meet.</summary>
    /// <param name="exception">The failure.</param>
    /// <param name="cancellationToken">The caller's token: a cancellation it asked for is never retried.</param>
    public static bool IsTransient(Exception exception, CancellationToken cancellationToken = default) => exception switch
    {
        RequestFailedException failed => IsTransientStatus(failed.Status),
        OperationCanceledException => !cancellationToken.IsCancellationRequested, // the SDK's network timeout
        HttpRequestException or IOException or TimeoutException => true,
        _ => false,
    };

    /// <summary>True for HTTP statuses worth retrying; 0 is the SDK's status for "no response at all".</summary>
    public static bool IsTransientStatus(int status) =>
        status is 0 or 408 or 429 || (status >= 500 && status is not 501 and not 505);

    /// <summary>Adds the storage retry strategy to <paramref name="builder"/>.</summary>
    public static ResiliencePipelineBuilder AddStorageRetry(this ResiliencePipelineBuilder builder, StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxRetryAttempts == 0)
        {
            return builder;
        }
        return builder.AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = static args => ValueTask.FromResult(
                args.Outcome.Exception is { } exception && IsTransient(exception, args.Context.CancellationToken)),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            MaxRetryAttempts = options.MaxRetryAttempts,
            Delay = options.RetryBaseDelay,
            MaxDelay = options.RetryMaxDelay,
        });
    }

    /// <summary>Builds the storage pipeline without dependency injection (tools, tests).</summary>
    public static ResiliencePipeline Create(StorageOptions options) =>
        new ResiliencePipelineBuilder().AddStorageRetry(options).Build();

    /// <summary>Runs <paramref name="operation"/> through <paramref name="pipeline"/> and turns any storage failure
    /// left after the retries into a <see cref="PipelineException"/> with <see cref="PipelineErrorCode.StorageUnavailable"/>.</summary>
    /// <typeparam name="TState">State passed to the operation (lets hot paths use static lambdas).</typeparam>
    /// <typeparam name="TResult">Result type.</typeparam>
    /// <param name="pipeline">The storage pipeline.</param>
    /// <param name="operation">The storage call; it handles expected statuses (404, 409, 412) itself.</param>
    /// <param name="state">State for the operation.</param>
    /// <param name="what">What was being done, for the message ("read job record x").</param>
    /// <param name="cancellationToken">Cancels the call and the waits between retries.</param>
    public static async ValueTask<TResult> ExecuteStorageAsync<TState, TResult>(
        this ResiliencePipeline pipeline,
        Func<TState, CancellationToken, ValueTask<TResult>> operation,
        TState state,
        string what,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(operation);
        try
        {
            return await pipeline.ExecuteAsync(
                static (s, ct) => s.operation(s.state, ct),
                (operation, state),
                cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex)
        {
            throw Unavailable(what, ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw Unavailable(what, ex);
        }
    }

    /// <summary>The exception that reports a storage failure to the rest of the pipeline.</summary>
    public static PipelineException Unavailable(string what, Exception inner)
    {
        var detail = inner is RequestFailedException failed
            ? $"HTTP {failed.Status}{(string.IsNullOrEmpty(failed.ErrorCode) ? string.Empty : $" {failed.ErrorCode}")}"
            : inner.GetType().Name;
        return new PipelineException(PipelineErrorCode.StorageUnavailable, $"Storage could not {what} ({detail}).", inner);
    }
}
