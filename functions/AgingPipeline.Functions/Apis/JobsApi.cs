using System.Collections.Concurrent;
using System.Security.Claims;
using AgingPipeline.Contracts;
using AgingPipeline.Functions.Http;
using AgingPipeline.Storage;
using Azure;
using Azure.Storage.Blobs.Models;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Polly.Registry;

namespace AgingPipeline.Functions.Apis;

/// <summary><c>GET /api/jobs/{id}</c> and <c>GET /api/batches/{id}</c>.</summary>
/// <remarks>
/// <para>Between an upload and its storage event there is a moment when the blob exists but its job does not.
/// The upload API's status URLs therefore carry the input blob (<c>?blob=</c>): when there is no record yet, the
/// blob's current ETag is hashed and, if it gives the requested id, the job is reported as <c>pending</c> instead
/// of 404. Without <c>blob</c>, or when the blob has changed since, the answer is 404.</para>
/// <para>With signed-in callers (<see cref="AuthMode.EntraId"/>) jobs and batches belong to the user who made them:
/// another user's job or batch answers 404, exactly as a missing one (<see cref="Callers.MaySee"/>).</para>
/// <para>Only a batch the upload API created is a batch: without its record (<c>jobs/batches/{id}.json</c>) the answer is
/// 404, so a folder of blobs written straight into <c>uploads/</c> is never listed (issue 15: <c>GET
/// /api/batches/drop</c> listed every file dropped into <c>uploads/drop/</c>, with links to their results). The id is an
/// unguessable capability (<see cref="BatchIds"/>), like a job id. A batch is the union of its markers (written by
/// OnImageUploaded) and the blobs under <c>uploads/{batchId}/</c> that have no job yet, which are pending; an empty batch
/// (just created, files still on their way) has no jobs and is not done.</para>
/// </remarks>
public static class JobsApi
{
    private const int MaxParallelReads = 16;

