using AgingPipeline.Contracts;
using Microsoft.AspNetCore.Diagnostics;

namespace AgingPipeline.Functions.Http;

/// <summary>Turns exceptions that escape an endpoint into problem details with a <c>code</c>.</summary>
/// <remarks>A <see cref="PipelineException"/> carries a message written for people and is shown; anything else is
/// a bug and is shown as a generic "unexpected error" with the trace id, while the exception itself is logged.
/// Kestrel's request-size refusal becomes <see cref="PipelineErrorCode.ImageTooLarge"/>.</remarks>
public sealed class PipelineExceptionHandler(ILogger<PipelineExceptionHandler> logger) : IExceptionHandler
{
    /// <inheritdoc />
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(exception);
        IResult result;
        switch (exception)
        {
            case PipelineException pipeline:
                if (pipeline.IsTransient)
                {
                    logger.LogWarning(exception, "Request {Path} failed: {Code}", httpContext.Request.Path, pipeline.Code);
                }
                else
                {
                    logger.LogInformation("Request {Path} refused: {Code} {Message}", httpContext.Request.Path, pipeline.Code, pipeline.Message);
                }
                result = Problems.From(pipeline);
                break;
            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                result = Problems.Create(PipelineErrorCode.ImageTooLarge, "The request body is larger than the server accepts.");
                break;
            case BadHttpRequestException bad:
                result = Problems.Create(PipelineErrorCode.InvalidRequest, "The request could not be read.", bad.StatusCode);
                break;
            default:
                logger.LogError(exception, "Unhandled exception on {Method} {Path}", httpContext.Request.Method, httpContext.Request.Path);
                result = Problems.Create(PipelineErrorCode.Internal, "An unexpected error occurred. Quote the trace id when reporting it.");
                break;
        }
        await result.ExecuteAsync(httpContext).ConfigureAwait(false);
        return true;
    }
}
