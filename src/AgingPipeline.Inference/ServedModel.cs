using AgingPipeline.Inference.Faces;

namespace AgingPipeline.Inference;

/// <summary>A model version that passed every check and is being served, with its batcher.</summary>
/// <remarks>Exactly one of <see cref="Ager"/>, <see cref="Estimator"/> and <see cref="Detector"/> is set, per the manifest's kind. Instances
/// are owned by <see cref="ModelRepository"/>: when a version disappears or changes on disk it is taken out of
/// service, its queued requests are run, and only then is its session disposed.</remarks>
public sealed class ServedModel : IAsyncDisposable
{
    internal ServedModel(ModelManifest manifest, string directory, AgerSession? ager, AgeEstimator? estimator, DynamicBatcher batcher, string fingerprint, FaceDetector? detector = null)
    {
        Detector = detector;
        Manifest = manifest;
        Directory = directory;
        Ager = ager;
        Estimator = estimator;
        Batcher = batcher;
        Fingerprint = fingerprint;
        LoadedAt = DateTimeOffset.UtcNow;
    }

    /// <summary>The validated manifest.</summary>
    public ModelManifest Manifest { get; }

    /// <summary>The model name.</summary>
    public string Name => Manifest.Name!;

    /// <summary>The version, as written in the manifest.</summary>
    public string Version => Manifest.Version!;

    /// <summary><c>name/version</c>, as logs and messages show a model.</summary>
    public override string ToString() => $"{Name}/{Version}";

    /// <summary>The version as a number (for ordering).</summary>
    public int VersionNumber => Manifest.VersionNumber;

    /// <summary>The manifest's kind.</summary>
    public string Kind => Manifest.Kind!;

    /// <summary>The version folder.</summary>
    public string Directory { get; }

    /// <summary>The session of an <c>age-transform</c> model.</summary>
    public AgerSession? Ager { get; }

    /// <summary>The session of an <c>age-estimator</c> model.</summary>
    public AgeEstimator? Estimator { get; }

    /// <summary>The networks of a <c>face-detector</c> model, each with its own batcher.</summary>
    public FaceDetector? Detector { get; }

    /// <summary>The batcher that every request for this version goes through (for a face detector, its first
    /// network's; each network's is on <see cref="Detector"/>).</summary>
    public DynamicBatcher Batcher { get; }

    /// <summary>The model (ager, estimator or first detector network) behind the batcher.</summary>
    public IBatchModel Model => (IBatchModel?)Ager ?? (IBatchModel?)Estimator ?? Detector!.Networks[0];

    /// <summary>"CPU" or "CUDA:{device}".</summary>
    public string ExecutionProvider => Ager?.ExecutionProvider ?? Estimator?.ExecutionProvider ?? Detector!.ExecutionProvider;

    /// <summary>When this version was loaded.</summary>
    public DateTimeOffset LoadedAt { get; }

    internal string Fingerprint { get; }

    /// <summary>Drains the batcher, then releases the session.</summary>
    public async ValueTask DisposeAsync()
    {
        await Batcher.DisposeAsync().ConfigureAwait(false);
        Ager?.Dispose();
        Estimator?.Dispose();
        if (Detector is not null)
        {
            await Detector.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>One folder of the repository as last scanned: served, or skipped with the reasons.</summary>
/// <param name="Name">The <c>{name}</c> folder.</param>
/// <param name="Version">The <c>{version}</c> folder.</param>
/// <param name="Directory">The full path.</param>
/// <param name="Kind">The manifest's kind, when it could be read.</param>
/// <param name="IsServed">True when the version is served.</param>
/// <param name="ExecutionProvider">Where it runs, when served.</param>
/// <param name="Problems">Why it is not served (empty when served).</param>
public sealed record ModelEntry(string Name, string Version, string Directory, string? Kind, bool IsServed, string? ExecutionProvider, IReadOnlyList<string> Problems);
