using System.Diagnostics.Metrics;
using AgingPipeline.Contracts;

namespace AgingPipeline.Runner;

/// <summary>What the runner has done since it started: exported as OpenTelemetry metrics on the pipeline meter and
/// served as a JSON snapshot on <c>/metrics</c>.</summary>
/// <remarks>The snapshot needs no collector, so an operator (or a test) can see at a glance whether jobs flow, fail
/// or are being retried.</remarks>
public sealed class RunnerMetrics
{
    private static readonly Counter<long> s_jobs = PipelineTelemetry.Meter.CreateCounter<long>("aging.runner.jobs", "{job}", "Jobs finished, by outcome.");
    private static readonly Counter<long> s_outputs = PipelineTelemetry.Meter.CreateCounter<long>("aging.runner.outputs", "{image}", "Aged images written.");
    private static readonly Histogram<double> s_duration = PipelineTelemetry.Meter.CreateHistogram<double>("aging.runner.job_duration", "s", "Time from receiving a job to finishing it.");

    private long _succeeded;
    private long _failed;
    private long _retried;
    private long _poisoned;
    private long _outputs;
    private long _inFlight;

    /// <summary>Creates the counters and registers the in-flight gauge.</summary>
    public RunnerMetrics()
    {
        PipelineTelemetry.Meter.CreateObservableGauge("aging.runner.jobs_in_flight", () => Interlocked.Read(ref _inFlight), "{job}", "Jobs being processed.");
    }

    /// <summary>When the runner started.</summary>
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary>Jobs that succeeded since the runner started.</summary>
    public long Succeeded => Interlocked.Read(ref _succeeded);

    /// <summary>Jobs that failed for good since the runner started.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Attempts handed back for another try since the runner started.</summary>
    public long Retried => Interlocked.Read(ref _retried);

    /// <summary>Messages moved to the poison queue since the runner started.</summary>
    public long Poisoned => Interlocked.Read(ref _poisoned);

    /// <summary>Aged images written since the runner started.</summary>
    public long Outputs => Interlocked.Read(ref _outputs);

    /// <summary>Jobs being processed now.</summary>
    public long InFlight => Interlocked.Read(ref _inFlight);

    internal void JobStarted() => Interlocked.Increment(ref _inFlight);

    internal void JobEnded(string outcome, TimeSpan duration)
    {
        Interlocked.Decrement(ref _inFlight);
        switch (outcome)
        {
            case JobOutcomes.Succeeded:
                Interlocked.Increment(ref _succeeded);
                break;
            case JobOutcomes.Failed:
                Interlocked.Increment(ref _failed);
                break;
            case JobOutcomes.Poisoned:
                Interlocked.Increment(ref _poisoned);
                break;
            case JobOutcomes.Retried:
                Interlocked.Increment(ref _retried);
                break;
        }
        var tag = new KeyValuePair<string, object?>("outcome", outcome);
        s_jobs.Add(1, tag);
        s_duration.Record(duration.TotalSeconds, tag);
    }

    internal void OutputWritten()
    {
        Interlocked.Increment(ref _outputs);
        s_outputs.Add(1);
    }
}

/// <summary>How a delivery of a job ended.</summary>
internal static class JobOutcomes
{
    /// <summary>Outputs written, record succeeded, message deleted.</summary>
    public const string Succeeded = "succeeded";

    /// <summary>A permanent failure: record failed with a code, message deleted.</summary>
    public const string Failed = "failed";

    /// <summary>A transient failure: the message is left to reappear.</summary>
    public const string Retried = "retried";

    /// <summary>Too many deliveries or unreadable: moved to the poison queue.</summary>
    public const string Poisoned = "poisoned";

    /// <summary>Nothing to do (already finished by an earlier delivery) or abandoned at shutdown.</summary>
    public const string Skipped = "skipped";
}
