using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AgingPipeline.Contracts;

/// <summary>The one <see cref="ActivitySource"/> and <see cref="Meter"/> of the pipeline.</summary>
/// <remarks>Every component (function app, runner, CLI, libraries) starts its spans and records its metrics
/// here, so that a single <c>AddSource("AgingPipeline")</c> in ServiceDefaults exports all of them and a job's
/// spans join one trace from upload to aged output (the trace context travels in <see cref="JobMessage.TraceParent"/>).
/// It lives in Contracts because Imaging and Inference must not depend on the hosting stack.</remarks>
public static class PipelineTelemetry
{
    /// <summary>Name of the activity source and the meter.</summary>
    public const string Name = "AgingPipeline";

    /// <summary>The shared activity source.</summary>
    public static ActivitySource ActivitySource { get; } = new(Name);

    /// <summary>The shared meter.</summary>
    public static Meter Meter { get; } = new(Name);

    /// <summary>Starts a consumer-side activity whose parent is the W3C <paramref name="traceParent"/> carried by a
    /// message, or a root activity when it is missing or malformed.</summary>
    /// <param name="name">Activity name.</param>
    /// <param name="traceParent">A <c>traceparent</c> value, e.g. from <see cref="JobMessage.TraceParent"/>.</param>
    /// <param name="kind">Activity kind; consumers of queue messages use <see cref="ActivityKind.Consumer"/>.</param>
    /// <returns>The started activity, or null when nobody listens.</returns>
    public static Activity? StartLinkedActivity(string name, string? traceParent, ActivityKind kind = ActivityKind.Consumer)
    {
        if (traceParent is not null && ActivityContext.TryParse(traceParent, null, out var parent))
        {
            return ActivitySource.StartActivity(name, kind, parent);
        }
        return ActivitySource.StartActivity(name, kind);
    }

    /// <summary>The W3C <c>traceparent</c> of the current activity, or null when there is none.</summary>
    public static string? CurrentTraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity ? activity.Id : null;
}
