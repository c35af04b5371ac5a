using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using AgingPipeline.Cli.Infrastructure;
using AgingPipeline.Cli.Offline;
using AgingPipeline.Contracts;

namespace AgingPipeline.Cli.Batch;

/// <summary>Settings of one <c>aging batch</c> run.</summary>
/// <param name="InputRoot">The local folder (absolute).</param>
/// <param name="OutputRoot">Where results are mirrored and the state file lives (absolute).</param>
/// <param name="BatchId">The batch id asked for, or null (resume, or a new random id).</param>
/// <param name="Ages">Ages asked for, or null (resume, or the pipeline's defaults).</param>
/// <param name="Model">Model asked for.</param>
/// <param name="Wait">Follow the jobs and download results (false: upload only).</param>
/// <param name="PollInterval">Time between two looks at the job records.</param>
/// <param name="Timeout">Give up following after this long; null waits until every job has finished.</param>
/// <param name="Force">Download outputs again even when they exist locally.</param>
/// <param name="Region">Region asked for, or null (resume, or the pipeline's default, auto).</param>
internal sealed record BatchSettings(
    string InputRoot,
    string OutputRoot,
    string? BatchId,
    IReadOnlyList<int>? Ages,
    ModelChoice Model,
    bool Wait,
    TimeSpan PollInterval,
    TimeSpan? Timeout,
    bool Force,
    AgingRegion? Region = null);

/// <summary>One run of <c>aging batch</c>: upload what is missing, follow the jobs, download what is new.</summary>
/// <remarks>
/// <para>Everything it learns goes into the state file (<see cref="BatchState"/>), so that a run stopped at any point
/// (Ctrl-C, a crash, a timeout, <c>--no-wait</c>) is resumed by running the same command again: no file is uploaded
/// twice (see <see cref="BatchUploader"/>), finished jobs are not polled again, and outputs on disk are not downloaded
/// again.</para>
/// <para>Jobs are followed by reading their records (<c>jobs/{jobId}.json</c>), the same records the web API reads;
/// the job id of an upload is known as soon as it is uploaded (<see cref="JobIds.FromBlob"/> of its name and ETag),
/// before the storage event has created the record, during which time the job is "pending".</para>
/// </remarks>
internal sealed class BatchSession(PipelineStorage storage, CommandOutput output)
{
    private const int UploadConcurrency = 4;
    private const int PollConcurrency = 16;
    private static readonly TimeSpan s_stallHintAfter = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, IReadOnlyList<string>> _written = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _downloaded = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PipelineException> _failures = new(StringComparer.Ordinal);
    private int _uploaded;
    private int _adopted;
    private int _alreadyUploaded;
    private int _downloadedFiles;

