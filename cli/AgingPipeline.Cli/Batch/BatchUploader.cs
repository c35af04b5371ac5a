using System.Security.Cryptography;
using AgingPipeline.Cli.Infrastructure;
using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;
using AgingPipeline.Storage;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace AgingPipeline.Cli.Batch;

/// <summary>A local file of a batch with the hashes that identify its content.</summary>
/// <param name="Input">The file.</param>
/// <param name="Size">Size in bytes when hashed.</param>
/// <param name="Sha256">SHA-256, hex (the identity recorded in the state file).</param>
/// <param name="Md5">MD5, stored by storage as the blob's Content-MD5, so that an interrupted upload can be recognised.</param>
/// <param name="Format">The sniffed format (<see cref="ImageFormat.Unknown"/> for content the pipeline will refuse).</param>
internal sealed record LocalBatchFile(InputFile Input, long Size, string Sha256, byte[] Md5, ImageFormat Format)
{
    /// <summary>Hashes a file.</summary>
    public static async Task<LocalBatchFile> HashAsync(InputFile input, ImageFormat format, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var buffer = new byte[81920];
        long size = 0;
        var stream = new FileStream(input.FullPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (stream.ConfigureAwait(false))
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                sha256.AppendData(buffer, 0, read);
                md5.AppendData(buffer, 0, read);
                size += read;
            }
        }
        return new LocalBatchFile(input, size, Convert.ToHexStringLower(sha256.GetHashAndReset()), md5.GetHashAndReset(), format);
    }
}

/// <summary>How a file reached storage.</summary>
/// <param name="Blob">Blob name in <c>uploads</c>.</param>
/// <param name="ETag">Its ETag.</param>
/// <param name="Uploaded">True when this call uploaded it; false when an identical blob was already there.</param>
internal sealed record UploadResult(string Blob, string ETag, bool Uploaded);

/// <summary>Uploads batch files into <c>uploads</c> with their options as metadata, exactly as
/// <see cref="UploadOptions.ToMetadata"/> writes them, so that OnImageUploaded reads them as from the web form.</summary>
/// <remarks>
/// <para>Never uploads the same content twice. The blob name is fixed before the upload and recorded in the state
/// file; before writing, the blob's properties are read: a blob with the same length and Content-MD5 is the one an
/// interrupted run uploaded without recording it, and is adopted as is. Its ETag, and therefore its job, stays the
/// same, so no second job and no second set of outputs is made. A blob with other content under that name means the
/// local file changed since its upload: it is replaced (If-Match on the old ETag), which is a new upload and so a new
/// job. A missing blob is created with If-None-Match: *, so two runs racing on one name never both write.</para>
/// </remarks>
internal sealed class BatchUploader(PipelineStorage storage)
{
    private const int MaxAttempts = 3;

    /// <summary>Uploads (or adopts) one file as <paramref name="blobName"/>.</summary>
    /// <exception cref="PipelineException">StorageUnavailable after retries; NotFound when the account has no
    /// <c>uploads</c> container; Busy when the blob keeps changing under us.</exception>
    public async Task<UploadResult> UploadAsync(LocalBatchFile file, string blobName, UploadOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(options);
        var blob = storage.Clients.Uploads.GetBlobClient(blobName);
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            var existing = await GetPropertiesAsync(blob, cancellationToken).ConfigureAwait(false);
            BlobRequestConditions conditions;
            if (existing is not null)
            {
                if (existing.ContentLength == file.Size && existing.ContentHash is { } hash && hash.AsSpan().SequenceEqual(file.Md5))
                {
                    return new UploadResult(blobName, existing.ETag.ToString(), Uploaded: false);
                }
                conditions = new BlobRequestConditions { IfMatch = existing.ETag };
            }
            else
            {
                conditions = new BlobRequestConditions { IfNoneMatch = ETag.All };
            }
            var etag = await TryUploadAsync(blob, file, options, conditions, cancellationToken).ConfigureAwait(false);
            if (etag is not null)
            {
                return new UploadResult(blobName, etag, Uploaded: true);
            }
        }
        throw new PipelineException(PipelineErrorCode.Busy,
            $"The blob {blobName} kept changing while {file.Input.RelativePath} was uploaded; another program writes to the same batch.");
    }

    private async Task<BlobProperties?> GetPropertiesAsync(BlobClient blob, CancellationToken cancellationToken) =>
        await storage.Pipeline.ExecuteStorageAsync(
            static async (b, ct) =>
            {
                try
                {
                    return (await b.GetPropertiesAsync(cancellationToken: ct).ConfigureAwait(false)).Value;
                }
                catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == BlobErrorCode.BlobNotFound)
                {
                    return null;
                }
                catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == BlobErrorCode.ContainerNotFound)
                {
                    throw NoUploadsContainer(b);
                }
            },
            blob,
            $"read the properties of {blob.Name}",
            cancellationToken).ConfigureAwait(false);

    private async Task<string?> TryUploadAsync(BlobClient blob, LocalBatchFile file, UploadOptions options, BlobRequestConditions conditions, CancellationToken cancellationToken)
    {
        var uploadOptions = new BlobUploadOptions
        {
            Metadata = options.ToMetadata(),
            HttpHeaders = new BlobHttpHeaders
            {
                ContentType = file.Format == ImageFormat.Unknown ? "application/octet-stream" : ImageSniffer.ContentType(file.Format),
                ContentHash = file.Md5,
            },
            Conditions = conditions,
        };
        return await storage.Pipeline.ExecuteStorageAsync(
            static async (s, ct) =>
            {
                var stream = new FileStream(s.path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
                await using (stream.ConfigureAwait(false))
                {
                    try
                    {
                        var response = await s.blob.UploadAsync(stream, s.uploadOptions, ct).ConfigureAwait(false);
                        return response.Value.ETag.ToString();
                    }
                    catch (RequestFailedException e) when (JobStore.IsAlreadyExists(e))
                    {
                        return null;
                    }
                    catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == BlobErrorCode.ContainerNotFound)
                    {
                        throw NoUploadsContainer(s.blob);
                    }
                }
            },
            (blob, path: file.Input.FullPath, uploadOptions),
            $"upload {file.Input.RelativePath}",
            cancellationToken).ConfigureAwait(false);
    }

    private static PipelineException NoUploadsContainer(BlobClient blob) =>
        new(PipelineErrorCode.NotFound,
            $"The storage account {blob.AccountName} has no '{BlobNames.UploadsContainer}' container: the pipeline is not deployed there (locally: start ./run.sh).");
}
