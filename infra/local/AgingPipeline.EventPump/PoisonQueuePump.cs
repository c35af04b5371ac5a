using System.Diagnostics;
using AgingPipeline.Contracts;
using AgingPipeline.Storage;
using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Options;

namespace AgingPipeline.EventPump;

/// <summary>Settings of the local poison-queue trigger. Bound from the <c>PoisonPump</c> configuration section
/// (environment variables <c>PoisonPump__PollInterval</c> etc.). The function app's URL is
/// <see cref="EventPumpOptions.FunctionAppUrl"/>.</summary>
/// <remarks>The defaults are the Functions host's queue-trigger defaults as set in <c>host.json</c>
/// (<c>extensions.queues</c>: <c>batchSize</c> 16, <c>maxDequeueCount</c> 5, <c>visibilityTimeout</c> 30 s).</remarks>
public sealed class PoisonPumpOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "PoisonPump";

    /// <summary>Run the poison-queue trigger (default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Function invoked for each poison message (default <c>OnPoisonJob</c>).</summary>
    public string FunctionName { get; set; } = "OnPoisonJob";

    /// <summary>Binding name of the queue trigger in its <c>function.json</c> (default <c>message</c>).</summary>
    public string BindingName { get; set; } = "message";

    /// <summary>How often the poison queue is polled when it was empty (default 1 s).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Messages received at once (default 16, host.json <c>batchSize</c>; at most 32).</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>Invocations in flight at once (default 4).</summary>
    public int MaxConcurrentDeliveries { get; set; } = 4;

    /// <summary>Failed invocations of one message before it is moved to <c>aging-jobs-poison-poison</c>
    /// (default 5, host.json <c>maxDequeueCount</c>).</summary>
    public int MaxDequeueCount { get; set; } = 5;

    /// <summary>How long a message whose invocation failed stays invisible before it is tried again
    /// (default 30 s, host.json <c>visibilityTimeout</c>).</summary>
    public TimeSpan RetryVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time limit of one invocation (default 60 s). A received message is hidden for twice this long, so
    /// that it never reappears while its invocation still runs.</summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Checks the options; returns the problems found (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(FunctionName) || string.IsNullOrWhiteSpace(BindingName))
        {
            problems.Add($"{nameof(FunctionName)} and {nameof(BindingName)} are required.");
        }
        if (PollInterval < TimeSpan.FromMilliseconds(50))
        {
            problems.Add($"{nameof(PollInterval)} must be at least 50 ms.");
        }
        if (BatchSize is < 1 or > 32)
        {
            problems.Add($"{nameof(BatchSize)} must be from 1 to 32 (the queue service's limit).");
        }
        if (MaxConcurrentDeliveries < 1 || MaxDequeueCount < 1)
        {
            problems.Add($"{nameof(MaxConcurrentDeliveries)} and {nameof(MaxDequeueCount)} must be at least 1.");
        }
        if (RetryVisibilityTimeout < TimeSpan.Zero || RetryVisibilityTimeout > TimeSpan.FromDays(7))
        {
            problems.Add($"{nameof(RetryVisibilityTimeout)} must be between 0 and 7 days.");
        }
        if (DeliveryTimeout <= TimeSpan.Zero || DeliveryTimeout > TimeSpan.FromHours(1))
        {
            problems.Add($"{nameof(DeliveryTimeout)} must be positive and at most one hour.");
        }
        return problems;
    }
}

/// <summary>Counts of one poison-queue round.</summary>
/// <param name="Received">Messages received.</param>
/// <param name="Delivered">Invocations answered 2xx; their messages were deleted.</param>
/// <param name="Failed">Invocations that failed; their messages reappear after the retry visibility timeout.</param>
/// <param name="Poisoned">Messages moved to the poison queue's own poison queue after too many failures.</param>
public sealed record PoisonRound(int Received, int Delivered, int Failed, int Poisoned);

