using System.Collections.Concurrent;
using System.Diagnostics;
using AgingPipeline.Contracts;
using AgingPipeline.Storage;
using Azure;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Options;

namespace AgingPipeline.EventPump;

/// <summary>Counts of one pump round.</summary>
/// <param name="Listed">Blobs in <c>uploads</c>.</param>
/// <param name="Delivered">Events delivered with a 2xx answer.</param>
/// <param name="Failed">Deliveries that failed and will be retried.</param>
/// <param name="DeadLettered">Events given up on in this round.</param>
public sealed record PumpRound(int Listed, int Delivered, int Failed, int DeadLettered);

/// <summary>Plays Event Grid and the Functions host for the local stack: finds new blobs in <c>uploads</c> and invokes
/// the function app's <c>OnImageUploaded</c> with the <c>Microsoft.Storage.BlobCreated</c> event, wrapped as the host
/// wraps it for an <c>eventGridTrigger</c>.</summary>
/// <remarks>
/// <para>Azurite raises no storage events, so the pump lists the container every
/// <see cref="EventPumpOptions.PollInterval"/> and compares it with what it delivered before (name + ETag). The event
/// is built from the listing alone (name, ETag, length, content type), as Event Grid builds it from the write: the
/// pump makes no request for the blob itself, and neither does anything between it and the function.</para>
/// <para>Like Event Grid it delivers at least once: an event is marked delivered only after a 2xx answer; failures
/// are retried with exponential back-off and jitter, other blobs' deliveries going on meanwhile; after
/// <see cref="EventPumpOptions.MaxAttempts"/> attempts the event is dead-lettered (logged, remembered). The state is
/// saved after every round, so a crash between delivery and save redelivers, which OnImageUploaded absorbs.</para>
/// </remarks>
public sealed partial class UploadEventPump
{
    private readonly StorageClients _clients;
    private readonly HttpClient _http;
    private readonly EventPumpOptions _options;
    private readonly DeliveryStateStore _store;
    private readonly ILogger<UploadEventPump> _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, RetrySchedule> _retries = new(StringComparer.Ordinal);
    private DeliveryState? _state;

    /// <summary>Creates the pump.</summary>
    /// <param name="clients">Storage clients (the <c>uploads</c> container is read).</param>
    /// <param name="http">Client for the function app.</param>
    /// <param name="options">Pump options.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="time">Clock for back-off.</param>
    public UploadEventPump(StorageClients clients, HttpClient http, IOptions<EventPumpOptions> options, ILogger<UploadEventPump> logger, TimeProvider? time = null)
    {
        _clients = clients ?? throw new ArgumentNullException(nameof(clients));
        _http = http ?? throw new ArgumentNullException(nameof(http));
        _options = options?.Value ?? throw new ArgumentNullException(nameof(options));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _time = time ?? TimeProvider.System;
        _store = new DeliveryStateStore(_options.StateFile, logger);
    }

    /// <summary>The state file in use.</summary>
    public string StateFile => _store.FullPath;

    /// <summary>Lists <c>uploads</c> once and delivers every event that is due.</summary>
    /// <param name="cancellationToken">Stops the round.</param>
    /// <returns>What happened.</returns>
    public async Task<PumpRound> RunOnceAsync(CancellationToken cancellationToken = default)
    {
        _state ??= await _store.LoadAsync(cancellationToken).ConfigureAwait(false);
        var state = _state;
        var listed = new Dictionary<string, BlobItemProperties>(StringComparer.Ordinal);
        try
        {
            await foreach (var item in _clients.Uploads.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix: null, cancellationToken).ConfigureAwait(false))
            {
                if (item.Properties.ETag is not null)
                {
                    listed[item.Name] = item.Properties;
                }
            }
        }
        catch (RequestFailedException ex) when (ex.ErrorCode == "ContainerNotFound")
        {
            // The pump starts with Azurite, beside the services that create the containers: nothing was uploaded yet.
            return new PumpRound(0, 0, 0, 0);
        }

        var changed = Prune(state.Delivered, listed) | Prune(state.DeadLettered, listed);
        foreach (var name in _retries.Keys)
        {
            if (!listed.TryGetValue(name, out var p) || Key(p.ETag!.Value) != _retries[name].ETag)
            {
                _retries.TryRemove(name, out _);
            }
        }

        var now = _time.GetUtcNow();
        var due = listed
            .Where(pair =>
            {
                var etag = Key(pair.Value.ETag!.Value);
                return !(state.Delivered.TryGetValue(pair.Key, out var d) && d == etag)
                    && !(state.DeadLettered.TryGetValue(pair.Key, out var x) && x == etag)
                    && !(_retries.TryGetValue(pair.Key, out var r) && r.ETag == etag && r.NextAttemptAt > now);
            })
            .OrderBy(pair => pair.Value.LastModified)
            .ToArray();

