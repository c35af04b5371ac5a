using System.Runtime.InteropServices;
using AgingPipeline.Contracts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace AgingPipeline.Inference;

/// <summary>One ONNX Runtime session for one validated model version: creation, graph check, warm-up and runs.</summary>
/// <remarks>Shared by all callers: <see cref="InferenceSession"/>.Run is thread-safe. Inputs are wrapped with
/// <see cref="OrtValue.CreateTensorValueFromMemory{T}(OrtMemoryInfo, Memory{T}, long[])"/> (pinned, no copy) and the
/// output is written straight into a managed array. Each run gets its own <see cref="RunOptions"/> whose
/// <c>Terminate</c> flag is raised by the cancellation token. Native failures are wrapped as
/// <see cref="PipelineErrorCode.ModelFailed"/> (at run time) or <see cref="PipelineErrorCode.InvalidModel"/> (at load).
/// </remarks>
internal sealed partial class OnnxModelSession : IDisposable
{
    private const string CudaProvider = "CUDAExecutionProvider";
    private const string TensorRtProvider = "TensorrtExecutionProvider";

    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;

    private OnnxModelSession(ModelManifest manifest, string directory, InferenceSession session, string executionProvider, int maxBatch)
    {
        Manifest = manifest;
        Directory = directory;
        _session = session;
        ExecutionProvider = executionProvider;
        MaxBatch = maxBatch;
        var input = manifest.Input!;
        ImageLength = input.Channels!.Value * input.Height!.Value * input.Width!.Value;
        ConditionCount = manifest.Conditions?.Count ?? 0;
        OutputLength = manifest.Output!.Kind == ModelKinds.AgeYearsOutput ? 1 : ImageLength;
        _inputNames = [input.Name!, .. (manifest.Conditions ?? []).Select(c => c.Name!)];
        _outputNames = [manifest.Output.Name!];
        DisplayName = $"{manifest.Name}/{manifest.Version}";
    }

    public ModelManifest Manifest { get; }

    public string Directory { get; }

    public string DisplayName { get; }

    public string ExecutionProvider { get; }

    public int ImageLength { get; }

    public int ConditionCount { get; }

    public int OutputLength { get; }

    public int MaxBatch { get; }

    /// <summary>Validates the manifest and file, creates the session, checks the graph and warms it up.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidModel"/> listing every problem.</exception>
    public static OnnxModelSession Load(string directory, ModelManifest manifest, string expectedKind, InferenceOptions options, ILogger? logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(options);
        logger ??= NullLogger.Instance;
        var label = $"{manifest.Name ?? "?"}/{manifest.Version ?? "?"}";

        var problems = new List<string>(ModelManifestValidator.Validate(manifest));
        if (problems.Count == 0 && manifest.Kind != expectedKind)
        {
            problems.Add($"kind is '{manifest.Kind}', expected '{expectedKind}' here.");
        }
        if (problems.Count > 0)
        {
            throw Invalid(label, problems);
        }
        var modelPath = Path.Combine(directory, manifest.File!);
        if (ModelManifestValidator.ValidateSha256(manifest, modelPath) is { } hashProblem)
        {
            throw Invalid(label, [hashProblem]);
        }

        var session = CreateSession(modelPath, options, label, logger, out var provider);

        OnnxModelSession? result = null;
        try
        {
            var graphProblems = ModelManifestValidator.ValidateGraph(manifest, Signatures(session.InputMetadata), Signatures(session.OutputMetadata));
            if (graphProblems.Count > 0)
            {
                throw Invalid(label, graphProblems);
            }
            var maxBatch = options.MaxBatch > 0 ? Math.Min(options.MaxBatch, manifest.MaxBatch!.Value) : manifest.MaxBatch!.Value;
            result = new OnnxModelSession(manifest, directory, session, provider, maxBatch);
            if (options.WarmUp)
            {
                result.WarmUp();
            }
            LogLoaded(logger, label, manifest.Kind, manifest.Input!.Width, manifest.Input.Height, maxBatch, provider);
            return result;
        }
        catch
        {
            if (result is not null)
            {
                result.Dispose();
            }
            else
            {
                session.Dispose();
            }
            throw;
        }
    }

