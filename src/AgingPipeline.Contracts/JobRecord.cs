namespace AgingPipeline.Contracts;

/// <summary>One aged output of a job.</summary>
/// <param name="Age">Target age in years.</param>
/// <param name="Blob">Blob name inside the <c>aged</c> container.</param>
public sealed record AgedOutput(int Age, string Blob);

/// <summary>The durable state of one job, stored as <c>jobs/{jobId}.json</c> and updated with ETag conditions.</summary>
public sealed record JobRecord
{
    /// <summary>Version of the record's JSON shape.</summary>
    public int SchemaVersion { get; init; } = 1;
    /// <summary>The job's unguessable id.</summary>
    public required string JobId { get; init; }
    /// <summary>Where the job is in its life cycle.</summary>
    public required JobState State { get; init; }
    /// <summary>The container the input was uploaded to (<c>uploads</c>).</summary>
    public required string InputContainer { get; init; }
    /// <summary>The input blob's name inside <see cref="InputContainer"/>.</summary>
    public required string InputBlob { get; init; }
    /// <summary>The input blob's ETag when the job was created; a blob overwritten since then is a new upload, not this job's input.</summary>
    public string? InputETag { get; init; }
    /// <summary>The name the user gave the file (display only; never used as a path).</summary>
    public string? OriginalName { get; init; }
    /// <summary>The batch the upload belongs to, or null for a single upload.</summary>
    public string? BatchId { get; init; }
    /// <summary>The signed-in user the job belongs to: the owner of the API batch its upload was committed into, or null
    /// (an anonymous batch, a blob written straight into storage, the CLI). Another user's job reads as missing.</summary>
    /// <remarks>Taken from the batch record, never from blob metadata: anyone who may write a blob may write any metadata.</remarks>
    public string? Owner { get; init; }
    /// <summary>The ages in years to age the input to.</summary>
    public IReadOnlyList<int> TargetAges { get; init; } = [];
    /// <summary>The model asked for, or null for the configured default.</summary>
    public string? ModelName { get; init; }
    /// <summary>The model version asked for, or null for the newest served.</summary>
    public string? ModelVersion { get; init; }
    /// <summary>The region asked for (upload metadata <c>region</c>, or the configured default).</summary>
    /// <remarks>Records written before regions existed have none and read as <see cref="AgingRegion.Auto"/>, which is
    /// what their jobs were given.</remarks>
    public AgingRegion Region { get; init; }
    /// <summary>What a succeeded job aged: the faces (boxes, keypoints, scores) or the whole frame and why; null
    /// until the job succeeds, and on records written before regions existed.</summary>
    public RegionOutcome? RegionOutcome { get; init; }
    /// <summary>The sniffed input format (<see cref="ImageFormat"/>), once known.</summary>
    public string? Format { get; init; }
    /// <summary>The input's width in pixels, once known.</summary>
    public int? Width { get; init; }
    /// <summary>The input's height in pixels, once known.</summary>
    public int? Height { get; init; }
    /// <summary>The aged images, one per target age, once the job succeeded.</summary>
    public IReadOnlyList<AgedOutput> Outputs { get; init; } = [];
    /// <summary>The contact sheet (input and every output side by side) in the <c>aged</c> container, once the job succeeded.</summary>
    public string? ContactSheetBlob { get; init; }
    /// <summary>Why a failed job failed; <see cref="PipelineErrorCode.None"/> otherwise.</summary>
    public PipelineErrorCode ErrorCode { get; init; }
    /// <summary>What went wrong, for people, when the job failed.</summary>
    public string? ErrorMessage { get; init; }
    /// <summary>How many times a runner started the job.</summary>
    public int Attempts { get; init; }
    /// <summary>When the record was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When the record last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>When a runner first started the job.</summary>
    public DateTimeOffset? StartedAt { get; init; }
    /// <summary>When the job reached a terminal state.</summary>
    public DateTimeOffset? CompletedAt { get; init; }
    /// <summary>When the job's queue message was sent; null while a queued job still waits for it.</summary>
    /// <remarks>The record is created before the message is sent (so that a replayed event finds it and sends
    /// nothing). If the creator dies between the two writes, the record stays queued without a message; a later
    /// delivery of the same event sees <c>EnqueuedAt == null</c> on an old enough record and sends the message.</remarks>
    public DateTimeOffset? EnqueuedAt { get; init; }

    /// <summary>Returns a copy moved to <paramref name="state"/>, enforcing the state machine.</summary>
    public JobRecord MoveTo(JobState state, DateTimeOffset now)
    {
        JobStateMachine.EnsureCanMove(State, state);
        return this with
        {
            State = state,
            UpdatedAt = now,
            StartedAt = state == JobState.Processing ? StartedAt ?? now : StartedAt,
            CompletedAt = JobStateMachine.IsTerminal(state) ? now : CompletedAt,
        };
    }

    /// <summary>Returns a failed copy with a code and a human reason.</summary>
    public JobRecord Fail(PipelineErrorCode code, string message, DateTimeOffset now) =>
        MoveTo(JobState.Failed, now) with { ErrorCode = code, ErrorMessage = message };
}