        int delivered = 0, failed = 0, deadLettered = 0;
        var stateLock = new object();
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentDeliveries, CancellationToken = cancellationToken }, async (pair, ct) =>
        {
            var key = Key(pair.Value.ETag!.Value);
            var outcome = await DeliverAsync(pair.Key, pair.Value, ct).ConfigureAwait(false);
            lock (stateLock)
            {
                switch (outcome)
                {
                    case DeliveryOutcome.Delivered:
                        state.Delivered[pair.Key] = key;
                        _retries.TryRemove(pair.Key, out _);
                        delivered++;
                        break;
                    case DeliveryOutcome.Failed:
                        var attempts = _retries.TryGetValue(pair.Key, out var previous) && previous.ETag == key ? previous.Attempts + 1 : 1;
                        if (attempts >= _options.MaxAttempts)
                        {
                            state.DeadLettered[pair.Key] = key;
                            _retries.TryRemove(pair.Key, out _);
                            LogDeadLettered(_logger, pair.Key, key, attempts);
                            deadLettered++;
                        }
                        else
                        {
                            var delay = Backoff(attempts);
                            _retries[pair.Key] = new RetrySchedule(key, attempts, _time.GetUtcNow() + delay);
                            LogRetrying(_logger, pair.Key, attempts, delay);
                            failed++;
                        }
                        break;
                }
            }
        }).ConfigureAwait(false);

        if (changed || delivered > 0 || deadLettered > 0)
        {
            await _store.SaveAsync(state, cancellationToken).ConfigureAwait(false);
        }
        return new PumpRound(listed.Count, delivered, failed, deadLettered);
    }

    private enum DeliveryOutcome
    {
        Delivered,
        Failed,
    }

    private sealed record RetrySchedule(string ETag, int Attempts, DateTimeOffset NextAttemptAt);

    private async Task<DeliveryOutcome> DeliverAsync(string blobName, BlobItemProperties properties, CancellationToken cancellationToken)
    {
        using var activity = PipelineTelemetry.ActivitySource.StartActivity("EventPump.Deliver", ActivityKind.Producer);
        activity?.SetTag("blob.name", blobName);
        var blobUri = _clients.Uploads.GetBlobClient(blobName).Uri;
        var (json, gridEvent) = BlobCreatedEvents.Create(_clients.BlobService.AccountName, blobUri, blobName, properties);
        LogEvent(_logger, gridEvent.EventType, gridEvent.Subject, json);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.DeliveryTimeout);
        try
        {
            using var request = EventGridTriggerPayload.CreateRequest(json, _options.FunctionAppUrl, _options.FunctionName, _options.BindingName, _time.GetUtcNow());
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            if ((int)response.StatusCode is >= 200 and <= 204)
            {
                LogDelivered(_logger, blobName, (int)response.StatusCode, new ResponsePreview(body));
                return DeliveryOutcome.Delivered;
            }
            LogRefused(_logger, (int)response.StatusCode, blobName, new ResponsePreview(body));
            return DeliveryOutcome.Failed;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogDeliveryFailed(_logger, blobName, ex.Message);
            return DeliveryOutcome.Failed;
        }
    }

    private TimeSpan Backoff(int attempts)
    {
        var exponential = _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, attempts - 1);
        var capped = Math.Min(exponential, _options.RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + Random.Shared.NextDouble() * 0.4));
    }

    /// <summary>The ETag without quotes: listings and responses differ in quoting, the state must not.</summary>
    private static string Key(ETag etag) => etag.ToString().Trim('"');

    private static bool Prune(Dictionary<string, string> entries, Dictionary<string, BlobItemProperties> listed)
    {
        var stale = entries.Where(e => !listed.ContainsKey(e.Key)).Select(e => e.Key).ToArray();
        foreach (var name in stale)
        {
            entries.Remove(name);
        }
        return stale.Length > 0;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Dead-lettered the event of {Blob} ({ETag}) after {Attempts} attempts.")]
    private static partial void LogDeadLettered(ILogger logger, string blob, string eTag, int attempts);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivered {Blob}: {Status} {Body}")]
    private static partial void LogDelivered(ILogger logger, string blob, int status, ResponsePreview body);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery of {Blob} failed: {Error}")]
    private static partial void LogDeliveryFailed(ILogger logger, string blob, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Event {EventType} {Subject}: {Event}")]
    private static partial void LogEvent(ILogger logger, string eventType, string? subject, BinaryData @event);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Function app answered {Status} for {Blob}: {Body}")]
    private static partial void LogRefused(ILogger logger, int status, string blob, ResponsePreview body);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery of {Blob} failed (attempt {Attempts}); retrying in {Delay}.")]
    private static partial void LogRetrying(ILogger logger, string blob, int attempts, TimeSpan delay);
}
