using System.Collections.Concurrent;
using AgingPipeline.Contracts;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Polly;

namespace AgingPipeline.Storage;

/// <summary>One job of a batch in storage.</summary>
/// <param name="JobId">The job id.</param>
/// <param name="InputBlob">The input blob: the record's, else the upload's name; null for a marker without a record.</param>
/// <param name="Record">The job record; null while the upload waits for OnImageUploaded (pending).</param>
public sealed record BatchMember(string JobId, string? InputBlob, JobRecord? Record);

/// <summary>Reads the members of a batch: the one definition that <c>GET /api/batches/{id}</c> and the CLI's
/// <c>status</c>/<c>get</c> share.</summary>
/// <remarks>A batch is the union of its markers (<c>jobs/batches/{id}/…</c>, written by OnImageUploaded for every way in)
/// and the blobs under <c>uploads/{batchId}/</c> that have no marker yet: between an upload and its storage event the
/// blob exists but its job does not, and such a member is pending. A blob's job id is derived from its name and current
/// ETag (<see cref="JobIds.FromBlob"/>), exactly as OnImageUploaded derives it. Whether the caller may see the batch
/// (its record and owner) is the host's decision, before calling this.</remarks>
public static class BatchListing
{
    /// <summary>How many job records are read at once.</summary>
    public const int MaxParallelReads = 16;

    private const int PageSize = 1000;

    /// <summary>Reads every member of <paramref name="batchId"/>, in ordinal order of job id; empty when nothing is
    /// stored under that id.</summary>
    /// <param name="jobs">The job store (markers and records).</param>
    /// <param name="uploads">The <c>uploads</c> container.</param>
    /// <param name="pipeline">The storage resilience pipeline.</param>
    /// <param name="batchId">The batch id.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <exception cref="PipelineException">StorageUnavailable after retries.</exception>
    public static async Task<IReadOnlyList<BatchMember>> ReadMembersAsync(
        JobStore jobs, BlobContainerClient uploads, ResiliencePipeline pipeline, string batchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(uploads);
        ArgumentNullException.ThrowIfNull(pipeline);
        var markers = new List<string>();
        await foreach (var jobId in jobs.ListBatchAsync(batchId, cancellationToken).ConfigureAwait(false))
        {
            markers.Add(jobId);
        }
        var pending = await ListUploadsAsync(uploads, pipeline, batchId, cancellationToken).ConfigureAwait(false);
        var known = new HashSet<string>(markers, StringComparer.Ordinal);
        var candidates = markers.Select(m => (JobId: m, Blob: (string?)null))
            .Concat(pending.Where(u => known.Add(u.JobId)).Select(u => (u.JobId, Blob: (string?)u.Blob)))
            .ToArray();
        var members = new ConcurrentBag<BatchMember>();
        await Parallel.ForEachAsync(candidates, new ParallelOptions { MaxDegreeOfParallelism = MaxParallelReads, CancellationToken = cancellationToken }, async (candidate, ct) =>
        {
            var stored = await jobs.GetAsync(candidate.JobId, ct).ConfigureAwait(false);
            members.Add(new BatchMember(candidate.JobId, stored?.Record.InputBlob ?? candidate.Blob, stored?.Record));
        }).ConfigureAwait(false);
        return [.. members.OrderBy(m => m.JobId, StringComparer.Ordinal)];
    }

    /// <summary>The blobs under <c>uploads/{batchId}/</c> with the job id each one's current version gets.</summary>
    /// <exception cref="PipelineException">StorageUnavailable after retries.</exception>
    public static async Task<IReadOnlyList<(string JobId, string Blob)>> ListUploadsAsync(
        BlobContainerClient uploads, ResiliencePipeline pipeline, string batchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uploads);
        ArgumentNullException.ThrowIfNull(pipeline);
        var result = new List<(string JobId, string Blob)>();
        string? continuation = null;
        do
        {
            var page = await pipeline.ExecuteStorageAsync(
                static async (s, ct) =>
                {
                    await foreach (var p in s.uploads.GetBlobsAsync(BlobTraits.None, BlobStates.None, s.prefix, ct)
                        .AsPages(s.continuation, PageSize).WithCancellation(ct).ConfigureAwait(false))
                    {
                        return (Items: p.Values.Select(i => (i.Name, ETag: i.Properties.ETag?.ToString())).ToArray(), p.ContinuationToken);
                    }
                    return (Items: Array.Empty<(string Name, string? ETag)>(), ContinuationToken: (string?)null);
                },
                (uploads, prefix: batchId + "/", continuation),
                $"list the uploads of batch {batchId}",
                cancellationToken).ConfigureAwait(false);
            foreach (var (name, etag) in page.Items)
            {
                if (etag is not null)
                {
                    result.Add((JobIds.FromBlob(BlobNames.UploadsContainer, name, etag), name));
                }
            }
            continuation = string.IsNullOrEmpty(page.ContinuationToken) ? null : page.ContinuationToken;
        }
        while (continuation is not null);
        return result;
    }
}
