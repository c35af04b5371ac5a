namespace AgingPipeline.Functions.Apis;

/// <summary>Answer to an accepted upload (202).</summary>
/// <param name="BatchId">The batch of the uploaded files (issued by the server).</param>
/// <param name="BatchUrl">Where to follow the batch.</param>
/// <param name="Jobs">One entry per file, in request order.</param>
/// <param name="BatchToken">The token that adds more files to the batch (send it as <c>batchToken</c> with
/// <c>batchId</c>); only in the answer of the request that created the batch, and never stored by the server.</param>
public sealed record UploadAccepted(string BatchId, string BatchUrl, IReadOnlyList<UploadAcceptedJob> Jobs, string? BatchToken = null);

/// <summary>Answer to <c>POST /api/batches</c> (201): a new, empty batch.</summary>
/// <param name="BatchId">The issued batch id.</param>
/// <param name="BatchToken">The token that adds files to it (shown once; the server keeps only its hash).</param>
/// <param name="BatchUrl">Where to follow the batch.</param>
public sealed record BatchCreated(string BatchId, string BatchToken, string BatchUrl);

/// <summary>One accepted file.</summary>
/// <param name="JobId">Its job id (derived from the stored blob, the same id OnImageUploaded computes).</param>
/// <param name="FileName">The file name as sent.</param>
/// <param name="Blob">Where it was stored inside <c>uploads</c>.</param>
/// <param name="StatusUrl">Where to follow the job.</param>
public sealed record UploadAcceptedJob(string JobId, string FileName, string Blob, string StatusUrl);

/// <summary>The state of one job as shown to users.</summary>
/// <param name="JobId">The job id.</param>
/// <param name="State"><c>pending</c> (uploaded, not yet picked up), <c>queued</c>, <c>processing</c>, <c>succeeded</c> or <c>failed</c>.</param>
/// <param name="InputBlob">The input blob inside <c>uploads</c>.</param>
/// <param name="OriginalName">The user's file name.</param>
/// <param name="BatchId">The batch, if any.</param>
/// <param name="TargetAges">The requested ages.</param>
/// <param name="Model">Model name.</param>
/// <param name="ModelVersion">Model version, or null for the newest.</param>
/// <param name="Format">Sniffed format.</param>
/// <param name="Width">Width in pixels, when known.</param>
/// <param name="Height">Height in pixels, when known.</param>
/// <param name="Region">The region asked for and, once the job has succeeded, what was aged.</param>
/// <param name="Outputs">Aged images with short-lived download links.</param>
/// <param name="ContactSheetUrl">Download link of the contact sheet, when there is one.</param>
/// <param name="Error">Why the job failed.</param>
/// <param name="Attempts">Processing attempts so far.</param>
/// <param name="CreatedAt">When the job was created.</param>
/// <param name="UpdatedAt">Last change.</param>
/// <param name="CompletedAt">When it reached a final state.</param>
/// <param name="LinksExpireAt">When the download links stop working.</param>
public sealed record JobStatusResponse(
    string JobId,
    string State,
    string? InputBlob,
    string? OriginalName,
    string? BatchId,
    IReadOnlyList<int> TargetAges,
    string? Model,
    string? ModelVersion,
    string? Format,
    int? Width,
    int? Height,
    JobRegionResponse? Region,
    IReadOnlyList<JobOutputLink> Outputs,
    string? ContactSheetUrl,
    JobErrorResponse? Error,
    int Attempts,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? UpdatedAt,
    DateTimeOffset? CompletedAt,
    DateTimeOffset? LinksExpireAt);

/// <summary>Which part of the picture a job ages, and what it aged.</summary>
/// <param name="Requested"><c>auto</c>, <c>faces</c> or <c>whole</c>.</param>
/// <param name="Applied"><c>faces</c> (the faces found were aged, nothing else changed) or <c>whole-frame</c>; null
/// until the job has succeeded.</param>
/// <param name="Faces">The faces aged: box, score and six keypoints (eyes, nose, mouth, ears as seen in the picture),
/// all in pixels of the input with its EXIF orientation applied (the job's <c>width</c> × <c>height</c>); empty for
/// the whole frame and until the job has succeeded.</param>
/// <param name="Reason">Why the whole frame was aged (no face found, asked for, the model has no head crop); null
/// otherwise.</param>
public sealed record JobRegionResponse(string Requested, string? Applied, IReadOnlyList<Contracts.DetectedFace> Faces, string? Reason)
{
    /// <summary>The region part of <paramref name="record"/>.</summary>
    public static JobRegionResponse From(Contracts.JobRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var outcome = record.RegionOutcome;
        return new JobRegionResponse(
            Contracts.AgingRegions.ToWireName(outcome?.Requested ?? record.Region),
            outcome?.Applied,
            outcome?.Faces ?? [],
            outcome?.Reason);
    }
}

/// <summary>One aged output.</summary>
/// <param name="Age">Target age in years.</param>
/// <param name="Url">Short-lived read link.</param>
public sealed record JobOutputLink(int Age, string Url);

/// <summary>Why a job failed.</summary>
/// <param name="Code">A <see cref="Contracts.PipelineErrorCode"/> name.</param>
/// <param name="Message">Human explanation.</param>
public sealed record JobErrorResponse(string Code, string Message);

/// <summary>The state of a batch.</summary>
/// <param name="BatchId">The batch id.</param>
/// <param name="Total">Number of jobs.</param>
/// <param name="Counts">Jobs per state (every state present, zero included).</param>
/// <param name="Done">True when every job reached a final state.</param>
/// <param name="Jobs">The jobs.</param>
public sealed record BatchStatusResponse(string BatchId, int Total, IReadOnlyDictionary<string, int> Counts, bool Done, IReadOnlyList<BatchJobResponse> Jobs);

/// <summary>One job of a batch.</summary>
/// <param name="JobId">The job id.</param>
/// <param name="State">Its state (see <see cref="JobStatusResponse.State"/>).</param>
/// <param name="OriginalName">The user's file name.</param>
/// <param name="ErrorCode">Why it failed, if it did.</param>
/// <param name="StatusUrl">Where to get the job with its download links.</param>
/// <param name="AppliedRegion">What a succeeded job aged: <c>faces</c> or <c>whole-frame</c>; null before.</param>
/// <param name="FaceCount">How many faces a succeeded job aged; null before.</param>
public sealed record BatchJobResponse(
    string JobId, string State, string? OriginalName, string? ErrorCode, string StatusUrl, string? AppliedRegion = null, int? FaceCount = null);

/// <summary>User-facing state names.</summary>
public static class JobStateNames
{
    /// <summary>Uploaded, but OnImageUploaded has not created the job yet.</summary>
    public const string Pending = "pending";

    /// <summary>Every name, in life-cycle order.</summary>
    public static IReadOnlyList<string> All { get; } = [Pending, "queued", "processing", "succeeded", "failed"];

    /// <summary>The user-facing name of a state.</summary>
    public static string For(Contracts.JobState state) => state.ToString().ToLowerInvariant();

    /// <summary>Links to a job's status, carrying the input blob so that a job not created yet reads as pending.</summary>
    public static string StatusUrl(string jobId, string? inputBlob) =>
        inputBlob is null ? $"/api/jobs/{jobId}" : $"/api/jobs/{jobId}?blob={Uri.EscapeDataString(inputBlob)}";
}
