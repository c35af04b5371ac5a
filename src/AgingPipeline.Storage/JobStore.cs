using System.Runtime.CompilerServices;
using System.Text.Json;
using AgingPipeline.Contracts;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Polly;

namespace AgingPipeline.Storage;

/// <summary>A job record together with the ETag it was read at.</summary>
/// <param name="Record">The record.</param>
/// <param name="ETag">The blob's ETag; pass it back to write with <c>If-Match</c>.</param>
public sealed record StoredJobRecord(JobRecord Record, ETag ETag);

/// <summary>Job records (<c>jobs/{jobId}.json</c>), batch records (<c>jobs/batches/{batchId}.json</c>) and batch markers
/// (<c>jobs/batches/{batchId}/{jobId}</c>).</summary>
/// <remarks>
/// <para>Creation is create-only (<c>If-None-Match: *</c>): events and messages arrive at least once, and the
/// job id is derived from the upload, so the second creator of the same job learns that it exists and does
/// nothing.</para>
/// <para>Updates are optimistic (<c>If-Match</c>): the function app, the poison handler and several runners may
/// touch one record; on 412 the record is read again and the mutation applied again to the fresh copy, so no
/// writer silently overwrites another's change.</para>
/// </remarks>
public sealed class JobStore
{
    /// <summary>How many times an update is re-applied after losing a race before giving up.</summary>
    public const int MaxUpdateAttempts = 10;

    private static readonly BlobHttpHeaders s_jsonHeaders = new() { ContentType = "application/json; charset=utf-8" };

    private readonly BlobContainerClient _jobs;
    private readonly ResiliencePipeline _pipeline;

    /// <summary>Creates a store over the <c>jobs</c> container.</summary>
    /// <param name="jobs">The jobs container.</param>
    /// <param name="pipeline">The storage resilience pipeline (<see cref="ResiliencePipeline.Empty"/> in unit tests).</param>
    public JobStore(BlobContainerClient jobs, ResiliencePipeline pipeline)
    {
        _jobs = jobs ?? throw new ArgumentNullException(nameof(jobs));
        _pipeline = pipeline ?? throw new ArgumentNullException(nameof(pipeline));
    }

