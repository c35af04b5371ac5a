using System.Diagnostics;
using System.Text.Json;
using AgingPipeline.Testing;
using NetVips;

namespace AgingPipeline.Bench;

/// <summary>(3) PyTorch eager + Pillow: runs <c>bench/torch_baseline.py</c> with Debian's Python on the same 1 MP
/// images and the same weights (the ONNX file's initializers, checked against ONNX Runtime's output first).</summary>
internal static class TorchBench
{
    /// <summary>Debian's Python with <c>python3-torch</c> (never a pyenv or venv Python).</summary>
    public const string Python = "/usr/bin/python3";

    public static async Task<TorchResult> RunAsync(BenchImages images, BenchOptions options, ModelInfo model)
    {
        var parity = Path.Combine(options.ArtifactsDirectory, "parity");
        OrtBench.WriteParity(options.ModelPath, ModelTensor(images.OneMegapixel[0], model.Size), model.Size, options.Ages, model.AgeScale, parity);

        var start = new ProcessStartInfo(Python)
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            Path.Combine(RepoPaths.Root, "bench", "torch_baseline.py"),
            "--model-dir", options.ModelDirectory,
            "--images", images.OneMegapixelDirectory,
            "--ages", string.Join(',', options.Ages),
            "--count", options.TorchImages.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--threads", Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--parity", parity,
        })
        {
            start.ArgumentList.Add(arg);
        }
        Console.Error.WriteLine($"torch: {options.TorchImages} images × {options.Ages.Count} ages with {Python} bench/torch_baseline.py");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{Python} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"torch_baseline.py exited with {process.ExitCode}:\n{await stderr}");
        }
        var last = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
        var result = JsonSerializer.Deserialize<TorchResult>(last, JsonSerializerOptions.Web)
            ?? throw new InvalidOperationException("torch_baseline.py printed no result.");
        if (result.ParityMaxAbsDiff is not { } diff || diff > 1e-3)
        {
            throw new InvalidOperationException($"PyTorch and ONNX Runtime disagree on the same input (max |Δ| {result.ParityMaxAbsDiff}): not the same weights.");
        }
        return result;
    }

    /// <summary>The model input of an image (square images only: no padding), float32 CHW in [-1, 1].</summary>
    private static float[] ModelTensor(string path, int size)
    {
        using var thumbnail = Image.Thumbnail(path, size, height: size, size: Enums.Size.Force);
        var pixels = thumbnail.WriteToMemory<byte>();
        var tensor = new float[3 * size * size];
        for (var c = 0; c < 3; c++)
        {
            for (var i = 0; i < size * size; i++)
            {
                tensor[c * size * size + i] = pixels[i * thumbnail.Bands + c] / 127.5f - 1f;
            }
        }
        return tensor;
    }
}

/// <summary>What the harness needs from a model's manifest.</summary>
internal sealed record ModelInfo(string Name, string Version, int Size, float AgeScale, string Sha256)
{
    public static ModelInfo Read(string directory)
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "model.json")));
        var root = manifest.RootElement;
        var scale = root.TryGetProperty("conditions", out var conditions) && conditions.GetArrayLength() > 0
            ? conditions[0].GetProperty("scale").GetSingle()
            : 1f;
        using var stream = File.OpenRead(Path.Combine(directory, root.TryGetProperty("file", out var file) ? file.GetString()! : "model.onnx"));
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
        return new ModelInfo(root.GetProperty("name").GetString()!, root.GetProperty("version").GetString()!,
            root.GetProperty("input").GetProperty("height").GetInt32(), scale, sha);
    }
}
