namespace AgingPipeline.Storage;

/// <summary>How the pipeline reaches its storage account. Bound from the <c>Storage</c> configuration section.</summary>
/// <remarks>
/// <para>Two ways in: a connection string (Azurite locally, or an account key) or the account's service URIs with
/// <c>DefaultAzureCredential</c> (managed identity in Azure, the developer's login elsewhere). The URIs win when
/// both are set, because a key in configuration is the weaker choice.</para>
/// <para>Container and queue names are not options: they are fixed in <see cref="Contracts.BlobNames"/> so that
/// the function bindings (<c>function.json</c>), the runner and the infrastructure can never disagree.</para>
/// </remarks>
public sealed class StorageOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Storage";

    /// <summary>The connection string of Azurite's well-known development account.</summary>
    public const string DevelopmentConnectionString = "UseDevelopmentStorage=true";

    /// <summary>Connection string; ignored when <see cref="BlobServiceUri"/> is set.</summary>
    public string? ConnectionString { get; set; } = DevelopmentConnectionString;

    /// <summary>Blob service endpoint, e.g. <c>https://account.blob.core.windows.net</c>; selects credential auth.</summary>
    public Uri? BlobServiceUri { get; set; }

    /// <summary>Queue service endpoint; required together with <see cref="BlobServiceUri"/>.</summary>
    public Uri? QueueServiceUri { get; set; }

    /// <summary>Client id of a user-assigned managed identity, when one is used.</summary>
    public string? ManagedIdentityClientId { get; set; }

    /// <summary>How long a received job message stays invisible to other runners (default 45 seconds, at least
    /// <see cref="MinVisibilityTimeout"/>, at most <see cref="MaxVisibilityTimeout"/>).</summary>
    /// <remarks>This is how long the jobs of a runner that dies (SIGKILL, out of memory, a lost node) wait before
    /// another runner retries them, so it is short: a killed runner's jobs start again within about a minute. A job
    /// may run far longer: the runner renews the timeout every third of it while it works (UpdateMessage, see the
    /// runner's <c>JobLease</c>), so only a runner that stopped renewing loses its messages. Five minutes here used to
    /// leave a killed runner's jobs in <c>processing</c> for five minutes (issue 15).</remarks>
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>Lower bound of <see cref="VisibilityTimeout"/>: 2 seconds.</summary>
    /// <remarks>Renewal runs every third of the timeout; below this, renewals would be storage round trips in a
    /// tight loop. Tests use a few seconds to make a killed runner's job reappear quickly.</remarks>
    public static readonly TimeSpan MinVisibilityTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Upper bound of <see cref="VisibilityTimeout"/>: 10 minutes.</summary>
    /// <remarks>Renewal makes a long timeout unnecessary for long jobs; a long one only delays crash recovery.</remarks>
    public static readonly TimeSpan MaxVisibilityTimeout = TimeSpan.FromMinutes(10);

    /// <summary>Deliveries of one message before it goes to the poison queue (default 5, as Azure Functions).</summary>
    public int MaxDequeueCount { get; set; } = 5;

    /// <summary>Retries of one storage call on transient errors (default 4, so 5 attempts).</summary>
    public int MaxRetryAttempts { get; set; } = 4;

    /// <summary>First retry delay; later ones grow exponentially with jitter (default 200 ms).</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Upper bound of one retry delay (default 10 s).</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time limit of one network operation of the SDK (default 30 s).</summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Lifetime of read links handed to users (default 15 minutes).</summary>
    /// <remarks>Short: a link in a browser history or a log must stop working soon.</remarks>
    public TimeSpan ReadLinkLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>True when the clients authenticate with a token credential rather than a connection string.</summary>
    public bool UsesCredential => BlobServiceUri is not null;

    /// <summary>Checks the options; returns the problems found (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (BlobServiceUri is not null || QueueServiceUri is not null)
        {
            if (BlobServiceUri is null || QueueServiceUri is null)
            {
                problems.Add($"Set both {SectionName}:{nameof(BlobServiceUri)} and {SectionName}:{nameof(QueueServiceUri)}, or neither.");
            }
            else if (!BlobServiceUri.IsAbsoluteUri || !QueueServiceUri.IsAbsoluteUri)
            {
                problems.Add("The service URIs must be absolute.");
            }
        }
        else if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            problems.Add($"Set {SectionName}:{nameof(ConnectionString)} or the service URIs.");
        }
        if (VisibilityTimeout < MinVisibilityTimeout || VisibilityTimeout > MaxVisibilityTimeout)
        {
            problems.Add($"{nameof(VisibilityTimeout)} must be between {MinVisibilityTimeout.TotalSeconds:0} seconds and {MaxVisibilityTimeout.TotalMinutes:0} minutes; "
                + "the runner renews it while a job runs, so long jobs need no long timeout.");
        }
        if (MaxDequeueCount < 1)
        {
            problems.Add($"{nameof(MaxDequeueCount)} must be at least 1.");
        }
        if (MaxRetryAttempts is < 0 or > 20)
        {
            problems.Add($"{nameof(MaxRetryAttempts)} must be between 0 and 20.");
        }
        if (RetryBaseDelay <= TimeSpan.Zero || RetryMaxDelay < RetryBaseDelay)
        {
            problems.Add($"{nameof(RetryBaseDelay)} must be positive and at most {nameof(RetryMaxDelay)}.");
        }
        if (NetworkTimeout <= TimeSpan.Zero)
        {
            problems.Add($"{nameof(NetworkTimeout)} must be positive.");
        }
        if (ReadLinkLifetime < TimeSpan.FromMinutes(1) || ReadLinkLifetime > TimeSpan.FromDays(1))
        {
            problems.Add($"{nameof(ReadLinkLifetime)} must be between 1 minute and 1 day.");
        }
        return problems;
    }
}
