namespace AgingPipeline.Contracts;

/// <summary>Known failure reasons. Stored in job records, returned as the <c>code</c> of problem details and
/// mapped to CLI exit codes; never renumber an existing value.</summary>
public enum PipelineErrorCode
{
    /// <summary>Not a failure.</summary>
    None = 0,
    /// <summary>The content is not one of the accepted formats (PNG, JPEG, WebP), whatever its name or content type says.</summary>
    UnsupportedFormat = 1,
    /// <summary>The content claims an accepted format but cannot be decoded (truncated, corrupt, hostile).</summary>
    CorruptImage = 2,
    /// <summary>The upload has more bytes than allowed.</summary>
    ImageTooLarge = 3,
    /// <summary>Width × height exceeds the pixel budget (decompression-bomb guard).</summary>
    TooManyPixels = 4,
    /// <summary>A side is longer than allowed, or too short to be useful.</summary>
    BadDimensions = 5,
    /// <summary>Target ages missing, out of range or not numbers.</summary>
    InvalidAges = 6,
    /// <summary>A request is malformed (missing fields, wrong content type).</summary>
    InvalidRequest = 7,
    /// <summary>The requested model is not served.</summary>
    ModelNotFound = 8,
    /// <summary>The model failed for this input.</summary>
    ModelFailed = 9,
    /// <summary>A model repository entry is invalid (manifest or graph).</summary>
    InvalidModel = 10,
    /// <summary>Storage could not be reached after retries.</summary>
    StorageUnavailable = 11,
    /// <summary>The input blob no longer exists or changed since the job was created.</summary>
    InputGone = 12,
    /// <summary>The job was retried too often and moved to the poison queue.</summary>
    RetriesExhausted = 13,
    /// <summary>No such job or batch.</summary>
    NotFound = 14,
    /// <summary>The image has more frames than allowed (animations).</summary>
    TooManyFrames = 15,
    /// <summary>The same work is being done by another delivery right now; retry later.</summary>
    Busy = 16,
    /// <summary>Faces were required (<c>region=faces</c>) but no face was found in the image.</summary>
    NoFaceFound = 17,
    /// <summary>The caller is not signed in, and this deployment serves signed-in callers only.</summary>
    Unauthenticated = 18,
    /// <summary>Anything unexpected; a bug.</summary>
    Internal = 99,
}
