using System.Text.Json;
using AgingPipeline.Contracts;
using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Polly;

namespace AgingPipeline.Storage;

/// <summary>One message taken from the job queue or its poison queue.</summary>
/// <param name="MessageId">Queue message id.</param>
/// <param name="PopReceipt">Receipt needed to delete the message or change its visibility; changes on each update.</param>
/// <param name="DequeueCount">How many times the message has been received, this time included.</param>
/// <param name="InsertedOn">When the message was first enqueued.</param>
/// <param name="Body">The decoded message text.</param>
/// <param name="Message">The parsed message, or null when <paramref name="Body"/> is not a usable JobMessage.</param>
/// <param name="Problem">Why <paramref name="Message"/> is null.</param>
public sealed record ReceivedJobMessage(
    string MessageId,
    string PopReceipt,
    long DequeueCount,
    DateTimeOffset? InsertedOn,
    string Body,
    JobMessage? Message,
    string? Problem);

/// <summary>The job queue (<c>aging-jobs</c>) and its poison queue (<c>aging-jobs-poison</c>).</summary>
/// <remarks>
/// <para>Messages are JSON (<see cref="ContractsJsonContext"/>), base64-encoded on the wire like Azure Functions
/// expects. They reference blobs and never carry image bytes: a queue message is limited to 64 KiB.</para>
/// <para>No worker coordination is home-made: a received message is invisible for the visibility timeout, a
/// crashed worker's message reappears, and a message received <see cref="StorageOptions.MaxDequeueCount"/> times
/// goes to the poison queue, where the OnPoisonJob function marks the job failed.</para>
/// </remarks>
public sealed class JobQueue
{
    /// <summary>Largest JSON body accepted for sending: base64 turns 48 KiB into the 64 KiB queue limit.</summary>
    public const int MaxMessageBytes = 48 * 1024;

    private readonly QueueClient _queue;
    private readonly QueueClient _poison;
    private readonly ResiliencePipeline _pipeline;
    private readonly StorageOptions _options;

    /// <summary>Creates the queue wrapper.</summary>
    /// <param name="queue">The job queue (base64 encoding).</param>
    /// <param name="poison">Its poison queue (base64 encoding).</param>
    /// <param name="pipeline">The storage resilience pipeline.</param>
    /// <param name="options">Storage options (visibility timeout, max dequeue count).</param>
    public JobQueue(QueueClient queue, QueueClient poison, ResiliencePipeline pipeline, StorageOptions options)
    {
        _queue = queue ?? throw new ArgumentNullException(nameof(queue));
        _poison = poison ?? throw new ArgumentNullException(nameof(poison));
        _pipeline = pipeline ?? throw new ArgumentNullException(nameof(pipeline));
        _options = options ?? throw new ArgumentNullException(nameof(options));
    }

    /// <summary>Deliveries of one message before it belongs in the poison queue.</summary>
    public int MaxDequeueCount => _options.MaxDequeueCount;

    /// <summary>Sends a job message.</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The queue message id.</returns>
    public async Task<string> EnqueueAsync(JobMessage message, CancellationToken cancellationToken = default)
    {
        var body = Serialize(message);
        var receipt = await _pipeline.ExecuteStorageAsync(
            static async (s, ct) => (await s.queue.SendMessageAsync(s.body, cancellationToken: ct).ConfigureAwait(false)).Value,
            (queue: _queue, body),
            $"enqueue job {message.JobId}",
            cancellationToken).ConfigureAwait(false);
        return receipt.MessageId;
    }

    /// <summary>Receives up to <paramref name="maxMessages"/> job messages and hides them for the visibility timeout.</summary>
    /// <param name="maxMessages">1–32.</param>
    /// <param name="visibilityTimeout">Override of <see cref="StorageOptions.VisibilityTimeout"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<IReadOnlyList<ReceivedJobMessage>> ReceiveAsync(int maxMessages, TimeSpan? visibilityTimeout = null, CancellationToken cancellationToken = default) =>
        ReceiveFromAsync(_queue, maxMessages, visibilityTimeout, cancellationToken);

    /// <summary>Receives up to <paramref name="maxMessages"/> messages from the poison queue.</summary>
    public Task<IReadOnlyList<ReceivedJobMessage>> ReceivePoisonAsync(int maxMessages, TimeSpan? visibilityTimeout = null, CancellationToken cancellationToken = default) =>
        ReceiveFromAsync(_poison, maxMessages, visibilityTimeout, cancellationToken);

