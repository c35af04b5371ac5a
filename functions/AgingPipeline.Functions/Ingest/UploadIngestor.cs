using System.Diagnostics;
using System.Globalization;
using AgingPipeline.Contracts;
using AgingPipeline.Functions.CustomHandler;
using AgingPipeline.ImageFormats;
using AgingPipeline.Storage;
using Azure;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;

namespace AgingPipeline.Functions.Ingest;

/// <summary>How an upload event was handled.</summary>
public enum IngestStatus
{
    /// <summary>A new job was created and its message sent.</summary>
    Queued,
    /// <summary>The upload was refused; a failed job record says why. No message was sent.</summary>
    Refused,
    /// <summary>The job already existed (a repeated event): nothing was written.</summary>
    Duplicate,
    /// <summary>A job whose creator died before sending its message was completed by this delivery.</summary>
    Recovered,
    /// <summary>The blob no longer exists; there is nothing to do.</summary>
    BlobGone,
    /// <summary>Not an event for OnImageUploaded (another event type, or a blob outside <c>uploads</c>): acknowledged,
    /// nothing read or written.</summary>
    Ignored,
}

/// <summary>The result of <see cref="UploadIngestor.IngestAsync"/>.</summary>
/// <param name="Status">What happened.</param>
/// <param name="JobId">The job id, when the blob still existed at the event's version.</param>
/// <param name="ErrorCode">Why the upload was refused, for <see cref="IngestStatus.Refused"/>.</param>
/// <param name="Message">A line for the invocation log.</param>
public sealed record IngestOutcome(IngestStatus Status, string? JobId, PipelineErrorCode ErrorCode, string Message);

/// <summary>Thrown when the same upload is being ingested by another delivery right now; the event must be retried later.</summary>
/// <remarks>Answered with 503: the Functions host (and the local event pump) deliver the event again later, by
/// which time the other delivery has finished (and this one acknowledges a duplicate) or has died (and this one
/// completes the job).</remarks>
public sealed class IngestInProgressException(string jobId)
    : Exception($"Job {jobId} is being created by another delivery of the same event; retry later.")
{
    /// <summary>The job id.</summary>
    public string JobId { get; } = jobId;
}

/// <summary>The work of OnImageUploaded: turns a new blob in <c>uploads</c> into exactly one job.</summary>
/// <remarks>
/// <para>The function receives the BlobCreated event, never the blob: the only read of the upload is one ranged
/// request for its first <see cref="InputLimits.PrefixBytes"/>, which also returns the ETag, the length and the
/// metadata (the options). It is deliberately not conditional on the event's ETag: setting a blob's metadata changes
/// its ETag and raises no BlobCreated, so a program that writes a blob and then sets its options would have no event
/// for the final version; reading the current version makes that upload's job, and a late event for an overwritten
/// blob only repeats the job of the version that replaced it.</para>
/// <para>Order of writes, and why: (1) read the blob's first bytes and its ETag from storage — the job id is
/// derived from the ETag seen here, and the bytes sniffed are the bytes of that version; (2) create the job record
/// create-only (<c>If-None-Match: *</c>) — a repeated event (Event Grid delivers at least once) finds it, reads it and
/// stops, so there is never a second job or message; (3) add the batch marker; (4) send the queue message; (5) stamp
/// <see cref="JobRecord.EnqueuedAt"/> with one <c>If-Match</c> write at the ETag the create returned (a re-read only
/// when someone, e.g. the runner, wrote in between). A crash between 2 and 5 leaves a queued record without
/// <c>EnqueuedAt</c>, which the next delivery of the event completes after
/// <see cref="FunctionAppOptions.EnqueueRecoveryAfter"/>.</para>
/// <para>Refused uploads (wrong format, broken header, too large, bad options) get a failed record with a code and a
/// reason, and no message. Nothing is ever written into <c>uploads</c>: a write there would trigger this function
/// again.</para>
/// </remarks>
public sealed partial class UploadIngestor
{
    private readonly StorageClients _clients;
    private readonly JobStore _jobs;
    private readonly JobQueue _queue;
    private readonly ResiliencePipeline _pipeline;
    private readonly UploadRules _rules;
    private readonly InputLimits _limits;
    private readonly FunctionAppOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<UploadIngestor> _logger;

