using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using AgingPipeline.Contracts;
using AgingPipeline.Inference.Faces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgingPipeline.Inference;

/// <summary>Serves every valid model version under a root folder laid out as <c>{name}/{version}/model.json</c>.</summary>
/// <remarks>
/// <para>A scan validates each version folder (manifest fields, SHA-256 of the model file, graph signature, warm-up
/// run) and serves those that pass; anything else is logged with every reason and skipped, never served. The newest
/// valid version of a name is its default.</para>
/// <para>Scans repeat (see <see cref="ModelRepositoryService"/>), so a new version appears without a restart. A folder
/// is fingerprinted by the size and time stamp of its manifest and model file: an unchanged folder is not hashed or
/// loaded again, and a folder still being copied (manifest missing, hash not matching yet) is retried on each scan
/// until it validates. A version whose folder disappears or changes is taken out of service; its queued requests are
/// still run before its session is released.</para>
/// </remarks>
public sealed partial class ModelRepository : IAsyncDisposable
{
    private const string ManifestFileName = "model.json";

    private readonly InferenceOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _scanLock = new(1, 1);
    private readonly Dictionary<string, (string Fingerprint, IReadOnlyList<string> Problems, string? Kind)> _failures = new(StringComparer.Ordinal);
    private volatile Snapshot _snapshot = Snapshot.Empty;
    private bool _rootMissingLogged;
    private int _disposed;

