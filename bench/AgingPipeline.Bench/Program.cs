using System.Runtime.InteropServices;
using AgingPipeline.Bench;
using AgingPipeline.Testing;

// The benchmark harness of issue #7; see BenchOptions.Usage and BENCHMARKS.md.
BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

var model = ModelInfo.Read(options.ModelDirectory);
var machine = $"{Environment.ProcessorCount} cores, {MemoryGiB():0} GiB, {RuntimeInformation.OSDescription.Split('#')[0].Trim()}, .NET {Environment.Version}, no GPU";
var command = "dotnet run -c Release --project bench/AgingPipeline.Bench -- " + (args.Length == 0 ? "all" : string.Join(' ', args));

if (options.Mode == "chart")
{
    // Re-renders the chart and the table of the last run (artifacts/bench/results.json) without measuring again.
    var last = System.Text.Json.JsonSerializer.Deserialize<BenchReport>(
        File.ReadAllText(Path.Combine(options.ArtifactsDirectory, "results.json")), System.Text.Json.JsonSerializerOptions.Web)!;
    Console.WriteLine(Report.Markdown(last));
    Chart.WritePng(last, options.ChartPath, Path.Combine(options.ArtifactsDirectory, "pipeline.svg"));
    Console.WriteLine($"chart: {Path.GetRelativePath(RepoPaths.Root, options.ChartPath)}");
    return 0;
}

if (options.Mode == "ort")
{
    var result = OrtBench.Sweep(options.ModelPath, options.Batches, options.OrtSeconds);
    Console.WriteLine(Report.Markdown(new BenchReport(DateTimeOffset.UtcNow, machine, command, options.Quick, options.ModelPath, model.Sha256, result, null, null, null)));
    Console.WriteLine("| batch | mean ms | p50 ms | p95 ms | images/s |");
    Console.WriteLine("|---:|---:|---:|---:|---:|");
    foreach (var row in result.Rows)
    {
        Console.WriteLine(FormattableString.Invariant($"| {row.Batch} | {row.MeanMs:F1} | {row.P50Ms:F1} | {row.P95Ms:F1} | {row.AgedImagesPerSecond:F1} |"));
    }
    return 0;
}

Console.Error.WriteLine($"images: generating the set under {Path.Combine(options.ArtifactsDirectory, "images")}");
var images = BenchImages.Create(RepoPaths.Root, Path.Combine(options.ArtifactsDirectory, "images"), options.LargeImages);

if (options.Mode == "faces")
{
    Console.WriteLine(await FacesBench.RunAsync(images, options));
    Console.WriteLine($"command: {command}; {machine}");
    return 0;
}

OrtResult? ort = null;
StackResult? stack = null;
TorchResult? torch = null;
RssResult? rss = null;
var all = options.Mode == "all";
if (all)
{
    ort = OrtBench.Sweep(options.ModelPath, options.Batches, options.OrtSeconds);
}
if (all || options.Mode == "torch")
{
    torch = await TorchBench.RunAsync(images, options, model);
}
if (all || options.Mode is "stack" or "rss")
{
    Console.Error.WriteLine($"stack: starting the local stack ({RepoPaths.Configuration} build) under {Path.Combine(options.ArtifactsDirectory, "stacks", "bench")}");
    await using var localStack = await StackBench.StartAsync(options);
    if (all || options.Mode == "stack")
    {
        stack = await StackBench.RunAsync(localStack, images, options);
    }
    if (all || options.Mode == "rss")
    {
        rss = await StackBench.RunRssAsync(localStack, images, options);
    }
}

var report = new BenchReport(DateTimeOffset.UtcNow, machine, command, options.Quick, Path.GetRelativePath(RepoPaths.Root, options.ModelPath), model.Sha256, ort, stack, torch, rss);
Console.WriteLine(Report.Markdown(report));
var json = Report.WriteJson(report, options.ArtifactsDirectory);
Console.WriteLine($"results: {Path.GetRelativePath(RepoPaths.Root, json)}");
if (all && options.Chart)
{
    Chart.WritePng(report, options.ChartPath, Path.Combine(options.ArtifactsDirectory, "pipeline.svg"));
    Console.WriteLine($"chart: {Path.GetRelativePath(RepoPaths.Root, options.ChartPath)}");
}
return 0;

static double MemoryGiB()
{
    foreach (var line in File.ReadLines("/proc/meminfo"))
    {
        if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
        {
            return long.Parse(new string([.. line.Where(char.IsDigit)]), System.Globalization.CultureInfo.InvariantCulture) / 1024.0 / 1024.0;
        }
    }
    return 0;
}