    /// <summary>Maps the job and batch endpoints: every route under <c>/api/jobs</c> in one group (status and the
    /// two downloads, whose handlers live with the web form's zip and file streaming), and the batch listing.</summary>
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var jobs = app.MapGroup("/api/jobs").RequireAuthorization(Callers.Policy);
        jobs.MapGet("/{id}", GetJobAsync).WithName("GetJob");
        jobs.MapGet("/{id}/download.zip", WebFormApi.DownloadZipAsync).WithName("DownloadJob");
        jobs.MapGet("/{id}/files/{name}", WebFormApi.DownloadFileAsync).WithName("DownloadJobFile");
        app.MapGet("/api/batches/{id}", GetBatchAsync).WithName("GetBatch").RequireAuthorization(Callers.Policy);
        return app;
    }

    /// <summary>One job, with download links for its outputs.</summary>
    public static async Task<Results<Ok<JobStatusResponse>, ProblemHttpResult>> GetJobAsync(
        string id,
        string? blob,
        ClaimsPrincipal user,
        JobStore jobs,
        StorageClients clients,
        BlobReadLinks links,
        ResiliencePipelineProvider<string> pipelines,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(links);
        if (!JobIds.IsWellFormed(id))
        {
            return Problems.Create(PipelineErrorCode.InvalidRequest, "That is not a well-formed job id.");
        }
        var stored = await jobs.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (stored is not null)
        {
            return Callers.MaySee(stored.Record.Owner, user)
                ? TypedResults.Ok(await ToResponseAsync(stored.Record, links, clients.Options, time, cancellationToken).ConfigureAwait(false))
                : Problems.Create(PipelineErrorCode.NotFound, $"There is no job {id}.");
        }
        if (!string.IsNullOrEmpty(blob) && await MaySeeUploadAsync(blob, user, jobs, cancellationToken).ConfigureAwait(false))
        {
            var etag = await GetUploadETagAsync(clients, pipelines, blob, cancellationToken).ConfigureAwait(false);
            if (etag is not null && JobIds.FromBlob(BlobNames.UploadsContainer, blob, etag) == id)
            {
                return TypedResults.Ok(Pending(id, blob));
            }
        }
        return Problems.Create(PipelineErrorCode.NotFound, $"There is no job {id}.");
    }

    /// <summary>A batch: counts per state and its jobs.</summary>
    public static async Task<Results<Ok<BatchStatusResponse>, ProblemHttpResult>> GetBatchAsync(
        string id,
        ClaimsPrincipal user,
        JobStore jobs,
        StorageClients clients,
        ResiliencePipelineProvider<string> pipelines,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(clients);
        ArgumentNullException.ThrowIfNull(pipelines);
        if (!JobIds.IsWellFormed(id))
        {
            return Problems.Create(PipelineErrorCode.InvalidRequest, "That is not a well-formed batch id.");
        }
        if (await jobs.GetBatchAsync(id, cancellationToken).ConfigureAwait(false) is not { } batch || !Callers.MaySee(batch.Owner, user))
        {
            return Problems.Create(PipelineErrorCode.NotFound, $"There is no batch {id}.");
        }
        var members = new List<string>();
        await foreach (var jobId in jobs.ListBatchAsync(id, cancellationToken).ConfigureAwait(false))
        {
            members.Add(jobId);
        }
        var uploads = await ListBatchUploadsAsync(clients, pipelines, id, cancellationToken).ConfigureAwait(false);

        var entries = new ConcurrentDictionary<string, BatchJobResponse>(StringComparer.Ordinal);
        var knownIds = new HashSet<string>(members, StringComparer.Ordinal);
        var candidates = members.Select(m => (JobId: m, Blob: (string?)null))
            .Concat(uploads.Where(u => !knownIds.Contains(u.JobId)).Select(u => (u.JobId, Blob: (string?)u.Blob)))
            .ToArray();
        await Parallel.ForEachAsync(candidates, new ParallelOptions { MaxDegreeOfParallelism = MaxParallelReads, CancellationToken = cancellationToken }, async (candidate, ct) =>
        {
            var stored = await jobs.GetAsync(candidate.JobId, ct).ConfigureAwait(false);
            entries[candidate.JobId] = stored is null
                ? new BatchJobResponse(candidate.JobId, JobStateNames.Pending, candidate.Blob is null ? null : Path.GetFileName(candidate.Blob), null,
                    JobStateNames.StatusUrl(candidate.JobId, candidate.Blob))
                : new BatchJobResponse(candidate.JobId, JobStateNames.For(stored.Record.State), stored.Record.OriginalName,
                    stored.Record.ErrorCode == PipelineErrorCode.None ? null : stored.Record.ErrorCode.ToString(),
                    JobStateNames.StatusUrl(candidate.JobId, stored.Record.InputBlob),
                    stored.Record.RegionOutcome?.Applied,
                    stored.Record.RegionOutcome?.Faces.Count);
        }).ConfigureAwait(false);

        var list = entries.Values.OrderBy(e => e.OriginalName, StringComparer.Ordinal).ThenBy(e => e.JobId, StringComparer.Ordinal).ToArray();
        var counts = JobStateNames.All.ToDictionary(s => s, s => list.Count(e => e.State == s), StringComparer.Ordinal);
        var done = list.Length > 0 && list.All(e => e.State is "succeeded" or "failed");
        return TypedResults.Ok(new BatchStatusResponse(id, list.Length, counts, done, list));
    }

    /// <summary>Whether the caller may see a job that has no record yet: not when its blob lies in another user's batch.</summary>
    private static async Task<bool> MaySeeUploadAsync(string blob, ClaimsPrincipal user, JobStore jobs, CancellationToken cancellationToken)
    {
        var slash = blob.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return true;
        }
        var batch = await jobs.GetBatchAsync(blob[..slash], cancellationToken).ConfigureAwait(false);
        return batch is null || Callers.MaySee(batch.Owner, user);
    }

    private static JobStatusResponse Pending(string jobId, string blob) => new(
        jobId, JobStateNames.Pending, blob, Path.GetFileName(blob), null, [], null, null, null, null, null, null, [], null, null, 0, null, null, null, null);

    private static async Task<JobStatusResponse> ToResponseAsync(JobRecord record, BlobReadLinks links, StorageOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        var outputs = new List<JobOutputLink>(record.Outputs.Count);
        foreach (var output in record.Outputs.OrderBy(o => o.Age))
        {
            outputs.Add(new JobOutputLink(output.Age, (await links.ForAgedOutputAsync(output.Blob, cancellationToken).ConfigureAwait(false)).ToString()));
        }
        string? contactSheet = null;
        if (record.ContactSheetBlob is { Length: > 0 } sheet)
        {
            contactSheet = (await links.ForAgedOutputAsync(sheet, cancellationToken).ConfigureAwait(false)).ToString();
        }
        var error = record.ErrorCode == PipelineErrorCode.None && record.State != JobState.Failed
            ? null
            : new JobErrorResponse(record.ErrorCode.ToString(), record.ErrorMessage ?? "The job failed.");
        var hasLinks = outputs.Count > 0 || contactSheet is not null;
        return new JobStatusResponse(
            record.JobId,
            JobStateNames.For(record.State),
            record.InputBlob,
            record.OriginalName,
            record.BatchId,
            record.TargetAges,
            record.ModelName,
            record.ModelVersion,
            record.Format,
            record.Width,
            record.Height,
            JobRegionResponse.From(record),
            outputs,
            contactSheet,
            error,
            record.Attempts,
            record.CreatedAt,
            record.UpdatedAt,
            record.CompletedAt,
            hasLinks ? time.GetUtcNow() + options.ReadLinkLifetime : null);
    }

    private static async Task<string?> GetUploadETagAsync(StorageClients clients, ResiliencePipelineProvider<string> pipelines, string blob, CancellationToken cancellationToken)
    {
        var pipeline = pipelines.GetPipeline(StorageResilience.PipelineName);
        return await pipeline.ExecuteStorageAsync(
            static async (b, ct) =>
            {
                try
                {
                    BlobProperties properties = await b.GetPropertiesAsync(cancellationToken: ct).ConfigureAwait(false);
                    return properties.ETag.ToString();
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                    return null;
                }
            },
            clients.Uploads.GetBlobClient(blob),
            "read an upload's properties",
            cancellationToken).ConfigureAwait(false);
    }

    private static async Task<IReadOnlyList<(string JobId, string Blob)>> ListBatchUploadsAsync(
        StorageClients clients, ResiliencePipelineProvider<string> pipelines, string batchId, CancellationToken cancellationToken)
    {
        var pipeline = pipelines.GetPipeline(StorageResilience.PipelineName);
        var result = new List<(string JobId, string Blob)>();
        string? continuation = null;
        do
        {
            var page = await pipeline.ExecuteStorageAsync(
                static async (s, ct) =>
                {
                    await foreach (var p in s.container.GetBlobsAsync(BlobTraits.None, BlobStates.None, s.prefix, ct)
                        .AsPages(s.continuation, 1000).WithCancellation(ct).ConfigureAwait(false))
                    {
                        return (Items: p.Values.Select(i => (i.Name, ETag: i.Properties.ETag?.ToString())).ToArray(), p.ContinuationToken);
                    }
                    return (Items: Array.Empty<(string Name, string? ETag)>(), ContinuationToken: (string?)null);
                },
                (container: clients.Uploads, prefix: batchId + "/", continuation),
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