    /// <summary>Creates an ONNX Runtime session for <paramref name="modelPath"/> with the configured threads and execution
    /// providers (falling back to the CPU with a warning); shared by every kind of model.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidModel"/> when the runtime cannot load it.</exception>
    internal static InferenceSession CreateSession(string modelPath, InferenceOptions options, string label, ILogger logger, out string provider)
    {
        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            LogId = label,
        };
        if (options.IntraOpThreads > 0)
        {
            sessionOptions.IntraOpNumThreads = options.IntraOpThreads;
        }
        if (options.InterOpThreads > 0)
        {
            sessionOptions.InterOpNumThreads = options.InterOpThreads;
        }
        provider = "CPU";
        if (options.UseTensorRt)
        {
            var cache = options.TensorRtCachePath ?? Path.Combine(Path.GetTempPath(), "aging-tensorrt-cache");
            provider = TryAppendTensorRt(sessionOptions, options, cache, label, logger);
        }
        if (options.UseCuda || options.UseTensorRt)
        {
            var cuda = TryAppendCuda(sessionOptions, options.CudaDeviceId, label, logger);
            provider = provider == "CPU" ? cuda : $"{provider}+{cuda}";
        }

        try
        {
            return new InferenceSession(modelPath, sessionOptions);
        }
        catch (OnnxRuntimeException e)
        {
            throw new PipelineException(PipelineErrorCode.InvalidModel, $"Model {label} is invalid: ONNX Runtime cannot load '{Path.GetFileName(modelPath)}' ({e.Message}).", e);
        }
    }

    /// <summary>Runs a batch; see <see cref="IBatchModel.Run"/>.</summary>
    public float[] Run(ReadOnlyMemory<float> images, ReadOnlyMemory<float> conditions, int batch, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batch, MaxBatch);
        if (images.Length != batch * ImageLength)
        {
            throw new ArgumentException($"Expected {batch} × {ImageLength} image floats, got {images.Length}.", nameof(images));
        }
        if (conditions.Length != batch * ConditionCount)
        {
            throw new ArgumentException($"Expected {batch} × {ConditionCount} condition floats, got {conditions.Length}.", nameof(conditions));
        }
        cancellationToken.ThrowIfCancellationRequested();

        var input = Manifest.Input!;
        var output = new float[batch * OutputLength];
        long[] outputShape = OutputLength == 1 ? [batch, 1] : [batch, input.Channels!.Value, input.Height!.Value, input.Width!.Value];
        var values = new OrtValue?[_inputNames.Length];
        using var runOptions = new RunOptions { LogId = DisplayName };
        using var registration = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions);
        try
        {
            values[0] = OrtValue.CreateTensorValueFromMemory(
                OrtMemoryInfo.DefaultInstance,
                MemoryMarshal.AsMemory(images),
                [batch, input.Channels!.Value, input.Height!.Value, input.Width!.Value]);
            for (var c = 0; c < ConditionCount; c++)
            {
                values[c + 1] = OrtValue.CreateTensorValueFromMemory(
                    OrtMemoryInfo.DefaultInstance,
                    MemoryMarshal.AsMemory(conditions.Slice(c * batch, batch)),
                    [batch, 1]);
            }
            using var outputValue = OrtValue.CreateTensorValueFromMemory(output, outputShape);
            _session.Run(runOptions, _inputNames, values!, _outputNames, [outputValue]);
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
            foreach (var value in values)
            {
                value?.Dispose();
            }
        }
        foreach (var v in output)
        {
            if (!float.IsFinite(v))
            {
                throw new PipelineException(PipelineErrorCode.ModelFailed, $"Model {DisplayName} returned NaN or infinite values.");
            }
        }
        return output;
    }

    public void Dispose() => _session.Dispose();

    private void WarmUp()
    {
        var images = new float[ImageLength];
        var conditions = (Manifest.Conditions ?? []).Select(c => (float)((c.Min!.Value + c.Max!.Value) / 2 * c.Scale!.Value)).ToArray();
        try
        {
            Run(images, conditions, 1, CancellationToken.None);
        }
        catch (PipelineException e)
        {
            throw new PipelineException(PipelineErrorCode.InvalidModel, $"Model {DisplayName} is invalid: the warm-up run failed ({e.Message}).", e);
        }
    }

    private static bool ProviderAvailable(string provider, string what, string fallback, string label, ILogger logger)
    {
        var available = OrtEnv.Instance().GetAvailableProviders();
        if (available.Contains(provider, StringComparer.Ordinal))
        {
            return true;
        }
        LogProviderMissing(logger, what, label, string.Join(", ", available), fallback);
        return false;
    }

    private static string TryAppendTensorRt(SessionOptions sessionOptions, InferenceOptions options, string cachePath, string label, ILogger logger)
    {
        if (!ProviderAvailable(TensorRtProvider, "TensorRT", "trying CUDA", label, logger))
        {
            return "CPU";
        }
        try
        {
            System.IO.Directory.CreateDirectory(cachePath);
            using var trt = new OrtTensorRTProviderOptions();
            trt.UpdateOptions(new Dictionary<string, string>
            {
                ["device_id"] = options.CudaDeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["trt_fp16_enable"] = options.TensorRtFp16 ? "1" : "0",
                ["trt_engine_cache_enable"] = "1",
                ["trt_engine_cache_path"] = cachePath,
            });
            sessionOptions.AppendExecutionProvider_Tensorrt(trt);
            return $"TensorRT:{options.CudaDeviceId}";
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException or IOException or UnauthorizedAccessException)
        {
            LogTensorRtFailed(logger, e, label);
            return "CPU";
        }
    }

    private static string TryAppendCuda(SessionOptions sessionOptions, int deviceId, string label, ILogger logger)
    {
        if (!ProviderAvailable(CudaProvider, "CUDA", "running on the CPU", label, logger))
        {
            return "CPU";
        }
        try
        {
            sessionOptions.AppendExecutionProvider_CUDA(deviceId);
            return $"CUDA:{deviceId}";
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            LogCudaFailed(logger, e, label, deviceId);
            return "CPU";
        }
    }

    internal static List<TensorSignature> Signatures(IReadOnlyDictionary<string, NodeMetadata> metadata) =>
        [.. metadata.Select(kv => new TensorSignature(
            kv.Key,
            kv.Value.IsTensor ? kv.Value.ElementType : null,
            kv.Value.IsTensor ? kv.Value.Dimensions.Select(d => (long)d).ToArray() : []))];

    internal static PipelineException Invalid(string label, IReadOnlyList<string> problems) =>
        new(PipelineErrorCode.InvalidModel, $"Model {label} is invalid: " + string.Join(" ", problems.Select((p, i) => $"({i + 1}) {p}")));

    [LoggerMessage(Level = LogLevel.Warning, Message = "The CUDA execution provider could not be started for {Model} (device {Device}); running on the CPU.")]
    private static partial void LogCudaFailed(ILogger logger, Exception exception, string model, int device);

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded model {Model} ({Kind}, {Width}×{Height}, max batch {MaxBatch}) on {Provider}.")]
    private static partial void LogLoaded(ILogger logger, string model, string? kind, int? width, int? height, int maxBatch, string provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Provider} was requested for {Model} but this ONNX Runtime build has only {Providers}; {Fallback}.")]
    private static partial void LogProviderMissing(ILogger logger, string provider, string model, string providers, string fallback);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The TensorRT execution provider could not be started for {Model}; trying CUDA.")]
    private static partial void LogTensorRtFailed(ILogger logger, Exception exception, string model);
}
