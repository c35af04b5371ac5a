using AgingPipeline.Cli.Infrastructure;
using AgingPipeline.Contracts;
using AgingPipeline.Storage;
using Azure;
using Azure.Storage.Blobs.Models;

namespace AgingPipeline.Cli.Batch;

/// <summary>The outputs of one job on disk after <see cref="OutputDownloader.DownloadAsync"/>.</summary>
/// <param name="Written">Files written by this call, as full paths.</param>
/// <param name="Present">Files that were already there and were left alone.</param>
internal sealed record DownloadResult(IReadOnlyList<string> Written, int Present);

/// <summary>Downloads the outputs of succeeded jobs (aged images and contact sheet) into a local folder.</summary>
/// <remarks>Local names are the blobs' own (<c>{stem}.age{N}.{ext}</c>, <c>{stem}.contact.{ext}</c>), the same names
/// <c>aging age</c> writes. A file that exists is complete (downloads are atomic, <see cref="AtomicFile"/>) and is not
/// downloaded again, so a resumed run fetches only what is new.</remarks>
internal sealed class OutputDownloader(PipelineStorage storage)
{
    /// <summary>The output blobs of a record: every age, then the contact sheet.</summary>
    public static IReadOnlyList<string> OutputBlobs(JobRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var blobs = record.Outputs.OrderBy(o => o.Age).Select(o => o.Blob).ToList();
        if (record.ContactSheetBlob is { Length: > 0 } sheet)
        {
            blobs.Add(sheet);
        }
        return blobs;
    }

    /// <summary>Downloads the outputs of <paramref name="record"/> into <paramref name="directory"/>.</summary>
    /// <exception cref="PipelineException">InputGone when an output blob no longer exists; Internal for a record
    /// naming an output that is not a plain file name; InvalidRequest when the folder cannot be written;
    /// StorageUnavailable after retries.</exception>
    public async Task<DownloadResult> DownloadAsync(JobRecord record, string directory, bool force, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var written = new List<string>();
        var present = 0;
        foreach (var blobName in OutputBlobs(record))
        {
            var fileName = blobName[(blobName.LastIndexOf('/') + 1)..];
            if (fileName.Length == 0 || fileName.StartsWith('.') || fileName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || fileName.Contains('\\'))
            {
                throw new PipelineException(PipelineErrorCode.Internal, $"Job {record.JobId} names an output '{blobName}' that is not a plain file name.");
            }
            var path = Path.Combine(directory, fileName);
            if (!force && File.Exists(path))
            {
                present++;
                continue;
            }
            var blob = storage.Clients.Aged.GetBlobClient(blobName);
            try
            {
                await AtomicFile.WriteAsync(path, (temporary, ct) => storage.Pipeline.ExecuteStorageAsync(
                    static async (s, token) =>
                    {
                        try
                        {
                            await s.blob.DownloadToAsync(s.temporary, token).ConfigureAwait(false);
                            return true;
                        }
                        catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == BlobErrorCode.BlobNotFound)
                        {
                            throw new PipelineException(PipelineErrorCode.InputGone,
                                $"The output {s.blob.Name} of job {s.jobId} no longer exists in '{BlobNames.AgedContainer}' (removed by retention?); upload the file again.");
                        }
                    },
                    (blob, temporary, jobId: record.JobId),
                    $"download {blobName}",
                    ct).AsTask(), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new PipelineException(PipelineErrorCode.InvalidRequest,
                    $"{path} could not be written ({e.Message}); check that the output folder is writable and has space.", e);
            }
            written.Add(path);
        }
        return new DownloadResult(written, present);
    }
}
