using AgingPipeline.Contracts;
using Azure;
using Azure.Storage.Blobs.Models;
using Polly;

namespace AgingPipeline.Storage;

/// <summary>The input of a job as read from <c>uploads</c>.</summary>
/// <param name="Content">The whole content, or only its first <see cref="InputLimits.PrefixBytes"/> when
/// <see cref="IsComplete"/> is false.</param>
/// <param name="Length">The blob's length in bytes.</param>
/// <param name="IsComplete">False when the blob is over <see cref="InputLimits.MaxBytes"/> and only its first bytes were
/// read, for the door's earlier checks: the caller refuses it.</param>
public sealed record JobInput(BinaryData Content, long Length, bool IsComplete);

/// <summary>A job's blob reads and writes (the runner's): the input of a job, pinned to the ETag it was created for, and
/// create-only outputs.</summary>
/// <remarks>
/// <para>The input is read with <c>If-Match</c> on the job's ETag: a blob that was overwritten since is a different
/// upload (and a different job), so this job fails with <see cref="PipelineErrorCode.InputGone"/> rather than aging
/// the wrong picture. Only the <c>uploads</c> container is read, whatever a message says.</para>
/// <para>Outputs are written with <c>If-None-Match: *</c>. Messages are delivered at least once; a second delivery
/// of a job whose first attempt wrote some outputs before crashing meets 409 for those, which means "already
/// written" and is fine: output names are derived from the job id, and a job's outputs are deterministic.</para>
/// </remarks>
public sealed class JobBlobs(StorageClients clients, ResiliencePipeline pipeline)
{
    /// <summary>Downloads the input of a job, at the ETag it was created for (<c>If-Match</c>).</summary>
    /// <returns>The input; over <see cref="InputLimits.MaxBytes"/> (known from its properties, before downloading) only
    /// its first <see cref="InputLimits.PrefixBytes"/> (<see cref="JobInput.IsComplete"/> false), so that the caller
    /// refuses it for what the door says at every entry (format and header first, then bytes) without reading it
    /// whole.</returns>
    /// <exception cref="PipelineException">InvalidRequest for another container; InputGone when the blob is missing
    /// or changed; StorageUnavailable after retries.</exception>
    public async Task<JobInput> DownloadInputAsync(JobMessage message, InputLimits limits, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(limits);
        if (!string.Equals(message.InputContainer, BlobNames.UploadsContainer, StringComparison.Ordinal))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"Inputs are read from the '{BlobNames.UploadsContainer}' container only, not '{message.InputContainer}'.");
        }
        var blob = clients.Uploads.GetBlobClient(message.InputBlob);
        var conditions = new BlobRequestConditions { IfMatch = QuotedETag(message.InputETag) };
        var properties = await pipeline.ExecuteStorageAsync(
            static async (s, ct) =>
            {
                try
                {
                    return (await s.blob.GetPropertiesAsync(s.conditions, ct).ConfigureAwait(false)).Value;
                }
                catch (RequestFailedException ex) when (IsGone(ex))
                {
                    return null;
                }
            },
            (blob, conditions),
            $"read the properties of input {message.InputBlob}",
            cancellationToken).ConfigureAwait(false);
        if (properties is null)
        {
            throw Gone(message);
        }
        var tooLarge = limits.CheckBytes(properties.ContentLength) is not null;
        var content = await pipeline.ExecuteStorageAsync(
            static async (s, ct) =>
            {
                try
                {
                    var options = new BlobDownloadOptions
                    {
                        Conditions = s.conditions,
                        Range = s.tooLarge ? new HttpRange(0, InputLimits.PrefixBytes) : default,
                    };
                    return (await s.blob.DownloadContentAsync(options, ct).ConfigureAwait(false)).Value.Content;
                }
                catch (RequestFailedException ex) when (IsGone(ex))
                {
                    return null;
                }
            },
            (blob, conditions, tooLarge),
            $"download input {message.InputBlob}",
            cancellationToken).ConfigureAwait(false);
        if (content is null)
        {
            throw Gone(message);
        }
        return new JobInput(content, properties.ContentLength, IsComplete: !tooLarge);
    }

    /// <summary>Writes an output unless a blob of that name exists.</summary>
    /// <returns>True when this call wrote it; false when an earlier attempt already had.</returns>
    public async Task<bool> WriteOutputAsync(string blobName, byte[] content, string contentType, CancellationToken cancellationToken = default)
    {
        var blob = clients.Aged.GetBlobClient(blobName);
        return await pipeline.ExecuteStorageAsync(
            static async (s, ct) =>
            {
                try
                {
                    await s.blob.UploadAsync(new BinaryData(s.content), new BlobUploadOptions
                    {
                        HttpHeaders = new BlobHttpHeaders { ContentType = s.contentType, CacheControl = "private, max-age=86400, immutable" },
                        Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                    }, ct).ConfigureAwait(false);
                    return true;
                }
                catch (RequestFailedException ex) when (JobStore.IsAlreadyExists(ex))
                {
                    return false;
                }
            },
            (blob, content, contentType),
            $"write output {blobName}",
            cancellationToken).ConfigureAwait(false);
    }

    private static ETag QuotedETag(string eTag)
    {
        var bare = eTag.Trim().Trim('"');
        return new ETag($"\"{bare}\"");
    }

    private static bool IsGone(RequestFailedException ex) => ex.Status is 404 or 412;

    private static PipelineException Gone(JobMessage message) =>
        new(PipelineErrorCode.InputGone,
            $"The input '{message.InputBlob}' was deleted or replaced after the job was created; upload it again to age the new content.");
}
