using System.Diagnostics;
using System.Text.Json;
using AgingPipeline.Cli.Infrastructure;
using AgingPipeline.Contracts;

namespace AgingPipeline.Cli.Batch;

/// <summary>The record of one local file of a batch.</summary>
internal sealed class BatchFileEntry
{
    /// <summary>Size in bytes when uploaded.</summary>
    public long Size { get; set; }

    /// <summary>SHA-256 of the content (hex), which identifies the file together with its path and size.</summary>
    public string Sha256 { get; set; } = string.Empty;

    /// <summary>Blob name in <c>uploads</c>.</summary>
    public string Blob { get; set; } = string.Empty;

    /// <summary>ETag of the uploaded blob; with the name it gives the job id.</summary>
    public string? ETag { get; set; }

    /// <summary>The pipeline job (<see cref="JobIds.FromBlob"/>).</summary>
    public string? JobId { get; set; }

    /// <summary>When the upload was confirmed.</summary>
    public DateTimeOffset? UploadedAt { get; set; }

    /// <summary>The job's state when last seen: pending (no record yet), queued, processing, succeeded or failed.</summary>
    public string? State { get; set; }

    /// <summary>The failure code of a failed job.</summary>
    public PipelineErrorCode? ErrorCode { get; set; }

    /// <summary>The failure reason of a failed job.</summary>
    public string? ErrorMessage { get; set; }

    /// <summary>What a succeeded job aged: <c>faces</c> or <c>whole-frame</c>.</summary>
    public string? AppliedRegion { get; set; }

    /// <summary>How many faces a succeeded job aged.</summary>
    public int? Faces { get; set; }
}

/// <summary>The state file of a batch run (<c>.aging-batch.json</c> in the output folder).</summary>
/// <remarks>It maps each local file (relative path + size + SHA-256) to the blob it was uploaded as, and remembers
/// the batch id and options, so that a run interrupted by Ctrl-C or a crash resumes where it stopped: a re-run uploads
/// only files it has no record of (and first checks storage for an identical blob that an interrupted run uploaded
/// without recording it), follows only unfinished jobs and downloads only outputs that are not on disk.</remarks>
internal sealed class BatchState
{
    /// <summary>The file name, hidden so that it is never taken for an input.</summary>
    public const string FileName = ".aging-batch.json";

    /// <summary>The schema this build reads and writes.</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>The schema of this file.</summary>
    public int SchemaVersion { get; set; } = CurrentSchemaVersion;

    /// <summary>The batch id (blob prefix in <c>uploads</c>, batch markers).</summary>
    public string BatchId { get; set; } = string.Empty;

    /// <summary>Blob endpoint of the account (no secrets).</summary>
    public string Account { get; set; } = string.Empty;

    /// <summary>The local folder the batch was made from.</summary>
    public string InputRoot { get; set; } = string.Empty;

    /// <summary>Target ages, written into every upload's metadata.</summary>
    public List<int> Ages { get; set; } = [];

    /// <summary>Model name, written into every upload's metadata.</summary>
    public string ModelName { get; set; } = string.Empty;

    /// <summary>Model version, or null for the newest.</summary>
    public string? ModelVersion { get; set; }

    /// <summary>Region, written into every upload's metadata; state files written before regions existed read as
    /// <see cref="AgingRegion.Auto"/>, which is what their uploads were given.</summary>
    public AgingRegion Region { get; set; }

    /// <summary>When the batch was started.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Local files by relative path ('/' separators).</summary>
    public Dictionary<string, BatchFileEntry> Files { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Loads, guards and saves a <see cref="BatchState"/>.</summary>
/// <remarks>Uploads, polls and downloads update the state from several threads; every access takes one lock. Saving
/// rewrites the whole file through a temporary file and a rename, at most once a second while work goes on
/// (<see cref="SaveIfDue"/>) and always at the end (<see cref="Save"/>): a crash loses at most the last second of
/// records, which the re-run recovers by finding those blobs in storage.</remarks>
internal sealed class BatchStateStore
{
    private static readonly TimeSpan s_saveInterval = TimeSpan.FromSeconds(1);

    private readonly object _gate = new();
    private readonly string _path;
    private readonly BatchState _state;
    private long _lastSave;
    private bool _dirty;

    private BatchStateStore(string path, BatchState state)
    {
        _path = path;
        _state = state;
        _lastSave = Stopwatch.GetTimestamp();
    }

    /// <summary>The file's path.</summary>
    public string Path => _path;

    /// <summary>Loads the state of <paramref name="outputRoot"/>, or null when there is none.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidRequest"/> when the file is unreadable.</exception>
    public static BatchStateStore? TryLoad(string outputRoot)
    {
        var path = System.IO.Path.Combine(outputRoot, BatchState.FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        BatchState? state;
        try
        {
            state = JsonSerializer.Deserialize(File.ReadAllBytes(path), CliJsonContext.Default.BatchState);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"The batch state file {path} cannot be read ({e.Message}); delete it to start a new batch in that folder.", e);
        }
        if (state is null || state.SchemaVersion != BatchState.CurrentSchemaVersion || !JobIds.IsWellFormed(state.BatchId))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"The batch state file {path} is not one this version understands; delete it to start a new batch in that folder.");
        }
        state.Files = new Dictionary<string, BatchFileEntry>(state.Files, StringComparer.Ordinal);
        return new BatchStateStore(path, state);
    }

    /// <summary>A new state for <paramref name="outputRoot"/> (written on the first save).</summary>
    public static BatchStateStore Create(string outputRoot, BatchState state) =>
        new(System.IO.Path.Combine(outputRoot, BatchState.FileName), state);

    /// <summary>Reads from the state under the lock.</summary>
    public T Read<T>(Func<BatchState, T> read)
    {
        lock (_gate)
        {
            return read(_state);
        }
    }

    /// <summary>Changes the state under the lock, then saves if a save is due.</summary>
    public void Update(Action<BatchState> mutate)
    {
        lock (_gate)
        {
            mutate(_state);
            _dirty = true;
        }
        SaveIfDue();
    }

    /// <summary>Saves when changed and the last save is more than a second old.</summary>
    public void SaveIfDue()
    {
        lock (_gate)
        {
            if (_dirty && Stopwatch.GetElapsedTime(_lastSave) >= s_saveInterval)
            {
                SaveLocked();
            }
        }
    }

    /// <summary>Saves now.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidRequest"/> when the file cannot be written.</exception>
    public void Save()
    {
        lock (_gate)
        {
            SaveLocked();
        }
    }

    private void SaveLocked()
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(_state, CliJsonContext.Default.BatchState);
        var temporary = _path + ".tmp";
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(_path)!);
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, _path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"The batch state file {_path} could not be written ({e.Message}); check that the output folder is writable.", e);
        }
        _dirty = false;
        _lastSave = Stopwatch.GetTimestamp();
    }
}
