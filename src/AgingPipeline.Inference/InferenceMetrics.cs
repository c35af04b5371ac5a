using System.Diagnostics.Metrics;
using AgingPipeline.Contracts;

namespace AgingPipeline.Inference;

/// <summary>The inference instruments, on the pipeline's shared meter (<see cref="PipelineTelemetry.Meter"/>).</summary>
/// <remarks>Batch size and queue wait are the two numbers that tell whether <see cref="InferenceOptions.MaxQueueDelay"/>
/// and <see cref="InferenceOptions.MaxBatch"/> are tuned well: small batches with long waits mean too little traffic
/// to batch; full batches with long waits mean the model is the bottleneck.</remarks>
internal static class InferenceMetrics
{
    private static Meter Meter => PipelineTelemetry.Meter;

    internal static readonly Counter<long> Requests = Meter.CreateCounter<long>("aging.inference.requests", "{request}", "Images run through a model.");

    internal static readonly Counter<long> Batches = Meter.CreateCounter<long>("aging.inference.batches", "{batch}", "Batches run.");

    internal static readonly Counter<long> Failures = Meter.CreateCounter<long>("aging.inference.failed_batches", "{batch}", "Batches that failed.");

    internal static readonly Histogram<int> BatchSize = Meter.CreateHistogram<int>("aging.inference.batch_size", "{request}", "Requests per batch.");

    internal static readonly Histogram<double> BatchDuration = Meter.CreateHistogram<double>("aging.inference.batch_duration", "s", "Time to run one batch.");

    internal static readonly Histogram<double> QueueWait = Meter.CreateHistogram<double>("aging.inference.queue_wait", "s", "Time a request waited before its batch started.");
}
