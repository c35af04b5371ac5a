using Microsoft.Extensions.Options;

namespace AgingPipeline.Runner;

/// <summary>Settings of the job worker, bound from the <c>Runner</c> configuration section.</summary>
/// <remarks>Concurrency is what feeds the dynamic batcher: with one job at a time a 4-age job makes batches of 4 at
/// most; with several jobs in flight their ages share batches. Jobs in flight overlap their storage round trips; only
/// <see cref="PixelWorkers"/> of them at a time hold decoded pixels (up to <c>Limits:MaxPixels</c> × 4 bytes for the
/// input and as much again for the output being encoded), which bounds the runner's memory.</remarks>
public sealed class RunnerOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Runner";

    /// <summary>Jobs in flight at once: received, downloading, waiting for or doing pixel work, uploading,
    /// recording (default 4).</summary>
    public int MaxConcurrentJobs { get; set; } = 4;

    /// <summary>Jobs doing CPU-bound pixel work (decode, compose and encode, contact sheet) at once; 0 (default) means
    /// one per processor core, at most <see cref="MaxConcurrentJobs"/>.</summary>
    public int PixelWorkers { get; set; }

    /// <summary><see cref="PixelWorkers"/> with the default resolved.</summary>
    public int EffectivePixelWorkers => Math.Min(MaxConcurrentJobs, PixelWorkers > 0 ? PixelWorkers : Environment.ProcessorCount);

    /// <summary>Wait after an empty receive; doubles up to <see cref="MaxPollInterval"/> while the queue stays empty
    /// (default 500 ms).</summary>
    public TimeSpan MinPollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait between receives of an empty queue (default 5 s).</summary>
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Write a labelled contact sheet (input and every age) next to the outputs (default true).</summary>
    public bool WriteContactSheet { get; set; } = true;

    /// <summary>Create the containers and queues at start when missing (default true: the local stack; in Azure the
    /// infrastructure creates them and this may be switched off).</summary>
    public bool EnsureStorageCreated { get; set; } = true;

    /// <summary>Returns every problem of these options; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MaxConcurrentJobs is < 1 or > 32)
        {
            errors.Add($"{nameof(MaxConcurrentJobs)} must be from 1 to 32 (was {MaxConcurrentJobs}).");
        }
        if (PixelWorkers is < 0 or > 32)
        {
            errors.Add($"{nameof(PixelWorkers)} must be from 0 (one per core) to 32 (was {PixelWorkers}).");
        }
        if (MinPollInterval <= TimeSpan.Zero || MaxPollInterval < MinPollInterval)
        {
            errors.Add($"{nameof(MinPollInterval)} must be positive and at most {nameof(MaxPollInterval)}.");
        }
        return errors;
    }
}

/// <summary>Validates <see cref="RunnerOptions"/> at start-up.</summary>
internal sealed class RunnerOptionsValidator : IValidateOptions<RunnerOptions>
{
    public ValidateOptionsResult Validate(string? name, RunnerOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
