using Microsoft.Extensions.Options;

namespace AgingPipeline.Runner;

/// <summary>Settings of the job worker, bound from the <c>Runner</c> configuration section.</summary>
/// <remarks>Concurrency is what feeds the dynamic batcher: with one job at a time a 4-age job makes batches of 4 at
/// most; with several jobs in flight their ages share batches. Each job holds its decoded input in memory (up to
/// <c>Imaging:MaxPixels</c> × 4 bytes), which bounds how high <see cref="MaxConcurrentJobs"/> should go.</remarks>
public sealed class RunnerOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Runner";

    /// <summary>Jobs processed at once (default 2).</summary>
    public int MaxConcurrentJobs { get; set; } = 2;

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
