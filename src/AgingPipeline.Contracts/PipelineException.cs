namespace AgingPipeline.Contracts;

/// <summary>The one exception type that crosses component boundaries. Native and SDK exceptions
/// (VipsException, OnnxRuntimeException, RequestFailedException) are wrapped into it at the boundary so that
/// callers can map <see cref="Code"/> to an HTTP status, a job record or an exit code.</summary>
public sealed class PipelineException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">What went wrong, as a stable code.</param>
    /// <param name="message">What went wrong, for people.</param>
    /// <param name="innerException">The native or SDK exception it wraps, if any.</param>
    public PipelineException(PipelineErrorCode code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>The machine-readable reason.</summary>
    public PipelineErrorCode Code { get; }

    /// <summary>True when retrying the same work later may succeed (storage outages, model hiccups).</summary>
    public bool IsTransient => Code is PipelineErrorCode.StorageUnavailable or PipelineErrorCode.ModelFailed or PipelineErrorCode.Internal;
}
