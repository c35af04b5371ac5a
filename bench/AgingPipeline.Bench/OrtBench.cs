using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace AgingPipeline.Bench;

/// <summary>Bare ONNX Runtime: one session, pre-made tensors, no image work. This is the ceiling the pipeline
/// is measured against.</summary>
internal static class OrtBench
{
    public sealed record Result(int Batch, int Threads, double MeanMs, double P50Ms, double P95Ms, double ImagesPerSecond, int Size = 0);

    /// <summary>Runs every batch size of <paramref name="batches"/> for <paramref name="seconds"/> each.</summary>
    public static OrtResult Sweep(string modelPath, IReadOnlyList<int> batches, double seconds)
    {
        var withAge = !modelPath.Contains("estimator", StringComparison.OrdinalIgnoreCase);
        var threads = Environment.ProcessorCount;
        var rows = new List<OrtRow>();
        var size = 0;
        foreach (var batch in batches)
        {
            var r = Run(modelPath, batch, threads, TimeSpan.FromSeconds(seconds), 0, withAge);
            size = r.Size;
            rows.Add(new OrtRow(r.Batch, r.MeanMs, r.P50Ms, r.P95Ms, r.ImagesPerSecond));
            Console.Error.WriteLine(FormattableString.Invariant($"ort: batch {batch}: {r.ImagesPerSecond:F1} images/s"));
        }
        return new OrtResult(modelPath, size, threads, rows);
    }

    /// <summary>Writes ONNX Runtime's output for a batch of <paramref name="ages"/> on one image tensor into
    /// <paramref name="folder"/> (<c>input.f32</c>, <c>ages.f32</c>, <c>expected.f32</c>, little-endian float32), for the
    /// Python baseline's parity check of the weights it loaded.</summary>
    public static void WriteParity(string modelPath, float[] image, int size, IReadOnlyList<int> ages, float ageScale, string folder)
    {
        using var session = new InferenceSession(modelPath);
        var n = ages.Count;
        var batch = new float[n * image.Length];
        for (var i = 0; i < n; i++)
        {
            image.CopyTo(batch, i * image.Length);
        }
        var scaled = ages.Select(a => a * ageScale).ToArray();
        using var imageValue = OrtValue.CreateTensorValueFromMemory(batch, [n, 3, size, size]);
        using var ageValue = OrtValue.CreateTensorValueFromMemory(scaled, [n, 1]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["image", "target_age"], [imageValue, ageValue], [session.OutputMetadata.Keys.First()]);
        var expected = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "input.f32"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(batch.AsSpan()).ToArray());
        File.WriteAllBytes(Path.Combine(folder, "ages.f32"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(scaled.AsSpan()).ToArray());
        File.WriteAllBytes(Path.Combine(folder, "expected.f32"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(expected.AsSpan()).ToArray());
    }

    public static Result Run(string modelPath, int batch, int threads, TimeSpan duration, int size, bool withAge)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        using var session = new InferenceSession(modelPath, options);
        if (size <= 0)
        {
            size = session.InputMetadata["image"].Dimensions[2];
        }
        var image = new float[batch * 3 * size * size];
        var random = new Random(1);
        for (var i = 0; i < image.Length; i++)
        {
            image[i] = (float)(random.NextDouble() * 2 - 1);
        }
        var ages = Enumerable.Range(0, batch).Select(i => 0.1f + 0.7f * i / Math.Max(1, batch - 1)).ToArray();
        using var imageValue = OrtValue.CreateTensorValueFromMemory(image, [batch, 3, size, size]);
        using var ageValue = OrtValue.CreateTensorValueFromMemory(ages, [batch, 1]);
        var inputNames = withAge ? new[] { "image", "target_age" } : ["image"];
        var inputs = withAge ? new[] { imageValue, ageValue } : [imageValue];
        var outputName = session.OutputMetadata.Keys.First();
        using var runOptions = new RunOptions();

        for (var i = 0; i < 3; i++)
        {
            using var warm = session.Run(runOptions, inputNames, inputs, [outputName]);
        }
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed < duration || times.Count < 5)
        {
            var sw = Stopwatch.StartNew();
            using var outputs = session.Run(runOptions, inputNames, inputs, [outputName]);
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        var mean = times.Average();
        return new Result(batch, threads, mean, Stats.Percentile(times, 50), Stats.Percentile(times, 95), batch * 1000.0 / mean, size);
    }
}