    /// <summary>Keeps a message hidden for another <paramref name="visibilityTimeout"/> (a lease renewal).</summary>
    /// <returns>The message with its new pop receipt; use it for the next call.</returns>
    /// <exception cref="PipelineException">InputGone when the message is no longer ours (deleted, or received by
    /// another worker after our lease ran out).</exception>
    public async Task<ReceivedJobMessage> ExtendVisibilityAsync(ReceivedJobMessage message, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var receipt = await _pipeline.ExecuteStorageAsync(
            static async (s, ct) =>
            {
                try
                {
                    return (await s.queue.UpdateMessageAsync(s.message.MessageId, s.message.PopReceipt, visibilityTimeout: s.visibilityTimeout, cancellationToken: ct).ConfigureAwait(false)).Value;
                }
                catch (RequestFailedException ex) when (IsNotOurs(ex))
                {
                    return null;
                }
            },
            (queue: _queue, message, visibilityTimeout),
            $"extend the lease of message {message.MessageId}",
            cancellationToken).ConfigureAwait(false);
        if (receipt is null)
        {
            throw new PipelineException(PipelineErrorCode.InputGone,
                $"Queue message {message.MessageId} is no longer held by this worker (deleted or received by another).");
        }
        return message with { PopReceipt = receipt.PopReceipt };
    }

    /// <summary>Deletes a processed job message.</summary>
    /// <returns>False when it was already gone or is held by another worker now.</returns>
    public Task<bool> DeleteAsync(ReceivedJobMessage message, CancellationToken cancellationToken = default) =>
        DeleteFromAsync(_queue, message, cancellationToken);

    /// <summary>Deletes a handled poison message.</summary>
    public Task<bool> DeletePoisonAsync(ReceivedJobMessage message, CancellationToken cancellationToken = default) =>
        DeleteFromAsync(_poison, message, cancellationToken);