/// <summary>Plays the Functions host's queue trigger of <c>OnPoisonJob</c> for the local stack: receives messages from
/// <c>aging-jobs-poison</c> and POSTs each to <c>/OnPoisonJob</c> with the payload the host would send.</summary>
/// <remarks>
/// <para>Semantics of the host's queue listener: a message is received (hidden), the function is invoked; a 2xx
/// answer completes the invocation and the message is deleted; any other answer, a timeout or a connection error
/// fails it, and the message is released to reappear after <see cref="PoisonPumpOptions.RetryVisibilityTimeout"/>.
/// A message that failed <see cref="PoisonPumpOptions.MaxDequeueCount"/> times is moved to
/// <c>aging-jobs-poison-poison</c> (the host appends <c>-poison</c> to whatever queue it triggers on) and logged
/// as an error.</para>
/// <para>Delivery is therefore at least once: a crash of the pump between the answer and the delete delivers the
/// message again, which OnPoisonJob absorbs (a terminal record is left alone).</para>
/// </remarks>
public sealed partial class PoisonQueuePump
{
    /// <summary>Suffix the Functions host appends to a queue's name for its poison queue.</summary>
    public const string PoisonSuffix = "-poison";

    private readonly QueueClient _queue;
    private readonly QueueClient _poisonOfPoison;
    private readonly HttpClient _http;
    private readonly Uri _functionAppUrl;
    private readonly PoisonPumpOptions _options;
    private readonly ILogger<PoisonQueuePump> _logger;
    private readonly TimeProvider _time;
    private bool _poisonOfPoisonCreated;

    /// <summary>Creates the pump.</summary>
    /// <param name="clients">Storage clients (the poison queue is read; base64 decoding is theirs).</param>
    /// <param name="http">Client for the function app.</param>
    /// <param name="pumpOptions">Where the function app is.</param>
    /// <param name="options">Poison-queue trigger options.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="time">Clock for <c>sys.UtcNow</c>.</param>
    public PoisonQueuePump(StorageClients clients, HttpClient http, IOptions<EventPumpOptions> pumpOptions, IOptions<PoisonPumpOptions> options, ILogger<PoisonQueuePump> logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(clients);
        _http = http ?? throw new ArgumentNullException(nameof(http));
        _functionAppUrl = pumpOptions?.Value.FunctionAppUrl ?? throw new ArgumentNullException(nameof(pumpOptions));
        _options = options?.Value ?? throw new ArgumentNullException(nameof(options));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _time = time ?? TimeProvider.System;
        _queue = clients.PoisonQueue;
        _poisonOfPoison = clients.QueueService.GetQueueClient(BlobNames.PoisonQueue + PoisonSuffix);
    }

    /// <summary>Receives one batch from the poison queue and invokes the function for each message.</summary>
    /// <param name="cancellationToken">Stops the round.</param>
    /// <returns>What happened.</returns>
    /// <exception cref="RequestFailedException">The queue could not be read (storage down, queue missing).</exception>
    public async Task<PoisonRound> RunOnceAsync(CancellationToken cancellationToken = default)
    {
        QueueMessage[] messages;
        try
        {
            messages = (await _queue.ReceiveMessagesAsync(_options.BatchSize, _options.DeliveryTimeout * 2, cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.ErrorCode == "QueueNotFound")
        {
            // The pump starts with Azurite, beside the services that create the queues: nothing was poisoned yet.
            return new PoisonRound(0, 0, 0, 0);
        }
        if (messages.Length == 0)
        {
            return new PoisonRound(0, 0, 0, 0);
        }
        int delivered = 0, failed = 0, poisoned = 0;
        await Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentDeliveries, CancellationToken = cancellationToken }, async (message, ct) =>
        {
            if (await InvokeAsync(message, ct).ConfigureAwait(false))
            {
                await CompleteAsync(message, ct).ConfigureAwait(false);
                Interlocked.Increment(ref delivered);
            }
            else if (message.DequeueCount >= _options.MaxDequeueCount)
            {
                await MoveToPoisonAsync(message, ct).ConfigureAwait(false);
                Interlocked.Increment(ref poisoned);
            }
            else
            {
                await ReleaseAsync(message, ct).ConfigureAwait(false);
                Interlocked.Increment(ref failed);
            }
        }).ConfigureAwait(false);
        return new PoisonRound(messages.Length, delivered, failed, poisoned);
    }

