using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace AgingPipeline.Bench;

/// <summary>Bare ONNX Runtime: one session, pre-made tensors, no image work. This is the ceiling the pipeline
/// is measured against.</summary>
internal static class OrtBench
{
    public sealed record Result(int Batch, int Threads, double MeanMs, double P50Ms, double P95Ms, double ImagesPerSecond);

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
        return new Result(batch, threads, mean, times[times.Count / 2], times[(int)(times.Count * 0.95)], batch * 1000.0 / mean);
    }
}
