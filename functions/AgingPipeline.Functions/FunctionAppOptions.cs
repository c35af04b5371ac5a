namespace AgingPipeline.Functions;

/// <summary>Settings of the function app itself. Bound from the <c>FunctionApp</c> configuration section.</summary>
public sealed class FunctionAppOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "FunctionApp";

    /// <summary>Most files in one upload request (default 100).</summary>
    public int MaxFilesPerRequest { get; set; } = 100;

    /// <summary>Largest upload request body in bytes (default 100 MiB, the Azure Functions host's own limit).</summary>
    /// <remarks>The host refuses larger bodies before they reach the handler (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT);
    /// the same limit here makes local runs behave like Azure.</remarks>
    public long MaxRequestBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Size of the blocks an upload is staged in (default 4 MiB): the most memory one upload holds.</summary>
    /// <remarks>At least 64 KiB (<see cref="Contracts.InputLimits.PrefixBytes"/>), so that the first block of a file holds
    /// everything the door looks at.</remarks>
    public int UploadBlockBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>How long a queued job record without a sent message is left to its creator before a repeated
    /// event sends the message itself (default 2 minutes).</summary>
    /// <remarks>Covers a crash between "record created" and "message sent": the storage event is delivered again
    /// (at least once), finds the orphaned record and completes it. Shorter than this, the creator may still be
    /// working, and the repeated event is answered 503 so that it is retried later.</remarks>
    public TimeSpan EnqueueRecoveryAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Create the containers and queues at start-up when missing (default false).</summary>
    /// <remarks>For the local stack, where nothing else creates them. In Azure the infrastructure does, and the
    /// app's identity need not hold the right to create containers.</remarks>
    public bool EnsureStorageOnStart { get; set; }

    /// <summary>Checks the options; returns the problems found (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (MaxFilesPerRequest < 1)
        {
            problems.Add($"{nameof(MaxFilesPerRequest)} must be at least 1.");
        }
        if (MaxRequestBytes < 1024)
        {
            problems.Add($"{nameof(MaxRequestBytes)} must be at least 1 KiB.");
        }
        if (UploadBlockBytes is < 64 * 1024 or > 100 * 1024 * 1024)
        {
            problems.Add($"{nameof(UploadBlockBytes)} must be between 64 KiB and 100 MiB.");
        }
        if (EnqueueRecoveryAfter < TimeSpan.FromSeconds(1))
        {
            problems.Add($"{nameof(EnqueueRecoveryAfter)} must be at least one second.");
        }
        return problems;
    }
}
