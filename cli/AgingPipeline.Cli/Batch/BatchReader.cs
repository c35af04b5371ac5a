using System.Collections.Concurrent;
using AgingPipeline.Contracts;
using AgingPipeline.Storage;
using Azure.Storage.Blobs.Models;

namespace AgingPipeline.Cli.Batch;

/// <summary>One job of a batch in storage.</summary>
/// <param name="JobId">The job id.</param>
/// <param name="InputBlob">The input blob, when known.</param>
/// <param name="Record">The job record; null while the upload waits for OnImageUploaded (pending).</param>
internal sealed record BatchMember(string JobId, string? InputBlob, JobRecord? Record)
{
    /// <summary>The state name, "pending" without a record.</summary>
    public string State => Record is null ? JobStateNames.Pending : JobStateNames.For(Record.State);

    /// <summary>The person's name for the input.</summary>
    public string DisplayName => Record?.OriginalName ?? (InputBlob is null ? JobId : InputBlob[(InputBlob.LastIndexOf('/') + 1)..]);
}

/// <summary>Reads a batch the way <c>GET /api/batches/{id}</c> does: the union of its markers (written by
/// OnImageUploaded for every way in) and the blobs under <c>uploads/{batchId}/</c> that have no job yet.</summary>
internal static class BatchReader
{
    private const int MaxParallelReads = 16;

    /// <summary>Reads every member of <paramref name="batchId"/>; empty when there is no such batch.</summary>
    public static async Task<IReadOnlyList<BatchMember>> ReadAsync(PipelineStorage storage, string batchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var markers = new List<string>();
        await foreach (var jobId in storage.Jobs.ListBatchAsync(batchId, cancellationToken).ConfigureAwait(false))
        {
            markers.Add(jobId);
        }
        var uploads = await ListUploadsAsync(storage, batchId, cancellationToken).ConfigureAwait(false);
        var known = new HashSet<string>(markers, StringComparer.Ordinal);
        var candidates = markers.Select(m => (JobId: m, Blob: (string?)null))
            .Concat(uploads.Where(u => known.Add(u.JobId)).Select(u => (u.JobId, Blob: (string?)u.Blob)))
            .ToList();
        var members = new ConcurrentBag<BatchMember>();
        await Parallel.ForEachAsync(candidates, new ParallelOptions { MaxDegreeOfParallelism = MaxParallelReads, CancellationToken = cancellationToken }, async (c, ct) =>
        {
            var stored = await storage.Jobs.GetAsync(c.JobId, ct).ConfigureAwait(false);
            members.Add(new BatchMember(c.JobId, stored?.Record.InputBlob ?? c.Blob, stored?.Record));
        }).ConfigureAwait(false);
        return [.. members.OrderBy(m => m.InputBlob ?? m.DisplayName, StringComparer.Ordinal).ThenBy(m => m.JobId, StringComparer.Ordinal)];
    }

    private static async Task<IReadOnlyList<(string JobId, string Blob)>> ListUploadsAsync(PipelineStorage storage, string batchId, CancellationToken cancellationToken)
    {
        var result = new List<(string JobId, string Blob)>();
        string? continuation = null;
        do
        {
            var page = await storage.Pipeline.ExecuteStorageAsync(
                static async (s, ct) =>
                {
                    await foreach (var p in s.container.GetBlobsAsync(BlobTraits.None, BlobStates.None, s.prefix, ct)
                        .AsPages(s.continuation, 1000).WithCancellation(ct).ConfigureAwait(false))
                    {
                        return (Items: p.Values.Select(i => (i.Name, ETag: i.Properties.ETag?.ToString())).ToArray(), p.ContinuationToken);
                    }
                    return (Items: Array.Empty<(string Name, string? ETag)>(), ContinuationToken: (string?)null);
                },
                (container: storage.Clients.Uploads, prefix: batchId + "/", continuation),
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
