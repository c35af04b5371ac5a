using System.Security.Claims;
using AgingPipeline.Contracts;
using AgingPipeline.Functions.Http;
using AgingPipeline.Functions.Uploads;
using AgingPipeline.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgingPipeline.Functions.Apis;

/// <summary><c>POST /api/uploads</c> and <c>POST /api/batches</c>: the web form's way in.</summary>
/// <remarks>The API only writes blobs. It does not create jobs: the storage event does, through OnImageUploaded,
/// exactly as for a blob written by any other program. The job ids it returns are computed from each stored blob's
/// ETag with <see cref="JobIds.FromBlob"/>, so they are the ids OnImageUploaded will use.</remarks>
public static class UploadsApi
{
    /// <summary>Maps the upload endpoint.</summary>
    public static IEndpointRouteBuilder MapUploadsApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/api/uploads", UploadAsync).DisableAntiforgery().WithName("Uploads")
            .RequireAuthorization(Callers.Policy).RequireRateLimiting(Callers.UploadsLimit);
        app.MapPost("/api/batches", CreateBatchAsync).DisableAntiforgery().WithName("CreateBatch")
            .RequireAuthorization(Callers.Policy).RequireRateLimiting(Callers.UploadsLimit);
        return app;
    }

    /// <summary>Streams the files of a multipart request into <c>uploads</c>.</summary>
    public static async Task<Results<Accepted<UploadAccepted>, ProblemHttpResult>> UploadAsync(
        HttpRequest request,
        MultipartUploadProcessor processor,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(processor);
        UploadBatch batch;
        try
        {
            batch = await processor.ProcessAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (UploadRefusedException refused)
        {
            var extensions = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (refused.FileName is not null)
            {
                extensions["file"] = refused.FileName;
            }
            if (refused.Committed.Count > 0)
            {
                extensions["accepted"] = refused.Committed.Select(ToJob).ToArray();
            }
            return Problems.Create(refused.Code, refused.Message, refused.Status, extensions);
        }
        var batchUrl = $"/api/batches/{batch.BatchId}";
        return TypedResults.Accepted(batchUrl, new UploadAccepted(batch.BatchId, batchUrl, batch.Files.Select(ToJob).ToArray(), batch.BatchToken));
    }

    /// <summary>Creates an empty batch: the web form makes one before it sends a folder's files in parallel requests,
    /// each carrying the batch id and token.</summary>
    public static async Task<Created<BatchCreated>> CreateBatchAsync(ClaimsPrincipal user, JobStore jobs, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(time);
        var token = BatchIds.NewToken();
        var record = new BatchRecord
        {
            BatchId = BatchIds.New(),
            TokenSha256 = BatchIds.HashToken(token),
            Owner = Callers.OwnerOf(user),
            CreatedAt = time.GetUtcNow(),
        };
        if (!await jobs.TryCreateBatchAsync(record, cancellationToken).ConfigureAwait(false))
        {
            throw new PipelineException(PipelineErrorCode.Internal, $"The new batch id {record.BatchId} is taken; 130 random bits collided.");
        }
        var batchUrl = $"/api/batches/{record.BatchId}";
        return TypedResults.Created(batchUrl, new BatchCreated(record.BatchId, token, batchUrl));
    }

    private static UploadAcceptedJob ToJob(UploadedFile file) =>
        new(file.JobId, file.FileName, file.Blob, JobStateNames.StatusUrl(file.JobId, file.Blob));
}
