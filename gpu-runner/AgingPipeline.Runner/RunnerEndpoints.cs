using System.Text.Json;
using System.Text.Json.Serialization;
using AgingPipeline.Inference;

namespace AgingPipeline.Runner;

/// <summary>The runner's small HTTP surface besides <c>/health</c> and <c>/alive</c>.</summary>
internal static class RunnerEndpoints
{
    /// <summary>Maps <c>GET /metrics</c> (job and batching counters as JSON) and <c>GET /models</c> (every repository
    /// entry, served or not, with the reasons).</summary>
    public static IEndpointRouteBuilder MapRunnerEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/metrics", static (RunnerMetrics metrics, ModelRepository models) => TypedResults.Ok(new MetricsSnapshot(
            metrics.StartedAt,
            metrics.InFlight,
            metrics.Succeeded,
            metrics.Failed,
            metrics.Retried,
            metrics.Poisoned,
            metrics.Outputs,
            [.. models.Models.Select(m => new ModelMetrics(m.Name, m.Version, m.ExecutionProvider, m.Batcher.MaxBatch, m.Batcher.BatchesRun, m.Batcher.RequestsRun, m.Batcher.LargestBatch, m.Batcher.RunSeconds))],
            RunnerStages.Totals())));
        endpoints.MapGet("/models", static (ModelRepository models) => TypedResults.Ok(new ModelsSnapshot(
            models.Root,
            models.DefaultModelName,
            models.LastScan,
            models.Entries)));
        return endpoints;
    }
}

/// <summary>The body of <c>/metrics</c>.</summary>
internal sealed record MetricsSnapshot(
    DateTimeOffset StartedAt,
    long JobsInFlight,
    long JobsSucceeded,
    long JobsFailed,
    long JobsRetried,
    long JobsPoisoned,
    long OutputsWritten,
    IReadOnlyList<ModelMetrics> Models,
    IReadOnlyList<StageMetrics> Stages);

/// <summary>Batching figures of one served model; <paramref name="RunSeconds"/> is the time its session spent running
/// batches.</summary>
internal sealed record ModelMetrics(string Name, string Version, string ExecutionProvider, int MaxBatch, long Batches, long Requests, int LargestBatch, double RunSeconds);

/// <summary>The body of <c>/models</c>.</summary>
internal sealed record ModelsSnapshot(string Root, string DefaultModel, DateTimeOffset? LastScan, IReadOnlyList<ModelEntry> Entries);

/// <summary>Source-generated JSON for the runner's endpoints.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(MetricsSnapshot))]
[JsonSerializable(typeof(ModelsSnapshot))]
internal sealed partial class RunnerJsonContext : JsonSerializerContext
{
}
