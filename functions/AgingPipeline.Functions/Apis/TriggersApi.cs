using System.Text.Json;
using AgingPipeline.Contracts;
using AgingPipeline.Functions.CustomHandler;
using AgingPipeline.Functions.Http;
using AgingPipeline.Functions.Ingest;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgingPipeline.Functions.Apis;

/// <summary>The non-HTTP functions, as the Functions host calls them on a custom handler:
/// <c>POST /{FunctionName}</c> with an invocation payload.</summary>
/// <remarks>A 200 reply completes the invocation. Any other status fails it, and the host retries according to the
/// trigger: the storage event is delivered again, the poison message is received again. Refusing an upload is a
/// successful invocation (the refusal is recorded); only "try again later" conditions answer non-2xx.</remarks>
public static class TriggersApi
{
    /// <summary>Binding name of the Event Grid trigger in <c>functions/OnImageUploaded/function.json</c>.</summary>
    public const string UploadBindingName = "eventGridEvent";

    /// <summary>Binding name of the queue trigger in <c>functions/OnPoisonJob/function.json</c>.</summary>
    public const string PoisonBindingName = "message";

    /// <summary>Header with the host's invocation id.</summary>
    public const string InvocationIdHeader = "X-Azure-Functions-InvocationId";

    /// <summary>Maps <c>/OnImageUploaded</c> and <c>/OnPoisonJob</c>.</summary>
    public static IEndpointRouteBuilder MapTriggersApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/OnImageUploaded", OnImageUploadedAsync).ExcludeFromDescription();
        app.MapPost("/OnPoisonJob", OnPoisonJobAsync).ExcludeFromDescription();
        return app;
    }

    /// <summary>Event Grid trigger: the <c>Microsoft.Storage.BlobCreated</c> event of a blob in <c>uploads</c> (a few
    /// hundred bytes; the blob itself never passes through the host).</summary>
    public static async Task<Results<Ok<InvocationResult>, ProblemHttpResult>> OnImageUploadedAsync(
        HttpRequest request,
        UploadIngestor ingestor,
        ILoggerFactory loggerFactory,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(ingestor);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var logger = loggerFactory.CreateLogger(typeof(TriggersApi));
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["InvocationId"] = request.Headers[InvocationIdHeader].ToString() });
        InvocationRequest? payload;
        try
        {
            payload = await JsonSerializer.DeserializeAsync(request.Body, HostValuesJsonContext.Default.InvocationRequest, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return Problems.Create(PipelineErrorCode.InvalidRequest, $"The invocation body is not valid JSON: {ex.Message}");
        }
        if (payload is null)
        {
            return Problems.Create(PipelineErrorCode.InvalidRequest, "The invocation body is empty.");
        }
        var gridEvent = EventGridBlobEvent.From(payload, UploadBindingName);
        try
        {
            var outcome = await ingestor.IngestAsync(gridEvent, cancellationToken).ConfigureAwait(false);
            return TypedResults.Ok(InvocationResult.WithLogs(outcome.Message));
        }
        catch (IngestInProgressException busy)
        {
            request.HttpContext.Response.Headers.RetryAfter = "10";
            return Problems.Create(PipelineErrorCode.Busy, busy.Message);
        }
    }

    /// <summary>Queue trigger on <c>aging-jobs-poison</c>.</summary>
    public static async Task<Results<Ok<InvocationResult>, ProblemHttpResult>> OnPoisonJobAsync(
        HttpRequest request,
        PoisonJobHandler handler,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(handler);
        InvocationRequest? payload;
        try
        {
            payload = await JsonSerializer.DeserializeAsync(request.Body, HostValuesJsonContext.Default.InvocationRequest, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return Problems.Create(PipelineErrorCode.InvalidRequest, $"The invocation body is not valid JSON: {ex.Message}");
        }
        if (payload is null)
        {
            return Problems.Create(PipelineErrorCode.InvalidRequest, "The invocation body is empty.");
        }
        var invocation = QueueTriggerInvocation.From(payload, PoisonBindingName);
        var log = await handler.HandleAsync(invocation, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(InvocationResult.WithLogs(log));
    }
}