    /// <summary>Moves a message to the poison queue: sends its body there, then deletes the original.</summary>
    /// <remarks>Send first: a crash in between leaves a duplicate, which the poison handler tolerates, rather than
    /// a lost message.</remarks>
    public async Task MoveToPoisonAsync(ReceivedJobMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        await _pipeline.ExecuteStorageAsync(
            static async (s, ct) => (await s.poison.SendMessageAsync(s.body, cancellationToken: ct).ConfigureAwait(false)).Value,
            (poison: _poison, body: message.Body),
            $"move message {message.MessageId} to the poison queue",
            cancellationToken).ConfigureAwait(false);
        await DeleteAsync(message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a job message straight to the poison queue (a runner that knows the job cannot succeed).</summary>
    public async Task SendToPoisonAsync(JobMessage message, CancellationToken cancellationToken = default)
    {
        var body = Serialize(message);
        await _pipeline.ExecuteStorageAsync(
            static async (s, ct) => (await s.poison.SendMessageAsync(s.body, cancellationToken: ct).ConfigureAwait(false)).Value,
            (poison: _poison, body),
            $"send job {message.JobId} to the poison queue",
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads up to 32 job messages without receiving them (operations and tests).</summary>
    public Task<IReadOnlyList<ReceivedJobMessage>> PeekAsync(int maxMessages = 32, CancellationToken cancellationToken = default) =>
        PeekFromAsync(_queue, maxMessages, cancellationToken);

    /// <summary>Reads up to 32 poison messages without receiving them.</summary>
    public Task<IReadOnlyList<ReceivedJobMessage>> PeekPoisonAsync(int maxMessages = 32, CancellationToken cancellationToken = default) =>
        PeekFromAsync(_poison, maxMessages, cancellationToken);

    /// <summary>The approximate number of messages waiting in the job queue (for scaling and health).</summary>
    public async Task<int> GetApproximateLengthAsync(CancellationToken cancellationToken = default)
    {
        var properties = await _pipeline.ExecuteStorageAsync(
            static async (q, ct) => (await q.GetPropertiesAsync(ct).ConfigureAwait(false)).Value,
            _queue,
            "read the job queue length",
            cancellationToken).ConfigureAwait(false);
        return properties.ApproximateMessagesCount;
    }

    /// <summary>Serializes a message, refusing unknown versions and oversize bodies.</summary>
    public static string Serialize(JobMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.SchemaVersion != JobMessage.CurrentSchemaVersion)
        {
            throw new ArgumentException($"This build writes schema version {JobMessage.CurrentSchemaVersion}, not {message.SchemaVersion}.", nameof(message));
        }
        var json = JsonSerializer.Serialize(message, ContractsJsonContext.Default.JobMessage);
        if (System.Text.Encoding.UTF8.GetByteCount(json) > MaxMessageBytes)
        {
            throw new ArgumentException($"Job message {message.JobId} is larger than {MaxMessageBytes} bytes.", nameof(message));
        }
        return json;
    }

    /// <summary>Parses a message body; returns null with a reason when it is not a usable JobMessage.</summary>
    public static JobMessage? TryParse(string body, out string? problem)
    {
        problem = null;
        JobMessage? message;
        try
        {
            message = JsonSerializer.Deserialize(body, ContractsJsonContext.Default.JobMessage);
        }
        catch (JsonException ex)
        {
            problem = $"The message is not a valid job message: {ex.Message}";
            return null;
        }
        if (message is null)
        {
            problem = "The message is empty.";
            return null;
        }
        if (message.SchemaVersion != JobMessage.CurrentSchemaVersion)
        {
            problem = $"Unknown job message schema version {message.SchemaVersion}; this build reads {JobMessage.CurrentSchemaVersion}.";
            return null;
        }
        if (!JobIds.IsWellFormed(message.JobId) || string.IsNullOrEmpty(message.InputContainer) || string.IsNullOrEmpty(message.InputBlob)
            || message.TargetAges is null || message.TargetAges.Count == 0 || string.IsNullOrEmpty(message.ModelName))
        {
            problem = "The job message lacks a well-formed job id, input blob, target ages or model name.";
            return null;
        }
        return message;
    }

    private async Task<IReadOnlyList<ReceivedJobMessage>> ReceiveFromAsync(QueueClient queue, int maxMessages, TimeSpan? visibilityTimeout, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessages, 32);
        var messages = await _pipeline.ExecuteStorageAsync(
            static async (s, ct) => (await s.queue.ReceiveMessagesAsync(s.maxMessages, s.visibility, ct).ConfigureAwait(false)).Value,
            (queue, maxMessages, visibility: visibilityTimeout ?? _options.VisibilityTimeout),
            $"receive messages from {queue.Name}",
            cancellationToken).ConfigureAwait(false);
        return messages.Select(m =>
        {
            var body = m.Body.ToString();
            var parsed = TryParse(body, out var problem);
            return new ReceivedJobMessage(m.MessageId, m.PopReceipt, m.DequeueCount, m.InsertedOn, body, parsed, problem);
        }).ToArray();
    }

    private async Task<IReadOnlyList<ReceivedJobMessage>> PeekFromAsync(QueueClient queue, int maxMessages, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessages, 32);
        var messages = await _pipeline.ExecuteStorageAsync(
            static async (s, ct) => (await s.queue.PeekMessagesAsync(s.maxMessages, ct).ConfigureAwait(false)).Value,
            (queue, maxMessages),
            $"peek messages in {queue.Name}",
            cancellationToken).ConfigureAwait(false);
        return messages.Select(m =>
        {
            var body = m.Body.ToString();
            var parsed = TryParse(body, out var problem);
            return new ReceivedJobMessage(m.MessageId, string.Empty, m.DequeueCount, m.InsertedOn, body, parsed, problem);
        }).ToArray();
    }

    private async Task<bool> DeleteFromAsync(QueueClient queue, ReceivedJobMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return await _pipeline.ExecuteStorageAsync(
            static async (s, ct) =>
            {
                try
                {
                    await s.queue.DeleteMessageAsync(s.message.MessageId, s.message.PopReceipt, ct).ConfigureAwait(false);
                    return true;
                }
                catch (RequestFailedException ex) when (IsNotOurs(ex))
                {
                    return false;
                }
            },
            (queue, message),
            $"delete message {message.MessageId} from {queue.Name}",
            cancellationToken).ConfigureAwait(false);
    }

    private static bool IsNotOurs(RequestFailedException ex) =>
        ex.Status == 404 || (ex.Status == 400 && ex.ErrorCode == QueueErrorCode.PopReceiptMismatch);
}
