using System.Diagnostics;
using AgingPipeline.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgingPipeline.Functions.Http;

/// <summary>RFC 7807 problem details with a machine-readable <c>code</c> (a <see cref="PipelineErrorCode"/> name).</summary>
/// <remarks>Clients (web form, CLI) switch on <c>code</c>, never on the English text; the CLI maps it to an
/// exit code. Texts are written for people and never contain a stack trace or an SDK message.</remarks>
public static class Problems
{
    /// <summary>The HTTP status for an error code.</summary>
    public static int StatusFor(PipelineErrorCode code) => code switch
    {
        PipelineErrorCode.UnsupportedFormat => StatusCodes.Status415UnsupportedMediaType,
        PipelineErrorCode.ImageTooLarge => StatusCodes.Status413PayloadTooLarge,
        PipelineErrorCode.CorruptImage or PipelineErrorCode.TooManyPixels or PipelineErrorCode.BadDimensions
            or PipelineErrorCode.TooManyFrames or PipelineErrorCode.NoFaceFound => StatusCodes.Status422UnprocessableEntity,
        PipelineErrorCode.InvalidAges or PipelineErrorCode.InvalidRequest or PipelineErrorCode.ModelNotFound => StatusCodes.Status400BadRequest,
        PipelineErrorCode.NotFound or PipelineErrorCode.InputGone => StatusCodes.Status404NotFound,
        PipelineErrorCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        PipelineErrorCode.StorageUnavailable or PipelineErrorCode.Busy => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>The error code reported for a bare HTTP status (routing 404, 405, …).</summary>
    public static PipelineErrorCode CodeForStatus(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => PipelineErrorCode.Unauthenticated,
        StatusCodes.Status404NotFound => PipelineErrorCode.NotFound,
        StatusCodes.Status413PayloadTooLarge => PipelineErrorCode.ImageTooLarge,
        StatusCodes.Status415UnsupportedMediaType => PipelineErrorCode.InvalidRequest,
        StatusCodes.Status503ServiceUnavailable => PipelineErrorCode.StorageUnavailable,
        >= 400 and < 500 => PipelineErrorCode.InvalidRequest,
        _ => PipelineErrorCode.Internal,
    };

    /// <summary>A problem result for <paramref name="code"/>.</summary>
    /// <param name="code">The error code.</param>
    /// <param name="detail">Human explanation.</param>
    /// <param name="status">HTTP status; defaults to <see cref="StatusFor"/>.</param>
    /// <param name="extensions">Extra members.</param>
    public static ProblemHttpResult Create(PipelineErrorCode code, string detail, int? status = null, IDictionary<string, object?>? extensions = null)
    {
        var members = new Dictionary<string, object?>(StringComparer.Ordinal) { ["code"] = code.ToString() };
        if (Activity.Current is { } activity)
        {
            members["traceId"] = activity.TraceId.ToString();
        }
        if (extensions is not null)
        {
            foreach (var pair in extensions)
            {
                members[pair.Key] = pair.Value;
            }
        }
        var statusCode = status ?? StatusFor(code);
        return TypedResults.Problem(detail, statusCode: statusCode, title: TitleFor(code), type: TypeFor(code), extensions: members);
    }

    /// <summary>A problem result for a <see cref="PipelineException"/>.</summary>
    public static ProblemHttpResult From(PipelineException exception) => Create(exception.Code, exception.Message);

    /// <summary>The problem <c>type</c> URI of a code.</summary>
    public static string TypeFor(PipelineErrorCode code) => $"urn:aging-pipeline:error:{code}";

    private static string TitleFor(PipelineErrorCode code) => code switch
    {
        PipelineErrorCode.UnsupportedFormat => "Unsupported file format",
        PipelineErrorCode.CorruptImage => "The image cannot be read",
        PipelineErrorCode.ImageTooLarge => "Upload too large",
        PipelineErrorCode.TooManyPixels => "Image has too many pixels",
        PipelineErrorCode.BadDimensions => "Image dimensions not accepted",
        PipelineErrorCode.InvalidAges => "Invalid target ages",
        PipelineErrorCode.InvalidRequest => "Invalid request",
        PipelineErrorCode.ModelNotFound => "Model not found",
        PipelineErrorCode.NotFound => "Not found",
        PipelineErrorCode.InputGone => "Input no longer available",
        PipelineErrorCode.StorageUnavailable => "Storage unavailable",
        PipelineErrorCode.Busy => "Busy, retry later",
        PipelineErrorCode.TooManyFrames => "Animated images are not accepted",
        PipelineErrorCode.NoFaceFound => "No face found",
        PipelineErrorCode.Unauthenticated => "Sign in first",
        _ => "Unexpected error",
    };
}
