namespace AgingPipeline.Contracts;

/// <summary>Life cycle of a job: <c>queued → processing → succeeded | failed</c>. A processing job may go back to
/// processing (a new attempt after a crash); terminal states never change.</summary>
public enum JobState
{
    /// <summary>Waiting in the queue for a runner.</summary>
    Queued,
    /// <summary>A runner is ageing it.</summary>
    Processing,
    /// <summary>The aged images are written.</summary>
    Succeeded,
    /// <summary>It failed for good; the record says why.</summary>
    Failed,
}

/// <summary>The job state machine, in one place.</summary>
public static class JobStateMachine
{
    /// <summary>True when <paramref name="to"/> may follow <paramref name="from"/>.</summary>
    public static bool CanMove(JobState from, JobState to) => (from, to) switch
    {
        (JobState.Queued, JobState.Processing) => true,
        (JobState.Queued, JobState.Failed) => true,
        (JobState.Processing, JobState.Processing) => true, // a retry after a crash or a lost lease
        (JobState.Processing, JobState.Succeeded) => true,
        (JobState.Processing, JobState.Failed) => true,
        _ => false,
    };

    /// <summary>True for states that never change again.</summary>
    public static bool IsTerminal(JobState state) => state is JobState.Succeeded or JobState.Failed;

    /// <summary>Throws when the move is not allowed.</summary>
    public static void EnsureCanMove(JobState from, JobState to)
    {
        if (!CanMove(from, to))
        {
            throw new InvalidOperationException($"A job cannot move from {from} to {to}.");
        }
    }
}