    /// <summary>Creates the ingestor.</summary>
    public UploadIngestor(
        StorageClients clients,
        JobStore jobs,
        JobQueue queue,
        ResiliencePipelineProvider<string> pipelines,
        IOptions<UploadRules> rules,
        IOptions<InputLimits> limits,
        IOptions<FunctionAppOptions> options,
        TimeProvider time,
        ILogger<UploadIngestor> logger)
    {
        ArgumentNullException.ThrowIfNull(pipelines);
        _clients = clients ?? throw new ArgumentNullException(nameof(clients));
        _jobs = jobs ?? throw new ArgumentNullException(nameof(jobs));
        _queue = queue ?? throw new ArgumentNullException(nameof(queue));
        _pipeline = pipelines.GetPipeline(StorageResilience.PipelineName);
        _rules = rules?.Value ?? throw new ArgumentNullException(nameof(rules));
        _limits = limits?.Value ?? throw new ArgumentNullException(nameof(limits));
        _options = options?.Value ?? throw new ArgumentNullException(nameof(options));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>Handles one delivery of a storage event.</summary>
    /// <param name="gridEvent">The event, as Event Grid sent it.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>What happened.</returns>
    /// <exception cref="PipelineException">StorageUnavailable (retry the event later) or InvalidRequest (a BlobCreated
    /// event that names no blob).</exception>
    /// <exception cref="IngestInProgressException">Another delivery is creating the same job right now.</exception>
    /// <remarks>Events that are not for this function (another event type, another container; a subscription
    /// filter changed by hand) are acknowledged with a log line rather than refused: a refusal would only make
    /// Event Grid retry them for a day and dead-letter them.</remarks>
    public async Task<IngestOutcome> IngestAsync(EventGridBlobEvent gridEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gridEvent);
        using var activity = PipelineTelemetry.ActivitySource.StartActivity("OnImageUploaded", ActivityKind.Consumer);
        activity?.SetTag("messaging.message.id", gridEvent.Id);
        activity?.SetTag("blob.container", gridEvent.Container);
        activity?.SetTag("blob.name", gridEvent.BlobName);
        if (!gridEvent.IsBlobCreated)
        {
            LogIgnoredEventType(_logger, gridEvent.Id, gridEvent.EventType, gridEvent.Subject, EventGridBlobEvent.BlobCreatedType);
            return new IngestOutcome(IngestStatus.Ignored, null, PipelineErrorCode.None,
                $"Ignored {gridEvent}: not {EventGridBlobEvent.BlobCreatedType}.");
        }
        if (gridEvent.BlobName is not { } blobName)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"The event {gridEvent} names no blob (no '/blobServices/default/containers/…/blobs/…' subject, no data.url).");
        }
        if (!string.Equals(gridEvent.Container, BlobNames.UploadsContainer, StringComparison.Ordinal))
        {
            LogIgnoredContainer(_logger, gridEvent.Id, gridEvent.Container, blobName, BlobNames.UploadsContainer);
            return new IngestOutcome(IngestStatus.Ignored, null, PipelineErrorCode.None,
                $"Ignored {gridEvent}: not in the '{BlobNames.UploadsContainer}' container.");
        }

        var head = await ReadHeadAsync(blobName, cancellationToken).ConfigureAwait(false);
        if (head is null)
        {
            return new IngestOutcome(IngestStatus.BlobGone, null, PipelineErrorCode.None,
                $"Blob {blobName} no longer exists; nothing to do.");
        }
        var jobId = JobIds.FromBlob(BlobNames.UploadsContainer, blobName, head.ETag.ToString());
        activity?.SetTag("job.id", jobId);
        using var logScope = _logger.BeginScope(new Dictionary<string, object> { ["JobId"] = jobId });

        var now = _time.GetUtcNow();
        var (header, refusal) = Inspect(head);
        UploadOptions.TryRead(head.Metadata, _rules, out var options, out var optionsError);
        refusal ??= optionsError;
        var owner = await OwnerAsync(blobName, options.BatchId, cancellationToken).ConfigureAwait(false);
        var record = new JobRecord
        {
            JobId = jobId,
            State = refusal is null ? JobState.Queued : JobState.Failed,
            InputContainer = BlobNames.UploadsContainer,
            InputBlob = blobName,
            InputETag = head.ETag.ToString(),
            OriginalName = options.OriginalName ?? Path.GetFileName(blobName),
            BatchId = options.BatchId,
            Owner = owner,
            TargetAges = options.Ages,
            ModelName = options.ModelName,
            ModelVersion = options.ModelVersion,
            Region = options.Region,
            Format = header.Format == ImageFormat.Unknown ? null : header.Format.ToString().ToLowerInvariant(),
            // As shown (orientation applied), as the runner records them when the job succeeds.
            Width = header.DisplayWidth,
            Height = header.DisplayHeight,
            ErrorCode = refusal?.Code ?? PipelineErrorCode.None,
            ErrorMessage = refusal?.Message,
            CreatedAt = now,
            UpdatedAt = now,
            CompletedAt = refusal is null ? null : now,
        };

        // No read first: the create-only write is the existence check, and a new job (the common case) costs one
        // request instead of two. A repeated event reads the record only after the create was refused.
        if (await _jobs.TryCreateAsync(record, cancellationToken).ConfigureAwait(false) is not { } createdETag)
        {
            var existing = await _jobs.GetAsync(jobId, cancellationToken).ConfigureAwait(false)
                ?? throw new PipelineException(PipelineErrorCode.StorageUnavailable, $"Job record {jobId} exists but could not be read.");
            return await ResumeAsync(existing, cancellationToken).ConfigureAwait(false);
        }
        PipelineMetrics.JobEntered(record.State, "functions");
        if (record.BatchId is not null)
        {
            await _jobs.AddToBatchAsync(record.BatchId, jobId, cancellationToken).ConfigureAwait(false);
        }
        if (refusal is not null)
        {
            LogRefused(_logger, blobName, jobId, refusal.Code, refusal.Message);
            return new IngestOutcome(IngestStatus.Refused, jobId, refusal.Code, $"Refused {blobName} ({refusal.Code}): {refusal.Message}");
        }
        await EnqueueAsync(record, createdETag, cancellationToken).ConfigureAwait(false);
        LogQueued(_logger, blobName, jobId, record.TargetAges, record.Region);
        return new IngestOutcome(IngestStatus.Queued, jobId, PipelineErrorCode.None,
            $"Queued job {jobId} for {blobName} at ages {UploadMetadata.FormatAges(record.TargetAges)}, region {record.Region.ToWireName()}.");
    }

    /// <summary>The owner of a job: the owner of the API batch its blob was committed into, or null.</summary>
    /// <remarks>Read from the batch record, and only for a blob inside the batch's own folder (<c>uploads/{batchId}/</c>,
    /// where the API commits): blob metadata is written by whoever writes the blob and proves nothing.</remarks>
    private async Task<string?> OwnerAsync(string blobName, string? batchId, CancellationToken cancellationToken)
    {
        if (batchId is null || !blobName.StartsWith(batchId + "/", StringComparison.Ordinal))
        {
            return null;
        }
        var batch = await _jobs.GetBatchAsync(batchId, cancellationToken).ConfigureAwait(false);
        return batch?.Owner;
    }

    /// <summary>Decides what a repeated delivery does with an existing record.</summary>
    private async Task<IngestOutcome> ResumeAsync(StoredJobRecord stored, CancellationToken cancellationToken)
    {
        var record = stored.Record;
        if (record.State != JobState.Queued || record.EnqueuedAt is not null)
        {
            return new IngestOutcome(IngestStatus.Duplicate, record.JobId, record.ErrorCode,
                $"Job {record.JobId} already exists ({record.State}); repeated event ignored.");
        }
        var now = _time.GetUtcNow();
        if (now - record.UpdatedAt < _options.EnqueueRecoveryAfter)
        {
            throw new IngestInProgressException(record.JobId);
        }
        // The creator stopped between creating the record and sending the message. Claim the recovery with an
        // If-Match write so that of several concurrent deliveries exactly one sends the message.
        var claimed = record with { UpdatedAt = now };
        if (await _jobs.TryReplaceAsync(record.JobId, claimed, stored.ETag, cancellationToken).ConfigureAwait(false) is not { } claimedETag)
        {
            throw new IngestInProgressException(record.JobId);
        }
        if (claimed.BatchId is not null)
        {
            await _jobs.AddToBatchAsync(claimed.BatchId, claimed.JobId, cancellationToken).ConfigureAwait(false);
        }
        await EnqueueAsync(claimed, claimedETag, cancellationToken).ConfigureAwait(false);
        LogMessageSentByRepeat(_logger, record.JobId);
        return new IngestOutcome(IngestStatus.Recovered, record.JobId, PipelineErrorCode.None,
            $"Job {record.JobId} was queued without a message; sent it now.");
    }

    /// <summary>Sends the job's message, then stamps <see cref="JobRecord.EnqueuedAt"/>.</summary>
    /// <param name="record">The record as stored at <paramref name="recordETag"/>.</param>
    /// <param name="recordETag">The ETag this delivery's own write returned.</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    private async Task EnqueueAsync(JobRecord record, ETag recordETag, CancellationToken cancellationToken)
    {
        var message = new JobMessage(
            JobMessage.CurrentSchemaVersion,
            record.JobId,
            record.InputContainer,
            record.InputBlob,
            record.InputETag ?? throw new InvalidOperationException($"Job {record.JobId} has no input ETag."),
            record.TargetAges,
            record.ModelName ?? _rules.DefaultModel,
            record.ModelVersion,
            record.BatchId,
            PipelineTelemetry.CurrentTraceParent(),
            record.Region);
        await _queue.EnqueueAsync(message, cancellationToken).ConfigureAwait(false);
        var enqueuedAt = _time.GetUtcNow();
        var stamped = record with { EnqueuedAt = enqueuedAt, UpdatedAt = enqueuedAt };
        if (await _jobs.TryReplaceAsync(record.JobId, stamped, recordETag, cancellationToken).ConfigureAwait(false) is not null)
        {
            return;
        }
        // Someone wrote in between (the runner may already have started the job): stamp the current record.
        await _jobs.UpdateAsync(record.JobId, current => current.EnqueuedAt is not null
            ? current
            : current with { EnqueuedAt = enqueuedAt, UpdatedAt = enqueuedAt }, cancellationToken).ConfigureAwait(false);
    }

    private (ImageHeader Header, PipelineException? Refusal) Inspect(BlobHead head)
    {
        try
        {
            return (InputCheck.Inspect(head.Prefix.Span, head.Length, _limits), null);
        }
        catch (PipelineException ex)
        {
            // The record still says what the content is, where the header can tell (a refused 9000 × 9000 PNG).
            ImageHeader header;
            try
            {
                header = ImageHeaderProbe.Probe(head.Prefix.Span);
            }
            catch (PipelineException)
            {
                header = new ImageHeader(ImageSniffer.SniffFormat(head.Prefix.Span), null, null);
            }
            return (header, ex);
        }
    }

    /// <summary>The first bytes of a blob and what the same response says about the blob.</summary>
    private sealed record BlobHead(ReadOnlyMemory<byte> Prefix, ETag ETag, long Length, IDictionary<string, string> Metadata);

    private async Task<BlobHead?> ReadHeadAsync(string blobName, CancellationToken cancellationToken)
    {
        var blob = _clients.Uploads.GetBlobClient(blobName);
        return await _pipeline.ExecuteStorageAsync(
            static async (s, ct) =>
            {
                try
                {
                    Response<BlobDownloadResult> response = await s.blob.DownloadContentAsync(new BlobDownloadOptions
                    {
                        Range = new HttpRange(0, s.bytes),
                    }, ct).ConfigureAwait(false);
                    var details = response.Value.Details;
                    var content = response.Value.Content.ToMemory();
                    return new BlobHead(content, details.ETag, TotalLength(details.ContentRange, content.Length), details.Metadata);
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                    return null;
                }
                catch (RequestFailedException ex) when (ex.Status == 416)
                {
                    // A range request on an empty blob: read its properties instead.
                    try
                    {
                        BlobProperties properties = await s.blob.GetPropertiesAsync(cancellationToken: ct).ConfigureAwait(false);
                        return new BlobHead(ReadOnlyMemory<byte>.Empty, properties.ETag, properties.ContentLength, properties.Metadata);
                    }
                    catch (RequestFailedException inner) when (inner.Status == 404)
                    {
                        return null;
                    }
                }
            },
            (blob, bytes: (long)InputLimits.PrefixBytes),
            $"read the start of upload {blobName}",
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The total length from a <c>Content-Range: bytes 0-65535/1234567</c> header.</summary>
    internal static long TotalLength(string? contentRange, int received)
    {
        if (contentRange is not null)
        {
            var slash = contentRange.LastIndexOf('/');
            if (slash >= 0 && long.TryParse(contentRange.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var total))
            {
                return total;
            }
        }
        return received;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Ignored event {EventId} for {Container}/{Blob}: OnImageUploaded handles the {Uploads} container only.")]
    private static partial void LogIgnoredContainer(ILogger logger, string? eventId, string? container, string? blob, string uploads);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ignored event {EventId} of type {EventType} ({Subject}): OnImageUploaded handles {BlobCreated} only.")]
    private static partial void LogIgnoredEventType(ILogger logger, string? eventId, string eventType, string? subject, string blobCreated);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} had a record but no message; the message was sent by a repeated event.")]
    private static partial void LogMessageSentByRepeat(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upload {Blob} queued as job {JobId} for ages {Ages}, region {Region}")]
    private static partial void LogQueued(ILogger logger, string blob, string jobId, IReadOnlyList<int> ages, AgingRegion region);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upload {Blob} refused as job {JobId}: {Code} {Reason}")]
    private static partial void LogRefused(ILogger logger, string blob, string jobId, PipelineErrorCode code, string reason);
}
