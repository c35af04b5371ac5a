using AgingPipeline.Contracts;
using AgingPipeline.Storage;
using Azure.Storage.Blobs;

namespace AgingPipeline.Cli.Batch;

/// <summary>The pipeline's storage as the CLI reaches it.</summary>
/// <param name="Clients">The SDK clients.</param>
/// <param name="Jobs">Job records and batch markers.</param>
/// <param name="Pipeline">The storage resilience pipeline.</param>
/// <param name="Account">The blob endpoint (no secrets), to tell accounts apart in state files and messages.</param>
internal sealed record PipelineStorage(StorageClients Clients, JobStore Jobs, Polly.ResiliencePipeline Pipeline, string Account);

/// <summary>Builds <see cref="StorageOptions"/> from <c>--connection</c> / <c>--account-url</c>.</summary>
/// <remarks>Default: the connection string in <c>AGING_STORAGE_CONNECTION_STRING</c>, else the local Azurite
/// (<c>UseDevelopmentStorage=true</c>), which is what <c>./run.sh</c> starts. <c>--account-url</c> signs in with
/// <c>DefaultAzureCredential</c> (Azure CLI login, managed identity, environment): the identity needs
/// <em>Storage Blob Data Contributor</em> on the account. Retries are shorter than the services' own so that a stack
/// that is not running is reported within seconds.</remarks>
internal static class StorageConnection
{
    /// <summary>Environment variable holding a connection string.</summary>
    public const string ConnectionStringVariable = "AGING_STORAGE_CONNECTION_STRING";

    /// <summary>Connects to the pipeline's storage.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidRequest"/> for conflicting or malformed options.</exception>
    public static PipelineStorage Connect(string? connection, Uri? accountUrl)
    {
        if (!string.IsNullOrWhiteSpace(connection) && accountUrl is not null)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, "Pass either --connection or --account-url, not both.");
        }
        var options = new StorageOptions
        {
            MaxRetryAttempts = 3,
            RetryBaseDelay = TimeSpan.FromMilliseconds(200),
            RetryMaxDelay = TimeSpan.FromSeconds(2),
            NetworkTimeout = TimeSpan.FromSeconds(60),
        };
        if (accountUrl is not null)
        {
            if (!accountUrl.IsAbsoluteUri || accountUrl.Scheme is not ("https" or "http"))
            {
                throw new PipelineException(PipelineErrorCode.InvalidRequest, $"--account-url '{accountUrl}' is not an http(s) URL such as https://myaccount.blob.core.windows.net.");
            }
            options.ConnectionString = null;
            options.BlobServiceUri = accountUrl;
            options.QueueServiceUri = QueueUriFor(accountUrl);
        }
        else
        {
            options.ConnectionString = string.IsNullOrWhiteSpace(connection)
                ? Environment.GetEnvironmentVariable(ConnectionStringVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : StorageOptions.DevelopmentConnectionString
                : connection.Trim();
        }
        StorageClients clients;
        try
        {
            clients = new StorageClients(options);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, $"The storage connection is not usable: {e.Message}", e);
        }
        var pipeline = StorageResilience.Create(options);
        return new PipelineStorage(clients, new JobStore(clients.Jobs, pipeline), pipeline, Describe(clients.BlobService));
    }

    /// <summary>The queue endpoint of the account whose blob endpoint is <paramref name="blobUri"/>.</summary>
    /// <remarks>The CLI never uses the queue, but <see cref="StorageClients"/> wants both endpoints.</remarks>
    private static Uri QueueUriFor(Uri blobUri)
    {
        var builder = new UriBuilder(blobUri);
        if (builder.Host.Contains(".blob.", StringComparison.OrdinalIgnoreCase))
        {
            builder.Host = builder.Host.Replace(".blob.", ".queue.", StringComparison.OrdinalIgnoreCase);
        }
        return builder.Uri;
    }

    private static string Describe(BlobServiceClient service) => service.Uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
}
