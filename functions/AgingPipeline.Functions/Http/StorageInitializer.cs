using AgingPipeline.Storage;
using Microsoft.Extensions.Options;

namespace AgingPipeline.Functions.Http;

/// <summary>Creates the containers and queues at start-up when <see cref="FunctionAppOptions.EnsureStorageOnStart"/> is set.</summary>
/// <remarks>Runs before the server accepts requests, so the first upload never meets a missing container. A
/// failure stops the app with the storage error: a local stack without storage is of no use.</remarks>
public sealed partial class StorageInitializer(StorageClients clients, IOptions<FunctionAppOptions> options, ILogger<StorageInitializer> logger) : IHostedService
{
    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.EnsureStorageOnStart)
        {
            return;
        }
        await clients.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        LogReady(logger, clients.BlobService.Uri);
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage containers and queues are ready at {BlobEndpoint}.")]
    private static partial void LogReady(ILogger logger, Uri blobEndpoint);
}
