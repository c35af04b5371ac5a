using AgingPipeline.Contracts;
using AgingPipeline.Functions.Http;
using AgingPipeline.Storage;
using Azure;
using Azure.Storage.Blobs.Models;
using Microsoft.AspNetCore.Http.HttpResults;

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
        [AsParameters] JobApiServices services,
        BlobReadLinks links,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(links);
        if (!JobIds.IsWellFormed(id))
        {
            return Problems.Create(PipelineErrorCode.InvalidRequest, "That is not a well-formed job id.");
        }
        var stored = await services.Jobs.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (stored is not null)
        {
            return Callers.MaySee(stored.Record.Owner, services.User)
                ? TypedResults.Ok(await ToResponseAsync(stored.Record, links, services.Clients.Options, time, cancellationToken).ConfigureAwait(false))
                : Problems.Create(PipelineErrorCode.NotFound, $"There is no job {id}.");
        }
        if (!string.IsNullOrEmpty(blob) && await MaySeeUploadAsync(blob, services, cancellationToken).ConfigureAwait(false))
        {
            var etag = await GetUploadETagAsync(services, blob, cancellationToken).ConfigureAwait(false);
            if (etag is not null && JobIds.FromBlob(BlobNames.UploadsContainer, blob, etag) == id)
            {
                return TypedResults.Ok(Pending(id, blob));
            }
        }
        return Problems.Create(PipelineErrorCode.NotFound, $"There is no job {id}.");
    }

    /// <summary>A batch: counts per state and its jobs.</summary>
    public static async Task<Results<Ok<BatchStatusResponse>, ProblemHttpResult>> GetBatchAsync(
        string id, [AsParameters] JobApiServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!JobIds.IsWellFormed(id))
        {
            return Problems.Create(PipelineErrorCode.InvalidRequest, "That is not a well-formed batch id.");
        }
        if (await services.Jobs.GetBatchAsync(id, cancellationToken).ConfigureAwait(false) is not { } batch || !Callers.MaySee(batch.Owner, services.User))
        {
            return Problems.Create(PipelineErrorCode.NotFound, $"There is no batch {id}.");
        }
        var members = await BatchListing.ReadMembersAsync(services.Jobs, services.Clients.Uploads, services.StoragePipeline, id, cancellationToken)
            .ConfigureAwait(false);
        var list = members.Select(ToBatchJob)
            .OrderBy(e => e.OriginalName, StringComparer.Ordinal).ThenBy(e => e.JobId, StringComparer.Ordinal).ToArray();
        var counts = JobStateNames.All.ToDictionary(s => s, s => list.Count(e => e.State == s), StringComparer.Ordinal);
        var done = list.Length > 0 && list.All(e => e.State is "succeeded" or "failed");
        return TypedResults.Ok(new BatchStatusResponse(id, list.Length, counts, done, list));
    }

    /// <summary>Whether the caller may see a job that has no record yet: not when its blob lies in another user's batch.</summary>
    private static async Task<bool> MaySeeUploadAsync(string blob, JobApiServices services, CancellationToken cancellationToken)
    {
        var slash = blob.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return true;
        }
        var batch = await services.Jobs.GetBatchAsync(blob[..slash], cancellationToken).ConfigureAwait(false);
        return batch is null || Callers.MaySee(batch.Owner, services.User);
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

    private static async Task<string?> GetUploadETagAsync(JobApiServices services, string blob, CancellationToken cancellationToken)
    {
        return await services.StoragePipeline.ExecuteStorageAsync(
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
            services.Clients.Uploads.GetBlobClient(blob),
            "read an upload's properties",
            cancellationToken).ConfigureAwait(false);
    }

    private static BatchJobResponse ToBatchJob(BatchMember member) => member.Record is not { } record
        ? new BatchJobResponse(member.JobId, JobStateNames.Pending, member.InputBlob is null ? null : Path.GetFileName(member.InputBlob), null,
            JobStateNames.StatusUrl(member.JobId, member.InputBlob))
        : new BatchJobResponse(member.JobId, JobStateNames.For(record.State), record.OriginalName,
            record.ErrorCode == PipelineErrorCode.None ? null : record.ErrorCode.ToString(),
            JobStateNames.StatusUrl(member.JobId, record.InputBlob),
            record.RegionOutcome?.Applied,
            record.RegionOutcome?.Faces.Count);
}
