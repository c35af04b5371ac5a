using System.Runtime.InteropServices;
using AgingPipeline.Contracts;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace AgingPipeline.Inference.Faces;

/// <summary>One network of a served <c>face-detector</c>: its ONNX Runtime session, the batcher its requests go
/// through, and its decoder.</summary>
/// <remarks>As a batch model it takes NHWC images (<c>side × side × 3</c> floats in [-1, 1], no conditions) and returns
/// per image its scores for every anchor followed by its regressors (<see cref="BlazeFaceDecoder.OutputLength"/>
/// floats), so that the one <see cref="DynamicBatcher"/> design serves detectors as it serves agers. The shipped
/// graphs were edited to take a dynamic batch (see the model's NOTICE).</remarks>
public sealed class FaceDetectorNetwork : IBatchModel, IDisposable
{
    private readonly InferenceSession _session;
    private readonly string[] _outputNames;
    private DynamicBatcher? _batcher;

    private FaceDetectorNetwork(ModelNetworkSpec spec, string displayName, InferenceSession session, string executionProvider, int maxBatch, BlazeFaceDecoder decoder)
    {
        Spec = spec;
        DisplayName = displayName;
        _session = session;
        ExecutionProvider = executionProvider;
        MaxBatch = maxBatch;
        Decoder = decoder;
        Side = spec.Input!.Width!.Value;
        ImageLength = Side * Side * 3;
        _outputNames = [.. spec.Layers!.SelectMany(l => new[] { l.Scores!, l.Regressors! })];
    }

    /// <summary>The network's declaration in the manifest.</summary>
    public ModelNetworkSpec Spec { get; }

    /// <summary>The network's name (e.g. <c>full-range</c>).</summary>
    public string Name => Spec.Name!;

    /// <inheritdoc />
    public string DisplayName { get; }

    /// <summary>"CPU" or "CUDA:{device}".</summary>
    public string ExecutionProvider { get; }

    /// <summary>Side of the square input in pixels.</summary>
    public int Side { get; }

    /// <summary>Decodes this network's output.</summary>
    public BlazeFaceDecoder Decoder { get; }

    /// <summary>The batcher requests for this network go through.</summary>
    public DynamicBatcher Batcher => _batcher ?? throw new InvalidOperationException("The network has no batcher yet.");

    /// <inheritdoc />
    public int ImageLength { get; }

    /// <inheritdoc />
    public int ConditionCount => 0;

    /// <inheritdoc />
    public int OutputLength => Decoder.OutputLength;

    /// <inheritdoc />
    public int MaxBatch { get; }

    /// <summary>Verifies the file's SHA-256, creates the session, checks the graph against the declaration and warms it
    /// up.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidModel"/> listing every problem.</exception>
    internal static FaceDetectorNetwork Load(string directory, ModelManifest manifest, ModelNetworkSpec spec, InferenceOptions options, ILogger logger)
    {
        var label = $"{manifest.Name}/{manifest.Version}:{spec.Name}";
        var path = Path.Combine(directory, spec.File!);
        if (ValidateSha256(spec, path) is { } hashProblem)
        {
            throw OnnxModelSession.Invalid(label, [hashProblem]);
        }
        var session = OnnxModelSession.CreateSession(path, options, label, logger, out var provider);
        FaceDetectorNetwork? network = null;
        try
        {
            var problems = ModelManifestValidator.ValidateNetworkGraph(
                spec, OnnxModelSession.Signatures(session.InputMetadata), OnnxModelSession.Signatures(session.OutputMetadata));
            if (problems.Count > 0)
            {
                throw OnnxModelSession.Invalid(label, problems);
            }
            var maxBatch = options.MaxBatch > 0 ? Math.Min(options.MaxBatch, manifest.MaxBatch!.Value) : manifest.MaxBatch!.Value;
            network = new FaceDetectorNetwork(spec, label, session, provider, maxBatch, new BlazeFaceDecoder(spec, manifest.Detection!.ScoreClip!.Value));
            if (options.WarmUp)
            {
                try
                {
                    network.Run(new float[network.ImageLength], ReadOnlyMemory<float>.Empty, 1);
                }
                catch (PipelineException e)
                {
                    throw new PipelineException(PipelineErrorCode.InvalidModel, $"Model {label} is invalid: the warm-up run failed ({e.Message}).", e);
                }
            }
            return network;
        }
        catch
        {
            if (network is not null)
            {
                network.Dispose();
            }
            else
            {
                session.Dispose();
            }
            throw;
        }
    }

