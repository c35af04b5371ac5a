using AgingPipeline.Contracts;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgingPipeline.Functions.Http;

/// <summary>Turns exceptions that escape an endpoint into problem details with a <c>code</c>.</summary>
/// <remarks>A <see cref="PipelineException"/> carries a message written for people and is shown; anything else is
/// a bug and is shown as a generic "unexpected error" with the trace id, while the exception itself is logged.
/// Kestrel's request-size refusal becomes <see cref="PipelineErrorCode.ImageTooLarge"/>.</remarks>
public sealed partial class PipelineExceptionHandler(ILogger<PipelineExceptionHandler> logger) : IExceptionHandler
{
    /// <inheritdoc />
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(exception);
        ProblemHttpResult result;
        switch (exception)
        {
            case PipelineException pipeline:
                if (pipeline.IsTransient)
                {
                    LogRequestFailed(logger, exception, httpContext.Request.Path, pipeline.Code);
                }
                else
                {
                    LogRequestRefused(logger, httpContext.Request.Path, pipeline.Code, pipeline.Message);
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
                LogUnhandled(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
                result = Problems.Create(PipelineErrorCode.Internal, "An unexpected error occurred. Quote the trace id when reporting it.");
                break;
        }
        await result.ExecuteAsync(httpContext).ConfigureAwait(false);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {Path} failed: {Code}")]
    private static partial void LogRequestFailed(ILogger logger, Exception exception, PathString path, PipelineErrorCode code);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {Path} refused: {Code} {Message}")]
    private static partial void LogRequestRefused(ILogger logger, PathString path, PipelineErrorCode code, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, PathString path);
}
