namespace AgingPipeline.Contracts;

/// <summary>One aged output of a job.</summary>
/// <param name="Age">Target age in years.</param>
/// <param name="Blob">Blob name inside the <c>aged</c> container.</param>
public sealed record AgedOutput(int Age, string Blob);

/// <summary>The durable state of one job, stored as <c>jobs/{jobId}.json</c> and updated with ETag conditions.</summary>
public sealed record JobRecord
{
    public int SchemaVersion { get; init; } = 1;
    public required string JobId { get; init; }
    public required JobState State { get; init; }
    public required string InputContainer { get; init; }
    public required string InputBlob { get; init; }
    public string? InputETag { get; init; }
    /// <summary>The name the user gave the file (display only; never used as a path).</summary>
    public string? OriginalName { get; init; }
    public string? BatchId { get; init; }
    /// <summary>The signed-in user the job belongs to: the owner of the API batch its upload was committed into, or null
    /// (an anonymous batch, a blob written straight into storage, the CLI). Another user's job reads as missing.</summary>
    /// <remarks>Taken from the batch record, never from blob metadata: anyone who may write a blob may write any metadata.</remarks>
    public string? Owner { get; init; }
    public IReadOnlyList<int> TargetAges { get; init; } = [];
    public string? ModelName { get; init; }
    public string? ModelVersion { get; init; }
    /// <summary>The region asked for (upload metadata <c>region</c>, or the configured default).</summary>
    /// <remarks>Records written before regions existed have none and read as <see cref="AgingRegion.Auto"/>, which is
    /// what their jobs were given.</remarks>
    public AgingRegion Region { get; init; }
    /// <summary>What a succeeded job aged: the faces (boxes, keypoints, scores) or the whole frame and why; null
    /// until the job succeeds, and on records written before regions existed.</summary>
    public RegionOutcome? RegionOutcome { get; init; }
    public string? Format { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }
    public IReadOnlyList<AgedOutput> Outputs { get; init; } = [];
    public string? ContactSheetBlob { get; init; }
    public PipelineErrorCode ErrorCode { get; init; }
    public string? ErrorMessage { get; init; }
    public int Attempts { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
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