    /// <summary>Creates a repository over <see cref="InferenceOptions.ResolveModelRoot"/>; call <see cref="ScanAsync"/>
    /// to load models.</summary>
    public ModelRepository(InferenceOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid inference options: " + string.Join(" ", errors), nameof(options));
        }
        _options = options;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<ModelRepository>();
        Root = options.ResolveModelRoot();
    }

    /// <summary>The absolute root folder scanned.</summary>
    public string Root { get; }

    /// <summary>The model served when a job names none.</summary>
    public string DefaultModelName => _options.DefaultModel;

    /// <summary>Every served version, ordered by name then version.</summary>
    public IReadOnlyList<ServedModel> Models => _snapshot.Models;

    /// <summary>Every folder of the last scan, served or not, with the reasons it is not (for an <c>aging models</c>
    /// listing or a status page).</summary>
    public IReadOnlyList<ModelEntry> Entries => _snapshot.Entries;

    /// <summary>When the last scan finished; null before the first.</summary>
    public DateTimeOffset? LastScan => _snapshot.ScannedAt;

    /// <summary>Raised after a scan that changed the served set.</summary>
    public event EventHandler? Changed;

    /// <summary>Finds a served version; <paramref name="version"/> null (or empty) means the newest.</summary>
    public bool TryGet(string name, string? version, [NotNullWhen(true)] out ServedModel? model)
    {
        ArgumentNullException.ThrowIfNull(name);
        var models = _snapshot.Models;
        model = string.IsNullOrEmpty(version)
            ? models.Where(m => m.Name == name).MaxBy(m => m.VersionNumber)
            : models.FirstOrDefault(m => m.Name == name && m.Version == version);
        return model is not null;
    }

    /// <summary>Finds a served version or throws.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.ModelNotFound"/>, saying what is served.</exception>
    public ServedModel Get(string? name, string? version = null)
    {
        name = string.IsNullOrEmpty(name) ? _options.DefaultModel : name;
        if (TryGet(name, version, out var model))
        {
            return model;
        }
        var served = Models.Where(m => m.Name == name).Select(m => m.Version).ToList();
        var what = string.IsNullOrEmpty(version) ? $"Model '{name}'" : $"Model '{name}' version {version}";
        var detail = served.Count > 0
            ? $"served versions: {string.Join(", ", served)}"
            : Models.Count > 0 ? $"served models: {string.Join(", ", Models.Select(m => m.Name).Distinct())}" : "no model is served";
        throw new PipelineException(PipelineErrorCode.ModelNotFound, $"{what} is not served ({detail}).");
    }

    /// <summary>True when the named model (default: <see cref="DefaultModelName"/>) has a loaded, warmed-up version.</summary>
    public bool IsReady(string? name = null) => TryGet(name ?? _options.DefaultModel, null, out _);

    /// <summary>Scans the root once: loads new and changed versions, retires removed ones.</summary>
    /// <remarks>Scans never run concurrently; loading happens outside any lock that requests take.</remarks>
    public async Task ScanAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _scanLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        List<ServedModel> retired;
        bool changed;
        try
        {
            (retired, changed) = await ScanCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _scanLock.Release();
        }
        foreach (var old in retired)
        {
            LogRetiring(_logger, old.Name, old.Version);
            await old.DisposeAsync().ConfigureAwait(false);
        }
        if (changed)
        {
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }

    /// <summary>Retires every served version (queued requests are still run).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _scanLock.WaitAsync().ConfigureAwait(false);
        var models = _snapshot.Models;
        _snapshot = Snapshot.Empty;
        _scanLock.Release();
        foreach (var model in models)
        {
            await model.DisposeAsync().ConfigureAwait(false);
        }
        _scanLock.Dispose();
    }

    private async Task<(List<ServedModel> Retired, bool Changed)> ScanCoreAsync(CancellationToken cancellationToken)
    {
        var previous = _snapshot;
        var byKey = previous.Models.ToDictionary(m => Key(m.Name, m.Version), StringComparer.Ordinal);
        var served = new List<ServedModel>();
        var entries = new List<ModelEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);

        if (!System.IO.Directory.Exists(Root))
        {
            if (!_rootMissingLogged)
            {
                LogRootMissing(_logger, Root);
                _rootMissingLogged = true;
            }
        }
        else
        {
            _rootMissingLogged = false;
            foreach (var nameDir in SortedSubdirectories(Root))
            {
                var name = Path.GetFileName(nameDir);
                if (name.StartsWith('.'))
                {
                    continue;
                }
                foreach (var versionDir in SortedSubdirectories(nameDir))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var version = Path.GetFileName(versionDir);
                    if (version.StartsWith('.'))
                    {
                        continue;
                    }
                    var key = Key(name, version);
                    seen.Add(key);
                    var fingerprint = Fingerprint(versionDir);
                    if (byKey.TryGetValue(key, out var current) && current.Fingerprint == fingerprint)
                    {
                        served.Add(current);
                        entries.Add(new ModelEntry(name, version, versionDir, current.Kind, true, current.ExecutionProvider, []));
                        continue;
                    }
                    if (_failures.TryGetValue(key, out var failure) && failure.Fingerprint == fingerprint)
                    {
                        entries.Add(new ModelEntry(name, version, versionDir, failure.Kind, false, null, failure.Problems));
                        continue;
                    }
                    var (model, problems, kind) = await Task.Run(() => TryLoad(name, version, versionDir, fingerprint), cancellationToken).ConfigureAwait(false);
                    if (model is not null)
                    {
                        _failures.Remove(key);
                        served.Add(model);
                        entries.Add(new ModelEntry(name, version, versionDir, model.Kind, true, model.ExecutionProvider, []));
                        LogServing(_logger, name, version, model.Kind, versionDir, model.ExecutionProvider);
                    }
                    else
                    {
                        _failures[key] = (fingerprint, problems, kind);
                        entries.Add(new ModelEntry(name, version, versionDir, kind, false, null, problems));
                        LogSkipping(_logger, versionDir, string.Join(" ", problems));
                    }
                }
            }
        }

        foreach (var gone in _failures.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            _failures.Remove(gone);
        }
        var kept = new HashSet<ServedModel>(served);
        var retired = previous.Models.Where(m => !kept.Contains(m)).ToList();
        served.Sort((a, b) => a.Name != b.Name ? string.CompareOrdinal(a.Name, b.Name) : a.VersionNumber.CompareTo(b.VersionNumber));
        var changed = retired.Count > 0 || served.Count != previous.Models.Count;
        _snapshot = new Snapshot(served, entries, DateTimeOffset.UtcNow);
        return (retired, changed);
    }

    private (ServedModel? Model, IReadOnlyList<string> Problems, string? Kind) TryLoad(string name, string version, string directory, string fingerprint)
    {
        var problems = new List<string>();
        if (!ModelManifestValidator.IsValidName(name))
        {
            problems.Add($"the folder name '{name}' is not a valid model name (lowercase letters, digits and '-').");
        }
        if (!ModelManifestValidator.IsValidVersion(version))
        {
            problems.Add($"the folder name '{version}' is not a valid version (a positive integer).");
        }
        var manifestPath = Path.Combine(directory, ManifestFileName);
        if (!File.Exists(manifestPath))
        {
            problems.Add($"{ManifestFileName} is missing.");
            return (null, problems, null);
        }
        ModelManifest manifest;
        try
        {
            manifest = ModelManifest.Parse(File.ReadAllText(manifestPath));
        }
        catch (JsonException e)
        {
            problems.Add($"{ManifestFileName} is not valid JSON for a manifest: {e.Message}");
            return (null, problems, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"{ManifestFileName} could not be read: {e.Message}");
            return (null, problems, null);
        }
        problems.AddRange(ModelManifestValidator.Validate(manifest, name, version));
        if (problems.Count > 0)
        {
            return (null, problems, manifest.Kind);
        }

        var logger = _loggerFactory.CreateLogger("AgingPipeline.Inference.Model." + name);
        AgerSession? ager = null;
        AgeEstimator? estimator = null;
        FaceDetector? detector = null;
        try
        {
            if (manifest.Kind == ModelKinds.FaceDetector)
            {
                detector = FaceDetector.Load(directory, manifest, _options, CreateBatcher, logger);
            }
            else if (manifest.Kind == ModelKinds.AgeTransform)
            {
                ager = AgerSession.Load(directory, manifest, _options, logger);
            }
            else
            {
                estimator = AgeEstimator.Load(directory, manifest, _options, logger);
            }
        }
        catch (PipelineException e) when (e.Code == PipelineErrorCode.InvalidModel)
        {
            problems.Add(e.Message);
            return (null, problems, manifest.Kind);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"the model file could not be read: {e.Message}");
            return (null, problems, manifest.Kind);
        }
        if (detector is not null)
        {
            return (new ServedModel(manifest, directory, null, null, detector.Networks[0].Batcher, fingerprint, detector), [], manifest.Kind);
        }
        IBatchModel model = (IBatchModel?)ager ?? estimator!;
        return (new ServedModel(manifest, directory, ager, estimator, CreateBatcher(model), fingerprint), [], manifest.Kind);
    }

    private DynamicBatcher CreateBatcher(IBatchModel model) => new(
        model,
        new DynamicBatcherOptions(model.MaxBatch, _options.MaxQueueDelay, _options.QueueCapacity),
        _loggerFactory.CreateLogger<DynamicBatcher>());

    private static string Fingerprint(string directory)
    {
        // Size and modification time of every file in the version folder: cheap, and any copy in progress changes it.
        var parts = new List<string>();
        try
        {
            foreach (var file in new DirectoryInfo(directory).EnumerateFiles().OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"{file.Name}:{file.Length}:{file.LastWriteTimeUtc.Ticks}"));
            }
        }
        catch (IOException e)
        {
            parts.Add("unreadable:" + e.Message);
        }
        catch (UnauthorizedAccessException e)
        {
            parts.Add("unreadable:" + e.Message);
        }
        return string.Join('|', parts);
    }

    private static List<string> SortedSubdirectories(string directory)
    {
        try
        {
            return System.IO.Directory.GetDirectories(directory).OrderBy(d => d, StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static string Key(string name, string version) => name + "/" + version;

    private sealed record Snapshot(IReadOnlyList<ServedModel> Models, IReadOnlyList<ModelEntry> Entries, DateTimeOffset? ScannedAt)
    {
        public static Snapshot Empty { get; } = new([], [], null);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retiring model {Model}/{Version}.")]
    private static partial void LogRetiring(ILogger logger, string model, string version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The model repository {Root} does not exist; no model is served.")]
    private static partial void LogRootMissing(ILogger logger, string root);

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving model {Model}/{Version} ({Kind}) from {Directory} on {Provider}.")]
    private static partial void LogServing(ILogger logger, string model, string version, string kind, string directory, string provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipping model folder {Directory}: {Problems}")]
    private static partial void LogSkipping(ILogger logger, string directory, string problems);
}
