using System.Text.Json;
using AgingPipeline.Contracts;
using AgingPipeline.Functions.CustomHandler;
using AgingPipeline.Functions.Http;
using AgingPipeline.Functions.Ingest;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace AgingPipeline.Functions.Apis;

/// <summary>The non-HTTP functions, as the Functions host calls them on a custom handler:
/// <c>POST /{FunctionName}</c> with an invocation payload.</summary>
/// <remarks>A 200 reply completes the invocation. Any other status fails it, and the host retries according to the
/// trigger: the storage event is delivered again, the poison message is received again. Refusing an upload is a
/// successful invocation (the refusal is recorded); only "try again later" conditions answer non-2xx.</remarks>
public static class TriggersApi
{
    /// <summary>Binding name of the blob trigger in <c>functions/OnImageUploaded/function.json</c>.</summary>
    public const string UploadBindingName = "upload";

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

    /// <summary>Blob trigger (Event Grid source) on <c>uploads/{name}</c>.</summary>
    public static async Task<Results<Ok<InvocationResult>, ProblemHttpResult>> OnImageUploadedAsync(
        HttpRequest request,
        UploadIngestor ingestor,
        IOptions<InputLimits> limits,
        ILoggerFactory loggerFactory,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(ingestor);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        // The host binds the whole blob into Data as base64 (4/3 of its size); allow the largest accepted upload.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limits.Value.MaxBytes / 3 * 4 + 1024 * 1024;
        }
        var logger = loggerFactory.CreateLogger(typeof(TriggersApi));
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["InvocationId"] = request.Headers[InvocationIdHeader].ToString() });
        BlobTriggerRequest? payload;
        try
        {
            payload = await JsonSerializer.DeserializeAsync(request.Body, HostValuesJsonContext.Default.BlobTriggerRequest, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return Problems.Create(PipelineErrorCode.InvalidRequest, $"The invocation body is not valid JSON: {ex.Message}");
        }
        if (payload is null)
        {
            return Problems.Create(PipelineErrorCode.InvalidRequest, "The invocation body is empty.");
        }
        var invocation = BlobTriggerInvocation.From(payload, Contracts.BlobNames.UploadsContainer);
        try
        {
            var outcome = await ingestor.IngestAsync(invocation, cancellationToken).ConfigureAwait(false);
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
