using AgingPipeline.Contracts;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgingPipeline.Storage;

/// <summary>The Azure SDK clients of the pipeline, created once from <see cref="StorageOptions"/>.</summary>
/// <remarks>
/// <para>SDK clients are thread-safe and meant to be shared; creating one per call wastes connections.</para>
/// <para>Queue clients encode messages as base64, which is what the Azure Functions queue trigger expects by
/// default (<c>messageEncoding: base64</c>): the poison-queue function and any Functions-based consumer read
/// what the runner and the function app write.</para>
/// <para>The SDK retry policy is disabled; <see cref="StorageResilience"/> owns retries.</para>
/// </remarks>
public sealed partial class StorageClients
{
    /// <summary>Creates the clients.</summary>
    /// <param name="options">Validated storage options.</param>
    /// <param name="credential">Credential for URI-based configuration; null creates a <c>DefaultAzureCredential</c>
    /// when one is needed.</param>
    /// <param name="loggerFactory">Logs messages that cannot be decoded.</param>
    public StorageClients(StorageOptions options, TokenCredential? credential = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid storage options: " + string.Join(" ", problems), nameof(options));
        }
        Options = options;
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<StorageClients>();

        var blobOptions = new BlobClientOptions();
        ConfigureRetry(blobOptions.Retry, options);
        QueueClient? poisonQueue = null;
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        ConfigureRetry(queueOptions.Retry, options);
        queueOptions.MessageDecodingFailed += async args =>
        {
            // A producer that does not base64-encode wrote into one of our queues. The message can never be
            // processed here; leaving it would make every receive fail on it forever, so park it in the poison
            // queue (base64 of its raw text) where a person can look at it.
            var message = args.ReceivedMessage;
            if (message is null)
            {
                LogPeekedNotBase64(logger, args.Queue.Name);
                return;
            }
            LogNotBase64(logger, args.Queue.Name, message.MessageId);
            if (poisonQueue is not null && !string.Equals(args.Queue.Name, BlobNames.PoisonQueue, StringComparison.Ordinal))
            {
                await poisonQueue.SendMessageAsync(message.Body, cancellationToken: args.CancellationToken).ConfigureAwait(false);
            }
            await args.Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, args.CancellationToken).ConfigureAwait(false);
        };

        if (options.UsesCredential)
        {
            credential ??= new DefaultAzureCredential(new DefaultAzureCredentialOptions
            {
                ManagedIdentityClientId = options.ManagedIdentityClientId,
            });
            BlobService = new BlobServiceClient(options.BlobServiceUri, credential, blobOptions);
            QueueService = new QueueServiceClient(options.QueueServiceUri, credential, queueOptions);
        }
        else
        {
            BlobService = new BlobServiceClient(options.ConnectionString, blobOptions);
            QueueService = new QueueServiceClient(options.ConnectionString, queueOptions);
        }

        Uploads = BlobService.GetBlobContainerClient(BlobNames.UploadsContainer);
        Aged = BlobService.GetBlobContainerClient(BlobNames.AgedContainer);
        Jobs = BlobService.GetBlobContainerClient(BlobNames.JobsContainer);
        Models = BlobService.GetBlobContainerClient(BlobNames.ModelsContainer);
        JobsQueue = QueueService.GetQueueClient(BlobNames.JobsQueue);
        PoisonQueue = QueueService.GetQueueClient(BlobNames.PoisonQueue);
        poisonQueue = PoisonQueue;
    }

    /// <summary>The options the clients were made from.</summary>
    public StorageOptions Options { get; }

    /// <summary>The blob service.</summary>
    public BlobServiceClient BlobService { get; }

    /// <summary>The queue service (base64 message encoding).</summary>
    public QueueServiceClient QueueService { get; }

    /// <summary>The <c>uploads</c> container: inputs, written by users; the pipeline never writes here.</summary>
    public BlobContainerClient Uploads { get; }

    /// <summary>The <c>aged</c> container: outputs.</summary>
    public BlobContainerClient Aged { get; }

    /// <summary>The <c>jobs</c> container: job records and batch markers.</summary>
    public BlobContainerClient Jobs { get; }

    /// <summary>The <c>models</c> container: the model repository in Azure.</summary>
    public BlobContainerClient Models { get; }

    /// <summary>The job queue.</summary>
    public QueueClient JobsQueue { get; }

    /// <summary>The poison queue of the job queue.</summary>
    public QueueClient PoisonQueue { get; }

    /// <summary>Creates every container and queue the pipeline uses, when missing.</summary>
    /// <param name="cancellationToken">Cancels the calls.</param>
    /// <remarks>Idempotent and cheap; run at start-up locally and by deployment in Azure (where Bicep creates
    /// them too). Containers are private: users only ever get short-lived read links.</remarks>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken = default)
    {
        var pipeline = StorageResilience.Create(Options);
        foreach (var container in new[] { Uploads, Aged, Jobs, Models })
        {
            await pipeline.ExecuteStorageAsync(
                static async (c, ct) => await c.CreateIfNotExistsAsync(PublicAccessType.None, cancellationToken: ct).ConfigureAwait(false),
                container,
                $"create container {container.Name}",
                cancellationToken).ConfigureAwait(false);
        }
        foreach (var queue in new[] { JobsQueue, PoisonQueue })
        {
            await pipeline.ExecuteStorageAsync(
                static async (q, ct) => await q.CreateIfNotExistsAsync(cancellationToken: ct).ConfigureAwait(false),
                queue,
                $"create queue {queue.Name}",
                cancellationToken).ConfigureAwait(false);
        }
    }

    private static void ConfigureRetry(Azure.Core.RetryOptions retry, StorageOptions options)
    {
        retry.MaxRetries = 0;
        retry.NetworkTimeout = options.NetworkTimeout;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Queue {Queue}: message {MessageId} is not base64-encoded; moving it to the poison queue.")]
    private static partial void LogNotBase64(ILogger logger, string queue, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue {Queue} holds a message that is not base64 (seen while peeking).")]
    private static partial void LogPeekedNotBase64(ILogger logger, string queue);
}
