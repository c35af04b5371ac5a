using AgingPipeline.Contracts;

namespace AgingPipeline.Cli.Batch;

/// <summary>The pipeline's names for job states, plus "pending" for an upload that has no job record yet.</summary>
internal static class JobStateNames
{
    /// <summary>Uploaded; OnImageUploaded has not created the job record yet.</summary>
    public const string Pending = "pending";

    /// <summary>The job waits in the queue.</summary>
    public const string Queued = "queued";

    /// <summary>A runner is ageing it.</summary>
    public const string Processing = "processing";

    /// <summary>Its outputs are written.</summary>
    public const string Succeeded = "succeeded";

    /// <summary>It failed with a code and a reason.</summary>
    public const string Failed = "failed";

    /// <summary>Every state, in life-cycle order.</summary>
    public static IReadOnlyList<string> All { get; } = [Pending, Queued, Processing, Succeeded, Failed];

    /// <summary>The name of a record's state.</summary>
    public static string For(JobState state) => state switch
    {
        JobState.Queued => Queued,
        JobState.Processing => Processing,
        JobState.Succeeded => Succeeded,
        JobState.Failed => Failed,
        _ => state.ToString().ToLowerInvariant(),
    };

    /// <summary>True for states that never change again.</summary>
    public static bool IsTerminal(string? state) => state is Succeeded or Failed;
}
