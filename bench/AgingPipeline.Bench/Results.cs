namespace AgingPipeline.Bench;

/// <summary>(1) Bare ONNX Runtime: one row per batch size.</summary>
internal sealed record OrtRow(int Batch, double MeanMs, double P50Ms, double P95Ms, double AgedImagesPerSecond);

/// <summary>(1) The sweep and its best row.</summary>
internal sealed record OrtResult(string Model, int Size, int Threads, IReadOnlyList<OrtRow> Rows)
{
    public OrtRow Best => Rows.MaxBy(r => r.AgedImagesPerSecond)!;
}

/// <summary>Where the job-seconds of a run went, from the runner's <c>/metrics</c> (per job, averaged).</summary>
/// <param name="PerJobSeconds">Stage → mean seconds per job.</param>
/// <param name="ModelRunSeconds">Seconds the ONNX session ran batches, per job.</param>
/// <param name="Batches">Batches run.</param>
/// <param name="Requests">Requests (image × age) run.</param>
internal sealed record StageBreakdown(IReadOnlyDictionary<string, double> PerJobSeconds, double ModelRunSeconds, long Batches, long Requests)
{
    public double MeanBatch => Batches == 0 ? 0 : (double)Requests / Batches;
}

/// <summary>(2) The runner on the local stack.</summary>
/// <param name="Configuration">Build configuration of the stack's programs.</param>
/// <param name="Concurrency">Runner:MaxConcurrentJobs.</param>
/// <param name="Ages">Target ages of every image.</param>
/// <param name="LatencyRuns">Sequential single uploads measured.</param>
/// <param name="LatencyP50">Blob written → record succeeded with all outputs (record's completion time), p50, s.</param>
/// <param name="LatencyP95">Same, p95.</param>
/// <param name="IngestP50">Blob written → job record created by OnImageUploaded (event pump + function), p50, s.</param>
/// <param name="QueueP50">Record created → runner started the job (enqueue + queue poll), p50, s.</param>
/// <param name="RunnerP50">Runner started → record succeeded, p50, s.</param>
/// <param name="LatencyStages">Runner stage times per job over the latency runs.</param>
/// <param name="BurstImages">Images uploaded at once for the throughput figure.</param>
/// <param name="BurstSeconds">First upload started → last record succeeded, s.</param>
/// <param name="AgedImagesPerSecond">BurstImages × ages ÷ BurstSeconds.</param>
/// <param name="BurstStages">Runner stage times per job over the burst (job-seconds: jobs overlap).</param>
/// <param name="NoSheetAgedImagesPerSecond">The same burst with <c>Runner:WriteContactSheet=false</c>: the runner doing
/// the same work as the Python baseline (aged images only); null when not measured.</param>
/// <param name="NoSheetStages">Its stage times.</param>
internal sealed record StackResult(
    string Configuration,
    int Concurrency,
    IReadOnlyList<int> Ages,
    int LatencyRuns,
    double LatencyP50,
    double LatencyP95,
    double IngestP50,
    double QueueP50,
    double RunnerP50,
    StageBreakdown LatencyStages,
    int BurstImages,
    double BurstSeconds,
    double AgedImagesPerSecond,
    StageBreakdown BurstStages,
    double? NoSheetAgedImagesPerSecond = null,
    StageBreakdown? NoSheetStages = null);

/// <summary>(3) PyTorch eager + Pillow, as printed by <c>bench/torch_baseline.py</c>.</summary>
internal sealed record TorchResult(
    string Torch,
    int Threads,
    int Images,
    int AgedImages,
    double Seconds,
    double AgedImagesPerSecond,
    double ImageP50Seconds,
    double ImageP95Seconds,
    double? ParityMaxAbsDiff);

/// <summary>(4) The runner's memory over many images, some of them 12 MP.</summary>
/// <param name="Images">Jobs run.</param>
/// <param name="LargeImages">Of which 4000 × 3000.</param>
/// <param name="Concurrency">Runner:MaxConcurrentJobs.</param>
/// <param name="Seconds">First upload → last job succeeded.</param>
/// <param name="PeakRssMiB">VmHWM of the runner process at the end (a fresh process: start-up and warm-up included).</param>
/// <param name="StartRssMiB">VmRSS once healthy, before the first job.</param>
/// <param name="LargeRunnerP50">Runner time (started → succeeded) of the 12 MP jobs, p50, s.</param>
internal sealed record RssResult(int Images, int LargeImages, int Concurrency, double Seconds, double PeakRssMiB, double StartRssMiB, double LargeRunnerP50);

/// <summary>Everything one run measured.</summary>
internal sealed record BenchReport(
    DateTimeOffset Date,
    string Machine,
    string Command,
    bool Quick,
    string ModelPath,
    string ModelSha256,
    OrtResult? Ort,
    StackResult? Stack,
    TorchResult? Torch,
    RssResult? Rss);