    /// <summary>Runs the batch; the state file is saved however the run ends.</summary>
    public async Task<RunReport> RunAsync(BatchSettings settings, IProgressSink progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(progress);
        var started = Stopwatch.GetTimestamp();
        var store = OpenState(settings);
        AtomicFile.CleanUpAbandoned(settings.OutputRoot);
        var (batchId, ages, modelName, modelVersion, region) = store.Read(s => (s.BatchId, (IReadOnlyList<int>)[.. s.Ages], s.ModelName, s.ModelVersion, s.Region));
        var options = new UploadOptions(ages, modelName, modelVersion, batchId, OriginalName: null, region);
        var local = new Dictionary<string, FileReport>(StringComparer.Ordinal);
        try
        {
            var planned = Plan(settings, store, local);
            output.Note(string.Create(CultureInfo.InvariantCulture,
                $"Batch {batchId}: {planned.Count} image(s) from {settings.InputRoot}, ages {UploadMetadata.FormatAges(ages)}, model {modelName}{(modelVersion is null ? string.Empty : ":" + modelVersion)}, region {region.ToWireName()}, storage {storage.Account}."));
            await UploadAsync(planned, options, store, progress, cancellationToken).ConfigureAwait(false);
            store.Save();
            if (settings.Wait)
            {
                await FollowAsync(settings, store, progress, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            store.Save();
        }
        return BuildReport(settings, store, local, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Makes a blob path segment out of a folder name: letters, digits, '-', '_' and '.' are kept, anything
    /// else becomes '_', and '.'-only names cannot occur.</summary>
    public static string SafeSegment(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray();
        var segment = new string(chars).Trim('.');
        return segment.Length == 0 ? "_" : segment.Length > 80 ? segment[..80] : segment;
    }

    private BatchStateStore OpenState(BatchSettings settings)
    {
        var store = BatchStateStore.TryLoad(settings.OutputRoot);
        if (store is null)
        {
            var ages = settings.Ages ?? [.. CliArguments.Rules.DefaultAges.Distinct().Order()];
            return BatchStateStore.Create(settings.OutputRoot, new BatchState
            {
                BatchId = settings.BatchId ?? BatchIds.New(),
                Account = storage.Account,
                InputRoot = settings.InputRoot,
                Ages = [.. ages],
                ModelName = settings.Model.Name ?? CliArguments.Rules.DefaultModel,
                ModelVersion = settings.Model.Version,
                Region = settings.Region ?? AgingRegion.Auto,
                CreatedAt = DateTimeOffset.UtcNow,
            });
        }
        var state = store.Read(s => s);
        const string resume = "run it again without changing them, or pick another --out for a new batch";
        if (settings.BatchId is not null && settings.BatchId != state.BatchId)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"{settings.OutputRoot} holds batch {state.BatchId}, not {settings.BatchId}: {resume}.");
        }
        if (!string.Equals(state.Account, storage.Account, StringComparison.OrdinalIgnoreCase))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"{settings.OutputRoot} holds batch {state.BatchId} of {state.Account}, not of {storage.Account}: pass the same --connection / --account-url, or pick another --out.");
        }
        if (!string.Equals(state.InputRoot, settings.InputRoot, StringComparison.Ordinal))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"{settings.OutputRoot} holds batch {state.BatchId} of the folder {state.InputRoot}, not {settings.InputRoot}: pick another --out for a new batch.");
        }
        if (settings.Ages is not null && !settings.Ages.SequenceEqual(state.Ages))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"Batch {state.BatchId} in {settings.OutputRoot} ages to {UploadMetadata.FormatAges(state.Ages)}, not {UploadMetadata.FormatAges(settings.Ages)}: {resume}.");
        }
        if (settings.Model.Name is not null && (settings.Model.Name != state.ModelName || settings.Model.Version != state.ModelVersion))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"Batch {state.BatchId} in {settings.OutputRoot} uses model {state.ModelName}{(state.ModelVersion is null ? string.Empty : ":" + state.ModelVersion)}: {resume}.");
        }
        if (settings.Region is { } region && region != state.Region)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"Batch {state.BatchId} in {settings.OutputRoot} ages region {state.Region.ToWireName()}, not {region.ToWireName()}: {resume}.");
        }
        output.Note($"Resuming batch {state.BatchId} ({state.Files.Count} file(s) uploaded before).");
        return store;
    }

    private sealed record PlannedUpload(InputFile Input, ImageFormat Format, string Blob);

    /// <summary>Sniffs the local files and fixes each one's blob name: the recorded one for known paths, a new unique
    /// <c>{batchId}/{folders}/{stem}.{ext}</c> otherwise.</summary>
    private static List<PlannedUpload> Plan(BatchSettings settings, BatchStateStore store, Dictionary<string, FileReport> local)
    {
        var files = InputScanner.Scan(settings.InputRoot, [settings.OutputRoot]);
        var sniffed = OfflinePlanner.Plan(files, new OutputNames(), CliArguments.Limits);
        var (batchId, recorded) = store.Read(s => (s.BatchId, s.Files.ToDictionary(f => f.Key, f => f.Value.Blob, StringComparer.Ordinal)));
        var names = new OutputNames();
        foreach (var blob in recorded.Values)
        {
            var relative = blob[(batchId.Length + 1)..];
            var slash = relative.LastIndexOf('/');
            var leaf = relative[(slash + 1)..];
            var dot = leaf.LastIndexOf('.');
            names.Reserve(slash < 0 ? string.Empty : relative[..slash], dot < 0 ? leaf : leaf[..dot], dot < 0 ? string.Empty : leaf[(dot + 1)..]);
        }
        var planned = new List<PlannedUpload>();
        foreach (var file in sniffed)
        {
            var path = file.Input.RelativePath;
            if (file.Failure is { } failure)
            {
                local[path] = new FileReport(path, FileResults.Failed, failure.Code, failure.Message);
                continue;
            }
            if (file.Skip is { } skip)
            {
                local[path] = new FileReport(path, FileResults.Skipped, Reason: skip);
                continue;
            }
            if (!recorded.TryGetValue(path, out var blob))
            {
                var directory = string.Join('/', file.Input.RelativeDirectory.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(SafeSegment));
                var extension = file.Extension;
                var stem = names.Assign(directory, file.Input.FileName, extension);
                blob = directory.Length == 0 ? $"{batchId}/{stem}.{extension}" : $"{batchId}/{directory}/{stem}.{extension}";
            }
            planned.Add(new PlannedUpload(file.Input, file.Format, blob));
        }
        return planned;
    }

    private async Task UploadAsync(List<PlannedUpload> planned, UploadOptions options, BatchStateStore store, IProgressSink progress, CancellationToken cancellationToken)
    {
        var line = progress.Add("upload", planned.Count, "file");
        var uploader = new BatchUploader(storage);
        await Parallel.ForEachAsync(planned, new ParallelOptions { MaxDegreeOfParallelism = UploadConcurrency, CancellationToken = cancellationToken }, async (item, ct) =>
        {
            var path = item.Input.RelativePath;
            LocalBatchFile file;
            try
            {
                file = await LocalBatchFile.HashAsync(item.Input, item.Format, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                var failure = OfflinePlanner.ReadFailure(item.Input, e);
                store.Update(s => s.Files.Remove(path));
                _failures[path] = failure;
                line.Increment();
                return;
            }
            var entry = store.Read(s => s.Files.GetValueOrDefault(path));
            if (entry is { ETag: not null, JobId: not null } && entry.Size == file.Size && entry.Sha256 == file.Sha256)
            {
                Interlocked.Increment(ref _alreadyUploaded);
                line.Increment();
                return;
            }
            var result = await uploader.UploadAsync(file, item.Blob, options with { OriginalName = item.Input.FileName }, ct).ConfigureAwait(false);
            store.Update(s => s.Files[path] = new BatchFileEntry
            {
                Size = file.Size,
                Sha256 = file.Sha256,
                Blob = result.Blob,
                ETag = result.ETag,
                JobId = JobIds.FromBlob(BlobNames.UploadsContainer, result.Blob, result.ETag),
                UploadedAt = DateTimeOffset.UtcNow,
            });
            if (result.Uploaded)
            {
                Interlocked.Increment(ref _uploaded);
            }
            else
            {
                Interlocked.Increment(ref _adopted);
            }
            line.Increment();
        }).ConfigureAwait(false);
        line.Complete();
    }

    private async Task FollowAsync(BatchSettings settings, BatchStateStore store, IProgressSink progress, CancellationToken cancellationToken)
    {
        var tracked = store.Read(s => s.Files.Where(f => f.Value.JobId is not null).Select(f => (Path: f.Key, JobId: f.Value.JobId!)).ToList());
        var jobsLine = progress.Add("jobs", tracked.Count, "job");
        var downloadLine = progress.Add("download", 0, "file");
        var deadline = settings.Timeout is { } timeout ? Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency) : (long?)null;
        var lastChange = Stopwatch.GetTimestamp();
        var hinted = false;
        var outages = 0;
        var finished = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        var outputCounts = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        while (true)
        {
            var active = tracked.Where(t => !finished.ContainsKey(t.Path)).ToList();
            var changed = 0;
            var transient = 0;
            PipelineException? lastOutage = null;
            await Parallel.ForEachAsync(active, new ParallelOptions { MaxDegreeOfParallelism = PollConcurrency, CancellationToken = cancellationToken }, async (item, ct) =>
            {
                try
                {
                    var outcome = await PollAsync(settings, store, item.Path, item.JobId, outputCounts, ct).ConfigureAwait(false);
                    if (outcome.Changed)
                    {
                        Interlocked.Increment(ref changed);
                    }
                    if (outcome.Finished)
                    {
                        finished[item.Path] = 0;
                    }
                }
                catch (PipelineException e) when (e.IsTransient)
                {
                    // Storage hiccup: the job stays active and is looked at again next round.
                    Interlocked.Increment(ref transient);
                    lastOutage = e;
                }
            }).ConfigureAwait(false);

            outages = active.Count > 0 && transient == active.Count ? outages + 1 : 0;
            if (outages >= 10 && lastOutage is not null)
            {
                throw lastOutage;
            }
            var counts = store.Read(s => tracked.GroupBy(t => s.Files.GetValueOrDefault(t.Path)?.State ?? JobStateNames.Pending)
                .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal));
            jobsLine.Describe("jobs: " + string.Join(", ", JobStateNames.All.Where(counts.ContainsKey).Select(n => $"{counts[n]} {n}")));
            jobsLine.SetValue(finished.Count);
            downloadLine.SetTotal(outputCounts.Values.Sum());
            downloadLine.SetValue(outputCounts.Where(c => _downloaded.ContainsKey(c.Key)).Sum(c => c.Value));
            if (changed > 0)
            {
                lastChange = Stopwatch.GetTimestamp();
            }
            if (finished.Count == tracked.Count)
            {
                break;
            }
            if (!hinted && counts.GetValueOrDefault(JobStateNames.Pending) > 0 && Stopwatch.GetElapsedTime(lastChange) > s_stallHintAfter)
            {
                hinted = true;
                output.Note("No job has moved for 30 s and some uploads have no job yet: is the pipeline running (locally: ./run.sh)?");
            }
            if (deadline is { } end && Stopwatch.GetTimestamp() >= end)
            {
                output.Note("--timeout reached; the jobs go on in the pipeline. Run the same command again to resume.");
                break;
            }
            await Task.Delay(settings.PollInterval, cancellationToken).ConfigureAwait(false);
        }
        jobsLine.Complete();
        downloadLine.Complete();
    }

    private sealed record PollOutcome(bool Changed, bool Finished);

    /// <summary>Reads one job's record, records its state, and downloads its outputs once it has succeeded.</summary>
    private async Task<PollOutcome> PollAsync(BatchSettings settings, BatchStateStore store, string path, string jobId,
        ConcurrentDictionary<string, int> outputCounts, CancellationToken cancellationToken)
    {
        var record = (await storage.Jobs.GetAsync(jobId, cancellationToken).ConfigureAwait(false))?.Record;
        var state = record is null ? JobStateNames.Pending : JobStateNames.For(record.State);
        var finished = false;
        if (record is { State: JobState.Succeeded })
        {
            outputCounts[path] = OutputDownloader.OutputBlobs(record).Count;
            try
            {
                var directory = Path.Combine(settings.OutputRoot, ParentOf(path));
                var result = await new OutputDownloader(storage).DownloadAsync(record, directory, settings.Force, cancellationToken).ConfigureAwait(false);
                _written[path] = [.. result.Written.Select(p => Path.GetRelativePath(settings.OutputRoot, p).Replace(Path.DirectorySeparatorChar, '/'))];
                Interlocked.Add(ref _downloadedFiles, result.Written.Count);
                _downloaded[path] = 0;
            }
            catch (PipelineException e) when (!e.IsTransient)
            {
                _failures[path] = e;
            }
            finished = true;
        }
        else if (record is { State: JobState.Failed })
        {
            finished = true;
        }
        var changed = store.Read(s => s.Files.TryGetValue(path, out var entry) && entry.State != state);
        if (changed)
        {
            store.Update(s =>
            {
                var entry = s.Files[path];
                entry.State = state;
                entry.ErrorCode = record is { State: JobState.Failed } ? record.ErrorCode : null;
                entry.ErrorMessage = record is { State: JobState.Failed } ? record.ErrorMessage : null;
                entry.AppliedRegion = record?.RegionOutcome?.Applied;
                entry.Faces = record?.RegionOutcome?.Faces.Count;
            });
        }
        return new PollOutcome(changed, finished);
    }

    private static string ParentOf(string relativePath)
    {
        var slash = relativePath.LastIndexOf('/');
        return slash < 0 ? string.Empty : relativePath[..slash].Replace('/', Path.DirectorySeparatorChar);
    }

    private RunReport BuildReport(BatchSettings settings, BatchStateStore store, Dictionary<string, FileReport> local, TimeSpan elapsed)
    {
        var (state, entries) = store.Read(s => (s, s.Files.ToDictionary(
            f => f.Key, f => (f.Value.State, f.Value.ErrorCode, f.Value.ErrorMessage, f.Value.JobId, f.Value.AppliedRegion, f.Value.Faces), StringComparer.Ordinal)));
        var files = new List<FileReport>(local.Values);
        foreach (var (path, failure) in _failures)
        {
            files.RemoveAll(f => f.Input == path);
            files.Add(new FileReport(path, FileResults.Failed, failure.Code, failure.Message, _written.GetValueOrDefault(path), entries.GetValueOrDefault(path).JobId));
        }
        foreach (var (path, entry) in entries)
        {
            if (_failures.ContainsKey(path))
            {
                continue;
            }
            var written = _written.GetValueOrDefault(path) ?? [];
            FileReport fileReport;
            if (entry.State == JobStateNames.Failed)
            {
                fileReport = new FileReport(path, FileResults.Failed, entry.ErrorCode ?? PipelineErrorCode.Internal, entry.ErrorMessage ?? "The job failed.", JobId: entry.JobId);
            }
            else if (entry.State == JobStateNames.Succeeded && _downloaded.ContainsKey(path))
            {
                fileReport = new FileReport(path, FileResults.Done, Outputs: written, JobId: entry.JobId, AppliedRegion: entry.AppliedRegion, Faces: entry.Faces);
            }
            else
            {
                var why = settings.Wait ? entry.State ?? JobStateNames.Pending : "uploaded, not followed (--no-wait)";
                fileReport = new FileReport(path, FileResults.Incomplete, Reason: why, JobId: entry.JobId);
            }
            files.Add(fileReport);
        }
        files.Sort((a, b) => string.CompareOrdinal(a.Input, b.Input));
        var jobStates = entries.Values.Where(e => e.JobId is not null)
            .GroupBy(e => e.State ?? JobStateNames.Pending)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var figures = new BatchFigures(state.BatchId, state.Account, _uploaded, _adopted, _alreadyUploaded, _downloadedFiles, jobStates);
        var model = state.ModelName + (state.ModelVersion is null ? string.Empty : ":" + state.ModelVersion);
        var report = RunReport.Create("batch", settings.InputRoot, settings.OutputRoot, files, elapsed, model, state.Ages, figures, state.Region);
        if (!settings.Wait && report.ExitCode == ExitCodes.Incomplete)
        {
            report = report with { ExitCode = ExitCodes.Success };
        }
        return report;
    }
}