    /// <summary>Reads a record with its ETag.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The record, or null when there is none.</returns>
    /// <exception cref="PipelineException">StorageUnavailable after retries; Internal when the blob is not a record.</exception>
    public async Task<StoredJobRecord?> GetAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var blob = RecordBlob(jobId);
        var result = await _pipeline.ExecuteStorageAsync(
            static async (b, ct) =>
            {
                try
                {
                    Response<BlobDownloadResult> response = await b.DownloadContentAsync(ct).ConfigureAwait(false);
                    return response.Value;
                }
                catch (RequestFailedException ex) when (ex.Status == 404 && ex.ErrorCode == BlobErrorCode.BlobNotFound)
                {
                    return null;
                }
            },
            blob,
            $"read job record {jobId}",
            cancellationToken).ConfigureAwait(false);
        if (result is null)
        {
            return null;
        }
        return new StoredJobRecord(Deserialize(jobId, result.Content), result.Details.ETag);
    }

    /// <summary>Creates a record unless one with the same job id exists.</summary>
    /// <param name="record">The new record.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new record's ETag when this call created it; null when it existed already (nothing was written).</returns>
    /// <remarks>The ETag comes from the create's own response, so the creator's next change is one
    /// <see cref="TryReplaceAsync"/> (<c>If-Match</c>) with no read in between.</remarks>
    public async Task<ETag?> TryCreateAsync(JobRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var blob = RecordBlob(record.JobId);
        var content = Serialize(record);
        return await TryCreateBlobAsync(blob, content, $"create job record {record.JobId}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes a JSON blob only if no blob of that name exists (If-None-Match: *).</summary>
    /// <returns>The new blob's ETag when this call created it; null when the name is taken (nothing was written).</returns>
    private async Task<ETag?> TryCreateBlobAsync(BlobClient blob, BinaryData content, string operation, CancellationToken cancellationToken) =>
        await _pipeline.ExecuteStorageAsync(
            static async (s, ct) =>
            {
                try
                {
                    Response<BlobContentInfo> response = await s.blob.UploadAsync(s.content, new BlobUploadOptions
                    {
                        HttpHeaders = s_jsonHeaders,
                        Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                    }, ct).ConfigureAwait(false);
                    return (ETag?)response.Value.ETag;
                }
                catch (RequestFailedException ex) when (IsAlreadyExists(ex))
                {
                    return null;
                }
            },
            (blob, content),
            operation,
            cancellationToken).ConfigureAwait(false);

    /// <summary>Applies <paramref name="mutate"/> to the current record and writes the result with <c>If-Match</c>,
    /// re-reading and re-applying when another writer got there first.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="mutate">Pure function from the current record to the new one; returning the same instance
    /// writes nothing. It may run several times and may throw to abort (e.g. an illegal state move).</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    /// <returns>The record as stored after the call, or null when there is no record.</returns>
    /// <exception cref="PipelineException">StorageUnavailable when the race is lost <see cref="MaxUpdateAttempts"/> times.</exception>
    public async Task<StoredJobRecord?> UpdateAsync(string jobId, Func<JobRecord, JobRecord> mutate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mutate);
        for (var attempt = 1; attempt <= MaxUpdateAttempts; attempt++)
        {
            var current = await GetAsync(jobId, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                return null;
            }
            var updated = mutate(current.Record);
            if (ReferenceEquals(updated, current.Record))
            {
                return current;
            }
            if (!string.Equals(updated.JobId, jobId, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"A mutation of job {jobId} may not change its id.");
            }
            var newETag = await TryReplaceAsync(jobId, updated, current.ETag, cancellationToken).ConfigureAwait(false);
            if (newETag is { } etag)
            {
                return new StoredJobRecord(updated, etag);
            }
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20 * attempt)), cancellationToken).ConfigureAwait(false);
        }
        throw new PipelineException(PipelineErrorCode.StorageUnavailable,
            $"Job record {jobId} changed under {MaxUpdateAttempts} consecutive update attempts; giving up.");
    }

    /// <summary>Writes <paramref name="record"/> only if the stored record still has <paramref name="ifMatch"/>.</summary>
    /// <returns>The new ETag, or null when the record changed (412) or vanished.</returns>
    public async Task<ETag?> TryReplaceAsync(string jobId, JobRecord record, ETag ifMatch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var blob = RecordBlob(jobId);
        var content = Serialize(record);
        return await _pipeline.ExecuteStorageAsync(
            static async (s, ct) =>
            {
                try
                {
                    Response<BlobContentInfo> response = await s.blob.UploadAsync(s.content, new BlobUploadOptions
                    {
                        HttpHeaders = s_jsonHeaders,
                        Conditions = new BlobRequestConditions { IfMatch = s.ifMatch },
                    }, ct).ConfigureAwait(false);
                    return (ETag?)response.Value.ETag;
                }
                catch (RequestFailedException ex) when (ex.Status == 412 || (ex.Status == 404 && ex.ErrorCode == BlobErrorCode.BlobNotFound))
                {
                    return null;
                }
            },
            (blob, content, ifMatch),
            $"update job record {jobId}",
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adds the job to a batch (an empty marker blob); adding twice is harmless.</summary>
    /// <param name="batchId">A well-formed batch id (see <see cref="JobIds.IsWellFormed"/>).</param>
    /// <param name="jobId">The job id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task AddToBatchAsync(string batchId, string jobId, CancellationToken cancellationToken = default)
    {
        EnsureWellFormed(batchId, nameof(batchId));
        EnsureWellFormed(jobId, nameof(jobId));
        var blob = _jobs.GetBlobClient(BlobNames.BatchMember(batchId, jobId));
        await _pipeline.ExecuteStorageAsync(
            static async (b, ct) =>
            {
                try
                {
                    await b.UploadAsync(BinaryData.Empty, new BlobUploadOptions
                    {
                        Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                    }, ct).ConfigureAwait(false);
                }
                catch (RequestFailedException ex) when (IsAlreadyExists(ex))
                {
                    // Already a member: markers are create-only and carry no data.
                }
                return true;
            },
            blob,
            $"add job {jobId} to batch {batchId}",
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates a batch record unless one with the same id exists.</summary>
    /// <returns>True when this call created it; false when the id is taken (nothing was written).</returns>
    public async Task<bool> TryCreateBatchAsync(BatchRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        EnsureWellFormed(record.BatchId, nameof(record));
        var blob = _jobs.GetBlobClient(BlobNames.BatchRecord(record.BatchId));
        var content = BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(record, ContractsJsonContext.Default.BatchRecord));
        return await TryCreateBlobAsync(blob, content, $"create batch record {record.BatchId}", cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <summary>Reads a batch record.</summary>
    /// <returns>The record, or null when the upload API never created a batch of that id.</returns>
    /// <exception cref="PipelineException">StorageUnavailable after retries; Internal when the blob is not a record.</exception>
    public async Task<BatchRecord?> GetBatchAsync(string batchId, CancellationToken cancellationToken = default)
    {
        if (!JobIds.IsWellFormed(batchId))
        {
            return null;
        }
        var blob = _jobs.GetBlobClient(BlobNames.BatchRecord(batchId));
        var content = await _pipeline.ExecuteStorageAsync(
            static async (b, ct) =>
            {
                try
                {
                    return (await b.DownloadContentAsync(ct).ConfigureAwait(false)).Value.Content;
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                    return null;
                }
            },
            blob,
            $"read batch record {batchId}",
            cancellationToken).ConfigureAwait(false);
        if (content is null)
        {
            return null;
        }
        BatchRecord? record;
        try
        {
            record = JsonSerializer.Deserialize(content.ToMemory().Span, ContractsJsonContext.Default.BatchRecord);
        }
        catch (JsonException ex)
        {
            throw new PipelineException(PipelineErrorCode.Internal, $"Batch record {batchId} is not valid JSON: {ex.Message}", ex);
        }
        if (record is null || !string.Equals(record.BatchId, batchId, StringComparison.Ordinal))
        {
            throw new PipelineException(PipelineErrorCode.Internal, $"Blob {BlobNames.BatchRecord(batchId)} does not hold the record of batch {batchId}.");
        }
        return record;
    }

    /// <summary>Lists the job ids of a batch, in blob-name order.</summary>
    /// <param name="batchId">A well-formed batch id.</param>
    /// <param name="cancellationToken">Cancels the listing.</param>
    public async IAsyncEnumerable<string> ListBatchAsync(string batchId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        EnsureWellFormed(batchId, nameof(batchId));
        var prefix = BlobNames.BatchPrefix(batchId);
        string? continuation = null;
        do
        {
            var page = await _pipeline.ExecuteStorageAsync(
                static async (s, ct) =>
                {
                    await foreach (var p in s.jobs.GetBlobsAsync(BlobTraits.None, BlobStates.None, s.prefix, ct)
                        .AsPages(s.continuation, 1000).WithCancellation(ct).ConfigureAwait(false))
                    {
                        return (Names: p.Values.Select(i => i.Name).ToArray(), p.ContinuationToken);
                    }
                    return (Names: Array.Empty<string>(), ContinuationToken: (string?)null);
                },
                (jobs: _jobs, prefix, continuation),
                $"list batch {batchId}",
                cancellationToken).ConfigureAwait(false);
            foreach (var name in page.Names)
            {
                yield return name[prefix.Length..];
            }
            continuation = string.IsNullOrEmpty(page.ContinuationToken) ? null : page.ContinuationToken;
        }
        while (continuation is not null);
    }

    /// <summary>Serializes a record as stored.</summary>
    public static BinaryData Serialize(JobRecord record) =>
        BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(record, ContractsJsonContext.Default.JobRecord));

    /// <summary>Parses a stored record.</summary>
    /// <exception cref="PipelineException">Internal when the content is not a record of that job.</exception>
    public static JobRecord Deserialize(string jobId, BinaryData content)
    {
        JobRecord? record;
        try
        {
            record = JsonSerializer.Deserialize(content.ToMemory().Span, ContractsJsonContext.Default.JobRecord);
        }
        catch (JsonException ex)
        {
            throw new PipelineException(PipelineErrorCode.Internal, $"Job record {jobId} is not valid JSON: {ex.Message}", ex);
        }
        if (record is null || !string.Equals(record.JobId, jobId, StringComparison.Ordinal))
        {
            throw new PipelineException(PipelineErrorCode.Internal, $"Blob {BlobNames.JobRecord(jobId)} does not hold the record of job {jobId}.");
        }
        return record;
    }

    /// <summary>True for the answers storage gives to a create-only write when the blob exists.</summary>
    /// <remarks>Azure answers 409 BlobAlreadyExists; some emulator versions answer 412 ConditionNotMet.</remarks>
    public static bool IsAlreadyExists(RequestFailedException exception) =>
        exception.Status == 409 && exception.ErrorCode == BlobErrorCode.BlobAlreadyExists
        || exception.Status == 412;

    private BlobClient RecordBlob(string jobId)
    {
        EnsureWellFormed(jobId, nameof(jobId));
        return _jobs.GetBlobClient(BlobNames.JobRecord(jobId));
    }

    private static void EnsureWellFormed(string id, string parameterName)
    {
        if (!JobIds.IsWellFormed(id))
        {
            throw new ArgumentException($"'{id}' is not a well-formed id.", parameterName);
        }
    }
}