    /// <summary>Runs a batch: <paramref name="images"/> is NHWC; returns per image the scores of every anchor (layers
    /// in order) then their regressors.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.ModelFailed"/>.</exception>
    public float[] Run(ReadOnlyMemory<float> images, ReadOnlyMemory<float> conditions, int batch, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batch, MaxBatch);
        if (images.Length != batch * ImageLength)
        {
            throw new ArgumentException($"Expected {batch} × {ImageLength} image floats, got {images.Length}.", nameof(images));
        }
        if (conditions.Length != 0)
        {
            throw new ArgumentException("A face detector takes no conditions.", nameof(conditions));
        }
        cancellationToken.ThrowIfCancellationRequested();

        var layers = Spec.Layers!;
        var buffers = new float[layers.Count * 2][];
        var outputs = new OrtValue[buffers.Length];
        using var runOptions = new RunOptions { LogId = DisplayName };
        using var registration = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions);
        OrtValue? input = null;
        try
        {
            input = OrtValue.CreateTensorValueFromMemory(
                OrtMemoryInfo.DefaultInstance, MemoryMarshal.AsMemory(images), [batch, Side, Side, 3]);
            for (var l = 0; l < layers.Count; l++)
            {
                var anchors = layers[l].AnchorCount;
                buffers[2 * l] = new float[batch * anchors];
                buffers[2 * l + 1] = new float[batch * anchors * BlazeFaceDecoder.RegressorLength];
                outputs[2 * l] = OrtValue.CreateTensorValueFromMemory(buffers[2 * l], [batch, anchors, 1]);
                outputs[2 * l + 1] = OrtValue.CreateTensorValueFromMemory(buffers[2 * l + 1], [batch, anchors, BlazeFaceDecoder.RegressorLength]);
            }
            _session.Run(runOptions, [Spec.Input!.Name!], [input], _outputNames, outputs);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The model run was cancelled.", cancellationToken);
        }
        catch (OnnxRuntimeException e)
        {
            throw new PipelineException(PipelineErrorCode.ModelFailed, $"Model {DisplayName} failed on a batch of {batch}: {e.Message}", e);
        }
        finally
        {
            input?.Dispose();
            foreach (var value in outputs)
            {
                value?.Dispose();
            }
        }

        // Per image: all scores (layer by layer), then all regressors.
        var total = Decoder.AnchorCount;
        var result = new float[batch * OutputLength];
        for (var n = 0; n < batch; n++)
        {
            var image = result.AsSpan(n * OutputLength, OutputLength);
            var before = 0;
            for (var l = 0; l < layers.Count; l++)
            {
                var anchors = layers[l].AnchorCount;
                var length = anchors * BlazeFaceDecoder.RegressorLength;
                buffers[2 * l].AsSpan(n * anchors, anchors).CopyTo(image.Slice(before, anchors));
                buffers[2 * l + 1].AsSpan(n * length, length).CopyTo(image.Slice(total + before * BlazeFaceDecoder.RegressorLength, length));
                before += anchors;
            }
        }
        foreach (var v in result)
        {
            if (!float.IsFinite(v))
            {
                throw new PipelineException(PipelineErrorCode.ModelFailed, $"Model {DisplayName} returned NaN or infinite values.");
            }
        }
        return result;
    }

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();

    internal void AttachBatcher(DynamicBatcher batcher) => _batcher = batcher;

    private static string? ValidateSha256(ModelNetworkSpec spec, string path) =>
        ModelManifestValidator.ValidateSha256(new ModelManifest { Sha256 = spec.Sha256 }, path);
}
