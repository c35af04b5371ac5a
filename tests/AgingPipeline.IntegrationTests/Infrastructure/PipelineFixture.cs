using AgingPipeline.Contracts;
using AgingPipeline.Storage;
using Azure.Storage.Blobs.Models;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgingPipeline.IntegrationTests.Infrastructure;

/// <summary>The function app hosted in-process (TestServer) against a given Azurite.</summary>
/// <remarks>The entry point is named through a public type of the function app's assembly rather than <c>Program</c>:
/// the runner's <c>Program</c> is global too, and this project may reference both.</remarks>
public sealed class FunctionAppFactory(
    string connectionString, IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? configureServices = null)
    : WebApplicationFactory<AgingPipeline.Functions.FunctionAppOptions>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        if (configureServices is not null)
        {
            builder.ConfigureServices(configureServices);
        }
        builder.ConfigureAppConfiguration((_, configuration) =>
        {
            var values = new Dictionary<string, string?>(settings)
            {
                ["Storage:ConnectionString"] = connectionString,
                ["Storage:RetryBaseDelay"] = "00:00:00.050",
                ["Storage:RetryMaxDelay"] = "00:00:00.500",
            };
            configuration.AddInMemoryCollection(values);
        });
    }
}

/// <summary>One Azurite, its containers and queues, and the function app on top; shared by the tests of a class.</summary>
public class PipelineFixture : IAsyncLifetime
{
    /// <summary>Upload limits small enough to test without big files.</summary>
    public const long MaxUploadBytes = 256 * 1024;

    /// <summary>Request limit of the upload API in these tests.</summary>
    public const long MaxRequestBytes = 2 * 1024 * 1024;

    private AzuriteInstance? _azurite;
    private FunctionAppFactory? _app;
    private StorageClients? _clients;

    public AzuriteInstance Azurite => _azurite ?? throw new InvalidOperationException("Not started.");

    public FunctionAppFactory App => _app ?? throw new InvalidOperationException("Not started.");

    public StorageClients Clients => _clients ?? throw new InvalidOperationException("Not started.");

    public JobStore Jobs => new(Clients.Jobs, Polly.ResiliencePipeline.Empty);

    public JobQueue Queue => new(Clients.JobsQueue, Clients.PoisonQueue, Polly.ResiliencePipeline.Empty, Clients.Options);

    public virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Limits:MaxBytes"] = MaxUploadBytes.ToString(),
        ["FunctionApp:MaxRequestBytes"] = MaxRequestBytes.ToString(),
        ["FunctionApp:UploadBlockBytes"] = (64 * 1024).ToString(),
    };

    /// <summary>Changes the app's services after its own registrations (e.g. the token issuer of <c>AuthTests</c>).</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteInstance.StartAsync();
        _clients = _azurite.CreateClients();
        await _clients.EnsureCreatedAsync();
        _app = new FunctionAppFactory(_azurite.ConnectionString, Settings, ConfigureServices);
        _ = _app.Server;
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }

    /// <summary>Writes a blob into uploads as any program would, returning its ETag.</summary>
    public async Task<string> PutUploadAsync(string name, byte[] content, IDictionary<string, string>? metadata = null)
    {
        var blob = Clients.Uploads.GetBlobClient(name);
        var response = await blob.UploadAsync(new BinaryData(content), new BlobUploadOptions { Metadata = metadata });
        return response.Value.ETag.ToString();
    }

    /// <summary>The job messages in the queue that belong to <paramref name="jobId"/>.</summary>
    public async Task<IReadOnlyList<ReceivedJobMessage>> MessagesForAsync(string jobId)
    {
        var all = await Queue.PeekAsync(32);
        return all.Where(m => m.Message?.JobId == jobId).ToArray();
    }

    public static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Writes the record of a batch as the upload API does, for tests that make its jobs by hand; returns its
    /// id and token.</summary>
    public async Task<(string BatchId, string Token)> CreateBatchRecordAsync()
    {
        var token = BatchIds.NewToken();
        var record = new BatchRecord { BatchId = BatchIds.New(), TokenSha256 = BatchIds.HashToken(token), CreatedAt = DateTimeOffset.UtcNow };
        Assert.True(await Jobs.TryCreateBatchAsync(record));
        return (record.BatchId, token);
    }

    /// <summary>Every blob name in <c>uploads</c>, uncommitted ones included (to show that a refused request left nothing).</summary>
    public async Task<IReadOnlyList<string>> ListAllUploadsAsync()
    {
        var names = new List<string>();
        await foreach (var item in Clients.Uploads.GetBlobsAsync(BlobTraits.None, BlobStates.Uncommitted, null, default))
        {
            names.Add(item.Name);
        }
        return names;
    }

    public static string JobIdFor(string blob, string etag) => JobIds.FromBlob(BlobNames.UploadsContainer, blob, etag);
}
