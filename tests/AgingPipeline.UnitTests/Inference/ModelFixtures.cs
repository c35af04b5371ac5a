using AgingPipeline.Inference;

namespace AgingPipeline.UnitTests.Inference;

/// <summary>The tiny generated models of <c>tests/fixtures/models</c> (see <c>make_test_models.py</c>) and scratch
/// repositories built from them.</summary>
internal static class ModelFixtures
{
    /// <summary>Input side of the fixture models.</summary>
    public const int Size = 32;

    public static string AgerDirectory => Path.Combine(RepoPaths.FixtureModels, "test-ager", "1");

    public static string EstimatorDirectory => Path.Combine(RepoPaths.FixtureModels, "test-estimator", "1");

    public static ModelManifest AgerManifest => ReadManifest(AgerDirectory);

    public static ModelManifest EstimatorManifest => ReadManifest(EstimatorDirectory);

    public static ModelManifest ReadManifest(string directory) => ModelManifest.Parse(File.ReadAllText(Path.Combine(directory, "model.json")));

    public static InferenceOptions Options(string? root = null) => new()
    {
        ModelRoot = root ?? string.Empty,
        DefaultModel = "test-ager",
        IntraOpThreads = 1,
        InterOpThreads = 1,
        MaxQueueDelay = TimeSpan.FromMilliseconds(2),
        RescanInterval = TimeSpan.Zero,
    };

    /// <summary>Copies a fixture version folder to <c>{root}/{name}/{version}</c>, optionally rewriting its manifest.</summary>
    public static string CopyVersion(string sourceDirectory, string root, string name, string version, Func<ModelManifest, ModelManifest>? edit = null)
    {
        var target = Path.Combine(root, name, version);
        Directory.CreateDirectory(target);
        File.Copy(Path.Combine(sourceDirectory, "model.onnx"), Path.Combine(target, "model.onnx"), overwrite: true);
        var manifest = ReadManifest(sourceDirectory) with { Name = name, Version = version };
        if (edit is not null)
        {
            manifest = edit(manifest);
        }
        File.WriteAllText(Path.Combine(target, "model.json"), System.Text.Json.JsonSerializer.Serialize(manifest, ModelManifest.SerializerOptions));
        return target;
    }
}

/// <summary>A scratch folder deleted after the test.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "aging-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
