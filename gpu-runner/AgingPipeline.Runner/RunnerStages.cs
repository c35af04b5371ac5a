using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using AgingPipeline.Contracts;

namespace AgingPipeline.Runner;

/// <summary>The stages of a job (start, download, pixel-wait, age, contact-sheet, write, record): each is a child span
/// of <c>runner.job</c> and one observation of the <c>aging.runner.stage_duration</c> histogram, tagged with the stage.
/// The age stage is further split into <see cref="Decode"/>, <see cref="Infer"/> and <see cref="Compose"/>;
/// <see cref="PixelWait"/> is the time a downloaded job waited for a pixel worker (<see cref="PixelWorkGate"/>).</summary>
/// <remarks>Per-stage latency is what tells a slow GPU (age) from a slow network (download, write) or a contended job
/// record (record); the job duration alone cannot. The running totals (<see cref="Totals"/>) are served on
/// <c>/metrics</c> so that a benchmark can say where the time of a job went without an OpenTelemetry collector.
/// They are job-seconds: with several jobs in flight they add up to more than the wall time.</remarks>
internal static class RunnerStages
{
    public const string Begin = "start";
    public const string Download = "download";
    public const string PixelWait = "pixel-wait";
    public const string Age = "age";
    public const string Decode = "age.decode";
    public const string Infer = "age.infer";
    public const string Compose = "age.compose-encode";
    public const string Write = "write";
    public const string ContactSheet = "contact-sheet";
    public const string Record = "record";

    private static readonly Histogram<double> s_duration = PipelineTelemetry.Meter.CreateHistogram<double>(
        "aging.runner.stage_duration", "s", "Time spent in one stage of a job.");

    private static readonly ConcurrentDictionary<string, StageTotal> s_totals = new(StringComparer.Ordinal);

    /// <summary>Starts timing <paramref name="stage"/>; dispose the result when the stage ends.</summary>
    public static Scope Start(string stage) =>
        new(stage, PipelineTelemetry.ActivitySource.StartActivity("runner." + stage, ActivityKind.Internal), Stopwatch.GetTimestamp());

    /// <summary>Records a stage timed elsewhere (the steps inside <c>ImageAger</c>).</summary>
    public static void Add(string stage, TimeSpan elapsed)
    {
        s_duration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("stage", stage));
        s_totals.GetOrAdd(stage, static _ => new StageTotal()).Add(elapsed);
    }

    /// <summary>Every stage seen so far with its count and total seconds, in a stable order.</summary>
    public static IReadOnlyList<StageMetrics> Totals() =>
        [.. s_totals.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new StageMetrics(p.Key, p.Value.Count, p.Value.Seconds))];

    /// <summary>A running stage.</summary>
    internal readonly struct Scope(string stage, Activity? activity, long started) : IDisposable
    {
        public void Dispose()
        {
            Add(stage, Stopwatch.GetElapsedTime(started));
            activity?.Dispose();
        }
    }

    private sealed class StageTotal
    {
        private long _count;
        private long _ticks;

        public long Count => Interlocked.Read(ref _count);

        public double Seconds => TimeSpan.FromTicks(Interlocked.Read(ref _ticks)).TotalSeconds;

        public void Add(TimeSpan elapsed)
        {
            Interlocked.Increment(ref _count);
            Interlocked.Add(ref _ticks, elapsed.Ticks);
        }
    }
}

/// <summary>Count and total time of one stage since the runner started.</summary>
/// <param name="Stage">The stage name (<c>download</c>, <c>age.infer</c>, …).</param>
/// <param name="Count">Times the stage ran.</param>
/// <param name="TotalSeconds">Job-seconds spent in it.</param>
internal sealed record StageMetrics(string Stage, long Count, double TotalSeconds);
