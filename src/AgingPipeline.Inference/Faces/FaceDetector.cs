using AgingPipeline.Contracts;
using Microsoft.Extensions.Logging;

namespace AgingPipeline.Inference.Faces;

/// <summary>A loaded <c>face-detector</c> version: every network of its manifest, each with its session, batcher and
/// decoder.</summary>
/// <remarks>Loading is all or nothing: if any network fails its hash, graph or warm-up check, the networks already
/// loaded are disposed and the version is not served. Owned by <see cref="ServedModel"/>; disposing drains every
/// batcher before releasing the sessions.</remarks>
public sealed partial class FaceDetector : IAsyncDisposable
{
    private FaceDetector(ModelManifest manifest, IReadOnlyList<FaceDetectorNetwork> networks)
    {
        Manifest = manifest;
        Networks = networks;
        DisplayName = $"{manifest.Name}/{manifest.Version}";
    }

    /// <summary>The validated manifest.</summary>
    public ModelManifest Manifest { get; }

    /// <summary><c>name/version</c>.</summary>
    public string DisplayName { get; }

    /// <summary>The networks, in manifest order.</summary>
    public IReadOnlyList<FaceDetectorNetwork> Networks { get; }

    /// <summary>The grey (0–255) inputs are letterboxed with and transparency is composited on.</summary>
    public int PadValue => Manifest.PadValue!.Value;

    /// <summary>Where overlapping candidates are merged.</summary>
    public float NmsIou => (float)Manifest.Detection!.NmsIou!.Value;

    /// <summary>The model's recommended minimum score.</summary>
    public float MinScore => (float)Manifest.Detection!.MinScore!.Value;

    /// <summary>Where the networks run ("CPU", "CUDA:0", ...; the first network's, as all share the options).</summary>
    public string ExecutionProvider => Networks[0].ExecutionProvider;

    /// <summary>Loads every network of a validated <c>face-detector</c> manifest and gives each its batcher.</summary>
    /// <param name="directory">The version folder.</param>
    /// <param name="manifest">The manifest (validated here again).</param>
    /// <param name="options">Threads, execution provider, batch bound, warm-up.</param>
    /// <param name="batcherFactory">Makes the batcher of one network (the repository's queue settings).</param>
    /// <param name="logger">Load messages.</param>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidModel"/> listing the problems.</exception>
    public static FaceDetector Load(string directory, ModelManifest manifest, InferenceOptions options, Func<IBatchModel, DynamicBatcher> batcherFactory, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(batcherFactory);
        ArgumentNullException.ThrowIfNull(logger);
        var label = $"{manifest.Name ?? "?"}/{manifest.Version ?? "?"}";
        var problems = new List<string>(ModelManifestValidator.Validate(manifest));
        if (problems.Count == 0 && manifest.Kind != ModelKinds.FaceDetector)
        {
            problems.Add($"kind is '{manifest.Kind}', expected '{ModelKinds.FaceDetector}' here.");
        }
        if (problems.Count > 0)
        {
            throw OnnxModelSession.Invalid(label, problems);
        }
        var networks = new List<FaceDetectorNetwork>();
        try
        {
            foreach (var spec in manifest.Networks!)
            {
                networks.Add(FaceDetectorNetwork.Load(directory, manifest, spec, options, logger));
            }
        }
        catch
        {
            networks.ForEach(n => n.Dispose());
            throw;
        }
        foreach (var network in networks)
        {
            network.AttachBatcher(batcherFactory(network));
            LogLoadedNetwork(logger, network.DisplayName, network.Side, network.Decoder.AnchorCount, network.MaxBatch, network.ExecutionProvider);
        }
        return new FaceDetector(manifest, networks);
    }

    /// <summary>Drains every network's batcher, then releases the sessions.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var network in Networks)
        {
            await network.Batcher.DisposeAsync().ConfigureAwait(false);
        }
        foreach (var network in Networks)
        {
            network.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded face detector network {Network} ({Side}², {Anchors} anchors, max batch {MaxBatch}) on {Provider}.")]
    private static partial void LogLoadedNetwork(ILogger logger, string network, int side, int anchors, int maxBatch, string provider);
}
