using System.Diagnostics;
using System.Diagnostics.Metrics;
using AgingPipeline.Contracts;

namespace AgingPipeline.Runner;

/// <summary>The stages of a job (download, age, write, record): each is a child span of <c>runner.job</c> and one
/// observation of the <c>aging.runner.stage_duration</c> histogram, tagged with the stage.</summary>
/// <remarks>Per-stage latency is what tells a slow GPU (age) from a slow network (download, write) or a contended job
/// record (record); the job duration alone cannot.</remarks>
internal static class RunnerStages
{
    public const string Download = "download";
    public const string Age = "age";
    public const string Write = "write";
    public const string Record = "record";

    private static readonly Histogram<double> s_duration = PipelineTelemetry.Meter.CreateHistogram<double>(
        "aging.runner.stage_duration", "s", "Time spent in one stage of a job.");

    /// <summary>Starts timing <paramref name="stage"/>; dispose the result when the stage ends.</summary>
    public static Scope Start(string stage) =>
        new(stage, PipelineTelemetry.ActivitySource.StartActivity("runner." + stage, ActivityKind.Internal), Stopwatch.GetTimestamp());

    /// <summary>A running stage.</summary>
    internal readonly struct Scope(string stage, Activity? activity, long started) : IDisposable
    {
        public void Dispose()
        {
            s_duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("stage", stage));
            activity?.Dispose();
        }
    }
}
