using AgingPipeline.Contracts;
using Microsoft.Extensions.Logging;

namespace AgingPipeline.Inference;

/// <summary>A loaded <c>age-estimator</c> model version: image in, estimated age in years out.</summary>
/// <remarks>Used to measure what an ager did (evaluation, the contact sheet's figures) and to feed models that take a
/// source age. Same life cycle and thread-safety as <see cref="AgerSession"/>.</remarks>
public sealed class AgeEstimator : IBatchModel, IDisposable
{
    private readonly OnnxModelSession _session;

    private AgeEstimator(OnnxModelSession session)
    {
        _session = session;
    }

    /// <summary>The validated manifest.</summary>
    public ModelManifest Manifest => _session.Manifest;

    /// <inheritdoc />
    public string DisplayName => _session.DisplayName;

    /// <summary>"CPU" or "CUDA:{device}".</summary>
    public string ExecutionProvider => _session.ExecutionProvider;

    /// <summary>Model input width in pixels.</summary>
    public int Width => Manifest.Input!.Width!.Value;

    /// <summary>Model input height in pixels.</summary>
    public int Height => Manifest.Input!.Height!.Value;

    /// <inheritdoc />
    public int ImageLength => _session.ImageLength;

    /// <inheritdoc />
    public int ConditionCount => 0;

    /// <inheritdoc />
    public int OutputLength => 1;

    /// <inheritdoc />
    public int MaxBatch => _session.MaxBatch;

    /// <summary>Loads and warms up the estimator in <paramref name="directory"/>.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidModel"/> listing every problem.</exception>
    public static AgeEstimator Load(string directory, ModelManifest manifest, InferenceOptions options, ILogger? logger = null) =>
        new(OnnxModelSession.Load(directory, manifest, ModelKinds.AgeEstimator, options, logger));

    /// <inheritdoc />
    public float[] Run(ReadOnlyMemory<float> images, ReadOnlyMemory<float> conditions, int batch, CancellationToken cancellationToken = default) =>
        _session.Run(images, conditions, batch, cancellationToken);

    /// <summary>Estimates the age of <paramref name="batch"/> images (NCHW float32 in [-1, 1]) off the calling thread.</summary>
    /// <returns>One age in years per image.</returns>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.ModelFailed"/>.</exception>
    public Task<float[]> EstimateAsync(ReadOnlyMemory<float> images, int batch, CancellationToken cancellationToken = default) =>
        Task.Run(() => _session.Run(images, ReadOnlyMemory<float>.Empty, batch, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
