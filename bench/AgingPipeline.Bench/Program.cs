using System.Globalization;
using AgingPipeline.Bench;

// Usage: dotnet run -c Release --project bench/AgingPipeline.Bench -- ort [--model models/character-ager/1/model.onnx] [--seconds 5]
// [--size N] (default: the model's own input size)
// Prints a markdown table: batch, threads, latency mean/p50/p95, images per second.
var argsList = args.ToList();
string Option(string name, string fallback)
{
    var i = argsList.IndexOf(name);
    return i >= 0 && i + 1 < argsList.Count ? argsList[i + 1] : fallback;
}

var mode = argsList.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "ort";
if (mode != "ort")
{
    Console.Error.WriteLine($"unknown mode '{mode}'; known: ort");
    return 2;
}
var model = Option("--model", Path.Combine("models", "character-ager", "1", "model.onnx"));
var seconds = double.Parse(Option("--seconds", "5"), CultureInfo.InvariantCulture);
var size = int.Parse(Option("--size", "0"), CultureInfo.InvariantCulture);
var withAge = !model.Contains("estimator", StringComparison.OrdinalIgnoreCase);
if (!File.Exists(model))
{
    Console.Error.WriteLine($"model not found: {model}");
    return 2;
}

Console.WriteLine($"# bare ONNX Runtime, {Path.GetFullPath(model)}");
Console.WriteLine($"# {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
Console.WriteLine();
Console.WriteLine("| batch | intra-op threads | mean ms | p50 ms | p95 ms | images/s |");
Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
foreach (var batch in new[] { 1, 8 })
{
    var threads = Environment.ProcessorCount;
    var r = OrtBench.Run(model, batch, threads, TimeSpan.FromSeconds(seconds), size, withAge);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {r.Batch} | {r.Threads} | {r.MeanMs:F1} | {r.P50Ms:F1} | {r.P95Ms:F1} | {r.ImagesPerSecond:F1} |"));
}
return 0;
