using System.Diagnostics.Metrics;

namespace AgingPipeline.Contracts;

/// <summary>Instruments shared by the function app and the runner, on <see cref="PipelineTelemetry.Meter"/>.</summary>
/// <remarks>A job's states are written by two services (the function app creates it queued or failed, the runner moves
/// it on, the poison handler fails it); one counter with a <c>state</c> and a <c>component</c> tag lets a dashboard
/// show the whole flow, e.g. queued per minute against succeeded per minute.</remarks>
public static class PipelineMetrics
{
    /// <summary>Name of the job state counter.</summary>
    public const string JobStateChangesName = "aging.jobs.state_changes";

    private static readonly Counter<long> s_jobStateChanges = PipelineTelemetry.Meter.CreateCounter<long>(
        JobStateChangesName, "{job}", "Jobs that entered a state, by state and by the component that moved them.");

    /// <summary>Records that a job entered <paramref name="state"/>.</summary>
    /// <param name="state">The state entered.</param>
    /// <param name="component">Who moved it: <c>functions</c>, <c>runner</c> or <c>poison</c>.</param>
    public static void JobEntered(JobState state, string component) =>
        s_jobStateChanges.Add(1,
            new KeyValuePair<string, object?>("state", state.ToString().ToLowerInvariant()),
            new KeyValuePair<string, object?>("component", component));
}