    private async Task<bool> InvokeAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        using var activity = PipelineTelemetry.ActivitySource.StartActivity("EventPump.PoisonTrigger", ActivityKind.Producer);
        activity?.SetTag("messaging.message.id", message.MessageId);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.DeliveryTimeout);
        try
        {
            using var request = QueueTriggerPayload.CreateRequest(message, _functionAppUrl, _options.FunctionName, _options.BindingName, _time.GetUtcNow());
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                LogDelivered(_logger, message.MessageId, message.DequeueCount, (int)response.StatusCode, new ResponsePreview(body));
                return true;
            }
            LogRefused(_logger, (int)response.StatusCode, message.MessageId, message.DequeueCount, new ResponsePreview(body));
            return false;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogDeliveryFailed(_logger, message.MessageId, ex.Message);
            return false;
        }
    }

    private async Task CompleteAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 400)
        {
            // Gone already, or its lease ran out and it was received again: the next delivery is absorbed by the
            // handler's idempotency, as with the real host.
            LogNotDeleted(_logger, message.MessageId, ex.Message);
        }
    }

    private async Task ReleaseAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, message.Body, _options.RetryVisibilityTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 400)
        {
            LogNotReleased(_logger, message.MessageId, ex.Message);
        }
    }

    private async Task MoveToPoisonAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        if (!_poisonOfPoisonCreated)
        {
            await _poisonOfPoison.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            _poisonOfPoisonCreated = true;
        }
        await _poisonOfPoison.SendMessageAsync(message.Body, cancellationToken: cancellationToken).ConfigureAwait(false);
        await CompleteAsync(message, cancellationToken).ConfigureAwait(false);
        LogMovedToPoisonOfPoison(_logger, message.MessageId, message.DequeueCount, _options.FunctionName, _poisonOfPoison.Name);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivered poison message {MessageId} (dequeue count {DequeueCount}): {Status} {Body}")]
    private static partial void LogDelivered(ILogger logger, string messageId, long dequeueCount, int status, ResponsePreview body);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery of poison message {MessageId} failed: {Error}")]
    private static partial void LogDeliveryFailed(ILogger logger, string messageId, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Poison message {MessageId} failed {DequeueCount} invocations of {Function}; moved it to {Queue}.")]
    private static partial void LogMovedToPoisonOfPoison(ILogger logger, string messageId, long dequeueCount, string function, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Poison message {MessageId} could not be deleted after its invocation: {Error}")]
    private static partial void LogNotDeleted(ILogger logger, string messageId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Poison message {MessageId} could not be released: {Error}")]
    private static partial void LogNotReleased(ILogger logger, string messageId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Function app answered {Status} for poison message {MessageId} (dequeue count {DequeueCount}): {Body}")]
    private static partial void LogRefused(ILogger logger, int status, string messageId, long dequeueCount, ResponsePreview body);

}

/// <summary>Runs <see cref="PoisonQueuePump"/> rounds until the host stops.</summary>
/// <remarks>A full batch is followed by the next one at once; an empty queue is polled every
/// <see cref="PoisonPumpOptions.PollInterval"/>. A failed round (storage down) is logged and retried, so the pump
/// rides out an Azurite or function-app restart.</remarks>
public sealed partial class PoisonPumpWorker(PoisonQueuePump pump, IOptions<EventPumpOptions> pumpOptions, IOptions<PoisonPumpOptions> options, ILogger<PoisonPumpWorker> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            LogDisabled(logger, PoisonPumpOptions.SectionName);
            return;
        }
        LogStarted(logger, BlobNames.PoisonQueue, pumpOptions.Value.FunctionAppUrl, settings.FunctionName, settings.PollInterval, settings.RetryVisibilityTimeout, settings.MaxDequeueCount);
        while (!stoppingToken.IsCancellationRequested)
        {
            var full = false;
            try
            {
                var round = await pump.RunOnceAsync(stoppingToken).ConfigureAwait(false);
                if (round.Received > 0)
                {
                    LogRound(logger, round.Received, round.Delivered, round.Failed, round.Poisoned);
                }
                full = round.Received >= settings.BatchSize;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or IOException)
            {
                LogRoundFailed(logger, ex.Message);
            }
            if (!full)
            {
                try
                {
                    await Task.Delay(settings.PollInterval, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Poison-queue trigger disabled ({Section}:Enabled=false).")]
    private static partial void LogDisabled(ILogger logger, string section);

    [LoggerMessage(Level = LogLevel.Information, Message = "Poison-queue trigger: {Queue} → {Url}{Function}, every {Interval}, retry after {Retry}, {Max} attempts.")]
    private static partial void LogStarted(ILogger logger, string queue, Uri url, string function, TimeSpan interval, TimeSpan retry, int max);

    [LoggerMessage(Level = LogLevel.Information, Message = "Poison round: {Received} received, {Delivered} delivered, {Failed} to retry, {Poisoned} moved to the poison queue's poison queue.")]
    private static partial void LogRound(ILogger logger, int received, int delivered, int failed, int poisoned);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Poison round failed, retrying next round: {Error}")]
    private static partial void LogRoundFailed(ILogger logger, string error);
}
