using AgingPipeline.Storage;
using AzuriteProcess = AgingPipeline.Testing.AzuriteProcess;

namespace AgingPipeline.Cli.Tests.Infrastructure;

/// <summary>A private Azurite (blob + queue, in memory) on free loopback ports, with the pipeline's containers,
/// shared by the tests of a class: the shared <see cref="AzuriteProcess"/>, with its log in a scratch folder.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private readonly TempFolder _logs = new();
    private readonly AzuriteProcess _azurite;

    public AzuriteFixture() => _azurite = new AzuriteProcess(location: null, _logs.Path);

    public string ConnectionString => _azurite.ConnectionString;

    public StorageClients Clients { get; private set; } = null!;

    /// <summary>Azurite's recent output.</summary>
    public string Output => _azurite.Process?.Tail(400) ?? string.Empty;

    public async Task InitializeAsync()
    {
        await _azurite.StartAsync();
        Clients = new StorageClients(new StorageOptions
        {
            ConnectionString = ConnectionString,
            RetryBaseDelay = TimeSpan.FromMilliseconds(50),
            RetryMaxDelay = TimeSpan.FromMilliseconds(500),
        });
        await Clients.EnsureCreatedAsync();
    }

    /// <summary>Kills Azurite (its whole process tree) and deletes its log.</summary>
    public async Task DisposeAsync()
    {
        await _azurite.DisposeAsync();
        _logs.Dispose();
    }
}
