using Microsoft.Extensions.Options;

namespace AgingPipeline.Inference;

/// <summary>Model serving settings, bound from the <c>Inference</c> configuration section.</summary>
/// <remarks>Thread counts matter on small machines: ONNX Runtime defaults to one intra-op thread per core, and
/// libvips does the same, so on a 2-core box both fight; set <see cref="IntraOpThreads"/> deliberately.
/// <see cref="MaxQueueDelay"/> trades latency for batch size (Triton's <c>max_queue_delay_microseconds</c>).</remarks>
public sealed class InferenceOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Inference";

    /// <summary>Root of the model repository (<c>{name}/{version}/model.json</c>). Empty: the <c>models</c> folder next
    /// to the application (the build copies the repository's <c>models/</c> there). Relative paths are resolved against
    /// the application's base directory.</summary>
    public string ModelRoot { get; set; } = string.Empty;

    /// <summary>The model served when a job names none (default <c>character-ager</c>).</summary>
    public string DefaultModel { get; set; } = "character-ager";

    /// <summary>How often the repository is scanned for new, changed or removed versions (default 30 s; zero
    /// disables rescans).</summary>
    public TimeSpan RescanInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>ONNX Runtime threads inside one operator; 0 keeps the runtime default (one per physical core).</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>ONNX Runtime threads across independent operators; 0 keeps the runtime default.</summary>
    public int InterOpThreads { get; set; }

    /// <summary>Use the CUDA execution provider when the runtime has it; otherwise fall back to the CPU with a warning.</summary>
    public bool UseCuda { get; set; }

    /// <summary>Put the TensorRT execution provider in front of CUDA when the runtime has it (default false): TensorRT
    /// builds an engine for the model on the first load of each version (minutes; cached under
    /// <see cref="TensorRtCachePath"/>), then runs it faster than CUDA; nodes it cannot take fall through to CUDA, then
    /// the CPU. Without TensorRT in the runtime it falls back like <see cref="UseCuda"/>.</summary>
    public bool UseTensorRt { get; set; }

    /// <summary>Let TensorRT run in FP16 (default true when <see cref="UseTensorRt"/> is on). The ager predicts a
    /// residual in [-2, 2]; FP16's 3 decimal digits are finer than one 8-bit output level.</summary>
    public bool TensorRtFp16 { get; set; } = true;

    /// <summary>Where TensorRT keeps built engines (default: <c>aging-tensorrt-cache</c> in the temporary folder, i.e.
    /// per container). Point it at a persistent volume so that a new replica does not rebuild them.</summary>
    public string? TensorRtCachePath { get; set; }

    /// <summary>CUDA device ordinal (default 0).</summary>
    public int CudaDeviceId { get; set; }

    /// <summary>Upper bound on the batch size; 0 uses each manifest's <c>maxBatch</c>. The smaller of the two wins.</summary>
    public int MaxBatch { get; set; }

    /// <summary>How long the batcher waits for more requests after the first one of a batch (default 5 ms).</summary>
    public TimeSpan MaxQueueDelay { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Requests waiting per model before callers are held back (default 256).</summary>
    public int QueueCapacity { get; set; } = 256;

    /// <summary>Run one batch of zeros at load so that the first real request does not pay for lazy initialisation
    /// (default true).</summary>
    public bool WarmUp { get; set; } = true;

    /// <summary>The absolute model root after applying the defaults.</summary>
    public string ResolveModelRoot() =>
        string.IsNullOrWhiteSpace(ModelRoot)
            ? Path.Combine(AppContext.BaseDirectory, "models")
            : Path.GetFullPath(ModelRoot, AppContext.BaseDirectory);

    /// <summary>Returns every problem of these options; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(DefaultModel) || !ModelManifestValidator.IsValidName(DefaultModel))
        {
            errors.Add($"{nameof(DefaultModel)} '{DefaultModel}' is not a valid model name.");
        }
        if (RescanInterval < TimeSpan.Zero)
        {
            errors.Add($"{nameof(RescanInterval)} must not be negative.");
        }
        if (IntraOpThreads < 0 || InterOpThreads < 0)
        {
            errors.Add("Thread counts must not be negative.");
        }
        if (CudaDeviceId < 0)
        {
            errors.Add($"{nameof(CudaDeviceId)} must not be negative.");
        }
        if (MaxBatch is < 0 or > ModelManifestValidator.MaximumBatch)
        {
            errors.Add($"{nameof(MaxBatch)} must be from 0 to {ModelManifestValidator.MaximumBatch}.");
        }
        if (MaxQueueDelay < TimeSpan.Zero || MaxQueueDelay > TimeSpan.FromSeconds(1))
        {
            errors.Add($"{nameof(MaxQueueDelay)} must be from 0 to 1 second.");
        }
        if (QueueCapacity < 1)
        {
            errors.Add($"{nameof(QueueCapacity)} must be at least 1.");
        }
        return errors;
    }
}

/// <summary>Validates <see cref="InferenceOptions"/> when the host starts.</summary>
public sealed class InferenceOptionsValidator : IValidateOptions<InferenceOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, InferenceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
