using System.Globalization;
using AgingPipeline.Contracts;
using Microsoft.Extensions.Logging;

namespace AgingPipeline.Inference;

/// <summary>A loaded <c>age-transform</c> model version: image plus target age in, residual (or aged image) out.</summary>
/// <remarks>One instance per model version, shared by every request (ONNX Runtime sessions are thread-safe); dispose it
/// only after its <see cref="DynamicBatcher"/> has drained. Loading validates the manifest, the file's SHA-256 and the
/// graph, and runs a warm-up batch, so an instance that exists is known to work.</remarks>
public sealed class AgerSession : IBatchModel, IDisposable
{
    private readonly OnnxModelSession _session;

    private AgerSession(OnnxModelSession session)
    {
        _session = session;
        TargetAge = session.Manifest.FindCondition(ModelKinds.TargetAgeRole)!;
        SourceAge = session.Manifest.FindCondition(ModelKinds.SourceAgeRole);
    }

    /// <summary>The validated manifest.</summary>
    public ModelManifest Manifest => _session.Manifest;

    /// <summary>The version folder the model was loaded from.</summary>
    public string Directory => _session.Directory;

    /// <inheritdoc />
    public string DisplayName => _session.DisplayName;

    /// <summary>"CPU" or "CUDA:{device}".</summary>
    public string ExecutionProvider => _session.ExecutionProvider;

    /// <summary>Model input width in pixels.</summary>
    public int Width => Manifest.Input!.Width!.Value;

    /// <summary>Model input height in pixels.</summary>
    public int Height => Manifest.Input!.Height!.Value;

    /// <summary>True when the output is a residual to add; false when it is the aged image itself.</summary>
    public bool OutputIsResidual => Manifest.Output!.Kind == ModelKinds.ResidualOutput;

    /// <summary>The target-age condition (always present).</summary>
    public ModelConditionSpec TargetAge { get; }

    /// <summary>The source-age condition, when the model wants the input's age too.</summary>
    public ModelConditionSpec? SourceAge { get; }

    /// <inheritdoc />
    public int ImageLength => _session.ImageLength;

    /// <inheritdoc />
    public int ConditionCount => _session.ConditionCount;

    /// <inheritdoc />
    public int OutputLength => _session.OutputLength;

    /// <inheritdoc />
    public int MaxBatch => _session.MaxBatch;

    /// <summary>Loads and warms up the model in <paramref name="directory"/> described by <paramref name="manifest"/>.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidModel"/> listing every problem.</exception>
    public static AgerSession Load(string directory, ModelManifest manifest, InferenceOptions options, ILogger? logger = null) =>
        new(OnnxModelSession.Load(directory, manifest, ModelKinds.AgeTransform, options, logger));

    /// <summary>The condition values for one image, in manifest order (<c>years × scale</c>).</summary>
    /// <param name="targetAgeYears">The age to render; must lie in the target-age condition's [min, max].</param>
    /// <param name="sourceAgeYears">The input's age; required when <see cref="SourceAge"/> is set (clamped to its range).</param>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidAges"/> when the target age is outside
    /// the range the model was trained for.</exception>
    public float[] EncodeConditions(double targetAgeYears, double? sourceAgeYears = null)
    {
        if (targetAgeYears < TargetAge.Min!.Value || targetAgeYears > TargetAge.Max!.Value)
        {
            throw new PipelineException(
                PipelineErrorCode.InvalidAges,
                string.Create(CultureInfo.InvariantCulture, $"Model {DisplayName} renders ages {TargetAge.Min}–{TargetAge.Max}; {targetAgeYears} is outside that range."));
        }
        if (SourceAge is not null && sourceAgeYears is null)
        {
            throw new ArgumentException($"Model {DisplayName} needs the source age of the input.", nameof(sourceAgeYears));
        }
        var values = new float[ConditionCount];
        var conditions = Manifest.Conditions!;
        for (var i = 0; i < conditions.Count; i++)
        {
            var c = conditions[i];
            var years = c.Role == ModelKinds.TargetAgeRole
                ? targetAgeYears
                : Math.Clamp(sourceAgeYears!.Value, c.Min!.Value, c.Max!.Value);
            values[i] = (float)(years * c.Scale!.Value);
        }
        return values;
    }

    /// <inheritdoc />
    public float[] Run(ReadOnlyMemory<float> images, ReadOnlyMemory<float> conditions, int batch, CancellationToken cancellationToken = default) =>
        _session.Run(images, conditions, batch, cancellationToken);

    /// <summary>Runs a batch off the calling thread.</summary>
    /// <param name="images">NCHW float32 in [-1, 1], <paramref name="batch"/> × <see cref="ImageLength"/>.</param>
    /// <param name="conditions">Condition-major encoded values, <paramref name="batch"/> × <see cref="ConditionCount"/>.</param>
    /// <param name="batch">Number of images, 1 to <see cref="MaxBatch"/>.</param>
    /// <param name="cancellationToken">Terminates the native run when cancelled.</param>
    /// <returns>batch × <see cref="OutputLength"/> floats (NCHW) in [-1, 1] units.</returns>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.ModelFailed"/>.</exception>
    public Task<float[]> RunAsync(ReadOnlyMemory<float> images, ReadOnlyMemory<float> conditions, int batch, CancellationToken cancellationToken = default) =>
        Task.Run(() => _session.Run(images, conditions, batch, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
