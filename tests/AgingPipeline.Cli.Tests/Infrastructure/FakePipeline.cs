using AgingPipeline.Contracts;
using AgingPipeline.Storage;
using Azure;
using Azure.Storage.Blobs.Models;
using Polly;

namespace AgingPipeline.Cli.Tests.Infrastructure;

/// <summary>Stands in for OnImageUploaded and the runner on one batch prefix: turns each new upload into a job record
/// (same id, same metadata rules, batch marker) and "processes" it by writing outputs under the pipeline's names and
/// moving the record to succeeded, or to failed for inputs named "broken" (and, when faces were required, with
/// <see cref="PipelineErrorCode.NoFaceFound"/> for inputs named "faceless"). A succeeded job reports one face found, or
/// the whole frame when the whole picture was asked for.</summary>
/// <remarks>The CLI reads only storage (uploads, job records, aged outputs), so this exercises everything it does
/// against a real Azurite without building and running the function app, the event pump and the runner. Processing
/// can be held back (<see cref="Allowance"/>) so that a test can stop the CLI while jobs are still running.</remarks>
public sealed class FakePipeline : IAsyncDisposable
{
    private readonly StorageClients _clients;
    private readonly JobStore _jobs;
    private readonly string _prefix;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly HashSet<string> _ingested = new(StringComparer.Ordinal);
    private readonly List<string> _queued = [];
    private int _processed;

    public FakePipeline(StorageClients clients, string batchId, int allowance)
    {
        _clients = clients;
        _jobs = new JobStore(clients.Jobs, ResiliencePipeline.Empty);
        _prefix = batchId + "/";
        Allowance = allowance;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>How many jobs may be finished in all (raise it to let the rest through).</summary>
    public int Allowance { get; set; }

    /// <summary>Jobs created so far (one per distinct upload, i.e. per blob name and ETag).</summary>
    public int JobsCreated { get; private set; }

    /// <summary>Jobs finished so far.</summary>
    public int Processed => Volatile.Read(ref _processed);

    /// <summary>The first error of the loop, if it died.</summary>
    public Exception? Failure { get; private set; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await IngestAsync(cancellationToken);
                while (_queued.Count > 0 && Processed < Allowance)
                {
                    await ProcessAsync(_queued[0], cancellationToken);
                    _queued.RemoveAt(0);
                    Interlocked.Increment(ref _processed);
                }
                await Task.Delay(100, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Failure = e;
        }
    }

    private async Task IngestAsync(CancellationToken cancellationToken)
    {
        await foreach (var item in _clients.Uploads.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, _prefix, cancellationToken))
        {
            var etag = item.Properties.ETag!.Value.ToString();
            var jobId = JobIds.FromBlob(BlobNames.UploadsContainer, item.Name, etag);
            if (!_ingested.Add(jobId))
            {
                continue;
            }
            var ok = UploadOptions.TryRead(item.Metadata, new UploadRules(), out var options, out var error);
            var now = DateTimeOffset.UtcNow;
            var record = new JobRecord
            {
                JobId = jobId,
                State = ok ? JobState.Queued : JobState.Failed,
                InputContainer = BlobNames.UploadsContainer,
                InputBlob = item.Name,
                InputETag = etag,
                OriginalName = options.OriginalName,
                BatchId = options.BatchId,
                TargetAges = options.Ages,
                ModelName = options.ModelName,
                ModelVersion = options.ModelVersion,
                Region = options.Region,
                ErrorCode = error?.Code ?? PipelineErrorCode.None,
                ErrorMessage = error?.Message,
                CreatedAt = now,
                UpdatedAt = now,
                EnqueuedAt = now,
            };
            if (await _jobs.TryCreateAsync(record, cancellationToken) is not null)
            {
                JobsCreated++;
            }
            if (record.BatchId is not null)
            {
                await _jobs.AddToBatchAsync(record.BatchId, jobId, cancellationToken);
            }
            if (ok)
            {
                _queued.Add(jobId);
            }
        }
    }

    private async Task ProcessAsync(string jobId, CancellationToken cancellationToken)
    {
        var record = (await _jobs.GetAsync(jobId, cancellationToken))!.Record;
        var now = DateTimeOffset.UtcNow;
        await _jobs.UpdateAsync(jobId, r => r.MoveTo(JobState.Processing, now), cancellationToken);
        if ((record.OriginalName ?? record.InputBlob).Contains("broken", StringComparison.Ordinal))
        {
            await _jobs.UpdateAsync(jobId, r => r.Fail(PipelineErrorCode.CorruptImage, "The JPEG image is truncated or corrupt.", DateTimeOffset.UtcNow), cancellationToken);
            return;
        }
        var faceless = (record.OriginalName ?? record.InputBlob).Contains("faceless", StringComparison.Ordinal);
        if (faceless && record.Region == AgingRegion.Faces)
        {
            await _jobs.UpdateAsync(jobId, r => r.Fail(PipelineErrorCode.NoFaceFound, "No face was found in the picture.", DateTimeOffset.UtcNow), cancellationToken);
            return;
        }
        var region = record.Region == AgingRegion.Whole || faceless
            ? RegionOutcome.WholeFrame(record.Region, record.Region == AgingRegion.Whole ? "The whole picture was asked for." : "No face was found.")
            : RegionOutcome.OfFaces(record.Region, [new DetectedFace(new FaceBox(4, 4, 20, 20), 0.9f, new Point2(9, 10), new Point2(17, 10),
                new Point2(13, 14), new Point2(13, 19), new Point2(5, 12), new Point2(23, 12), "fake")]);
        var input = (await _clients.Uploads.GetBlobClient(record.InputBlob).DownloadContentAsync(cancellationToken)).Value.Content;
        var extension = record.InputBlob[(record.InputBlob.LastIndexOf('.') + 1)..];
        var outputs = new List<AgedOutput>();
        foreach (var age in record.TargetAges)
        {
            var name = BlobNames.AgedOutput(jobId, record.InputBlob, age, extension);
            await WriteOnceAsync(name, input, cancellationToken);
            outputs.Add(new AgedOutput(age, name));
        }
        var sheet = BlobNames.ContactSheet(jobId, record.InputBlob, extension);
        await WriteOnceAsync(sheet, input, cancellationToken);
        await _jobs.UpdateAsync(jobId, r => r.MoveTo(JobState.Succeeded, DateTimeOffset.UtcNow) with { Outputs = outputs, ContactSheetBlob = sheet, RegionOutcome = region }, cancellationToken);
    }

    private async Task WriteOnceAsync(string name, BinaryData content, CancellationToken cancellationToken)
    {
        try
        {
            await _clients.Aged.GetBlobClient(name).UploadAsync(content, new BlobUploadOptions
            {
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
            }, cancellationToken);
        }
        catch (RequestFailedException e) when (JobStore.IsAlreadyExists(e))
        {
        }
    }
}
