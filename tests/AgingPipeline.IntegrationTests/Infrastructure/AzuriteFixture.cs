using AgingPipeline.Storage;

namespace AgingPipeline.IntegrationTests.Infrastructure;

/// <summary>A private Azurite (blob + queue) on free loopback ports with in-memory persistence: the shared
/// <see cref="AzuriteProcess"/>, with its log in a scratch folder that is deleted when it stops.</summary>
/// <remarks>Container and queue names are fixed by <c>BlobNames</c>, so tests cannot be isolated by name prefixes;
/// every test class gets its own Azurite instead (a second or two to start), and tests inside a class use unique
/// blob names and assert on their own job ids.</remarks>
public sealed class AzuriteInstance : IAsyncDisposable
{
    /// <summary>The well-known key of Azurite's development account.</summary>
    public const string AccountKey = AzuriteProcess.AccountKey;

    private readonly AzuriteProcess _azurite;
    private readonly string _logDirectory;

    private AzuriteInstance(AzuriteProcess azurite, string logDirectory)
    {
        _azurite = azurite;
        _logDirectory = logDirectory;
    }

    public int BlobPort => _azurite.BlobPort;

    public int QueuePort => _azurite.QueuePort;

    public string ConnectionString => _azurite.ConnectionString;

    /// <summary>Azurite's recent output.</summary>
    public string Output => _azurite.Process?.Tail(400) ?? string.Empty;

    public static async Task<AzuriteInstance> StartAsync(CancellationToken cancellationToken = default)
    {
        var logDirectory = Path.Combine(Path.GetTempPath(), "aging-integration-azurite", Guid.NewGuid().ToString("N")[..12]);
        var instance = new AzuriteInstance(new AzuriteProcess(location: null, logDirectory), logDirectory);
        try
        {
            await instance._azurite.StartAsync(cancellationToken);
            return instance;
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
    }

    public StorageClients CreateClients(Action<StorageOptions>? configure = null)
    {
        var options = new StorageOptions { ConnectionString = ConnectionString, RetryBaseDelay = TimeSpan.FromMilliseconds(50), RetryMaxDelay = TimeSpan.FromMilliseconds(500) };
        configure?.Invoke(options);
        return new StorageClients(options);
    }

    /// <summary>Kills Azurite (its whole process tree) and deletes its log.</summary>
    public async ValueTask DisposeAsync()
    {
        await _azurite.DisposeAsync();
        try
        {
            Directory.Delete(_logDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
