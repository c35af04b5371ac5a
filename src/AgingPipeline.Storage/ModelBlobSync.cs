using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgingPipeline.Contracts;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

namespace AgingPipeline.Storage;

/// <summary>What one <see cref="ModelBlobSync.SyncAsync"/> did, by <c>{name}/{version}</c>.</summary>
/// <param name="Downloaded">Versions downloaded (new, or changed in the container).</param>
/// <param name="Removed">Synced versions deleted because they left the container.</param>
/// <param name="Pending">Versions not (yet) usable, with the reason: no manifest yet, a model file missing or still
/// uploading (hash mismatch), too large, unreadable manifest.</param>
public sealed record ModelSyncResult(IReadOnlyList<string> Downloaded, IReadOnlyList<string> Removed, IReadOnlyList<string> Pending)
{
    /// <summary>True when the local model root changed.</summary>
    public bool Changed => Downloaded.Count > 0 || Removed.Count > 0;
}

/// <summary>Mirrors the model repository of the <c>models</c> container (<c>{name}/{version}/model.onnx</c> +
/// <c>model.json</c>) into a local model root laid out the same way, so that the runner's model repository serves a
/// newly published version at its next scan, without a restart.</summary>
/// <remarks>
/// <para>A version is taken only when it is complete and consistent: its <c>model.json</c> is present, every model file
/// it names is present, and each file's SHA-256 equals the one the manifest gives for it. A manifest names its files in
/// one of two shapes: a top-level <c>file</c> (default <c>model.onnx</c>) with <c>sha256</c> (age transforms, age
/// estimators), or a <c>networks</c> array whose entries each have their own <c>file</c> and <c>sha256</c> (a face
/// detector ships several ONNX graphs in one version). Uploads (for example <c>az storage blob upload-batch</c>) write
/// files in any order; a version caught half-uploaded fails one of these checks and is taken at a later pass.</para>
/// <para>Each version is downloaded into a temporary folder under <c>{root}/.sync/</c> (same file system, skipped by
/// the model repository because of the dot), verified, completed with <c>model.json</c> written last, then renamed into
/// <c>{root}/{name}/{version}</c>: the repository never sees a partial folder. Downloads are pinned to the ETags of the
/// listing (<c>If-Match</c>), so the files of one version all come from the same upload.</para>
/// <para>A record per synced version (<c>{root}/.sync/records/</c>) keeps the ETags it was made from: an unchanged
/// version costs nothing but the listing, a re-published one is downloaded again and swapped in. A version that is
/// already on disk without a record (shipped in the image) is adopted when its manifest's hashes equal the container's
/// (<see cref="SyncManifest.Identity"/>), and is never deleted by the sync.</para>
/// <para>Storage only: this class knows the folder layout and the manifest fields it verifies (<c>file</c>,
/// <c>sha256</c>, <c>networks[].file</c>, <c>networks[].sha256</c>), reading them from the JSON itself rather than
/// through AgingPipeline.Inference's manifest types: Storage references Contracts only, and Inference stays free of the
/// Azure SDK. Everything else in the manifest is the model repository's to validate when it loads the version.</para>
/// </remarks>
public sealed partial class ModelBlobSync : IDisposable
{
    private const string ManifestFileName = "model.json";
    private const string DefaultModelFileName = "model.onnx";

    private readonly BlobContainerClient _container;
    private readonly ModelSyncOptions _options;
    private readonly ResiliencePipeline _pipeline;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, string> _rejected = new(StringComparer.Ordinal);

    /// <summary>Creates the sync.</summary>
    /// <param name="container">The <c>models</c> container.</param>
    /// <param name="localRoot">The local model root (the model repository's root).</param>
    /// <param name="options">Sync settings.</param>
    /// <param name="pipeline">The storage resilience pipeline.</param>
    /// <param name="logger">Logs downloads, removals and refused versions.</param>
    public ModelBlobSync(BlobContainerClient container, string localRoot, ModelSyncOptions options, ResiliencePipeline pipeline, ILogger<ModelBlobSync>? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(localRoot);
        _container = container ?? throw new ArgumentNullException(nameof(container));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _pipeline = pipeline ?? throw new ArgumentNullException(nameof(pipeline));
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Root = Path.GetFullPath(localRoot);
    }

    /// <summary>The local model root.</summary>
    public string Root { get; }

    private string WorkFolder => Path.Combine(Root, ModelSyncOptions.WorkFolderName);

    private string RecordsFolder => Path.Combine(WorkFolder, "records");

    /// <summary>Compares the container with the local root once and brings the root up to date.</summary>
    /// <param name="cancellationToken">Cancels the pass; a version being downloaded is left out, never half-placed.</param>
    /// <returns>What changed.</returns>
    /// <exception cref="PipelineException">StorageUnavailable when the container cannot be listed.</exception>
    public async Task<ModelSyncResult> SyncAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await SyncCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _gate.Dispose();

    private async Task<ModelSyncResult> SyncCoreAsync(CancellationToken cancellationToken)
    {
        var remote = await ListAsync(cancellationToken).ConfigureAwait(false);
        Directory.CreateDirectory(RecordsFolder);
        DeleteLeftovers();

        var downloaded = new List<string>();
        var removed = new List<string>();
        var pending = new List<string>();
        foreach (var version in remote.Values.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var problem = await SyncVersionAsync(version, cancellationToken).ConfigureAwait(false);
            if (problem is null)
            {
                continue;
            }
            if (problem.Length == 0)
            {
                downloaded.Add(version.Key);
            }
            else
            {
                pending.Add($"{version.Key}: {problem}");
            }
        }

        if (_options.DeleteRemoved)
        {
            foreach (var (key, record, path) in ReadRecords())
            {
                if (remote.ContainsKey(key) || !record.Downloaded)
                {
                    continue;
                }
                var (name, version) = SplitKey(key);
                var target = Path.Combine(Root, name, version);
                if (Directory.Exists(target))
                {
                    Directory.Delete(target, recursive: true);
                }
                File.Delete(path);
                removed.Add(key);
                LogRemoved(_logger, name, version);
            }
        }
        return new ModelSyncResult(downloaded, removed, pending);
    }

    /// <summary>Brings one version up to date. Returns null when nothing was needed, "" when it was downloaded, or
    /// the reason it is not usable yet.</summary>
    private async Task<string?> SyncVersionAsync(RemoteVersion version, CancellationToken cancellationToken)
    {
        if (!version.Files.TryGetValue(ManifestFileName, out var manifestBlob))
        {
            return $"no {ManifestFileName} yet.";
        }
        var fingerprint = version.Fingerprint;
        var target = Path.Combine(Root, version.Name, version.Version);
        var record = ReadRecord(version.Key);
        if (record is not null && record.Fingerprint == fingerprint && Directory.Exists(target))
        {
            return null;
        }
        if (_rejected.TryGetValue(version.Key, out var rejectedFingerprint) && rejectedFingerprint == fingerprint)
        {
            return "refused earlier; waiting for a new upload.";
        }
        var totalBytes = version.Files.Values.Sum(f => f.Length);
        if (totalBytes > _options.MaxVersionBytes)
        {
            return Reject(version, $"{totalBytes} bytes, more than {_options.MaxVersionBytes} ({ModelSyncOptions.SectionName}:{nameof(ModelSyncOptions.MaxVersionBytes)}).");
        }

        var manifestBytes = await DownloadBytesAsync(version, manifestBlob, cancellationToken).ConfigureAwait(false);
        if (manifestBytes is null)
        {
            return $"{ManifestFileName} changed while it was read; retrying at the next pass.";
        }
        if (!TryReadManifest(manifestBytes, out var manifest, out var manifestProblem))
        {
            return Reject(version, manifestProblem);
        }
        if (manifest.Files.FirstOrDefault(f => !version.Files.ContainsKey(f.Name)) is { } missing)
        {
            return $"the model file {missing.Name} is not uploaded yet.";
        }

        if (record is null && Directory.Exists(target))
        {
            // Shipped in the image (or copied by hand): keep it when it is the same model.
            if (LocalManifestIdentity(target) is { } localIdentity && string.Equals(localIdentity, manifest.Identity, StringComparison.OrdinalIgnoreCase))
            {
                WriteRecord(version.Key, new SyncRecord(fingerprint, Downloaded: false, DateTimeOffset.UtcNow));
                LogAdopted(_logger, version.Name, version.Version);
                return null;
            }
        }

        var temp = Path.Combine(WorkFolder, $"tmp-{version.Name}-{version.Version}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            foreach (var file in version.Files.Values.Where(f => f.Name != ManifestFileName))
            {
                if (!await DownloadFileAsync(version, file, Path.Combine(temp, file.Name), cancellationToken).ConfigureAwait(false))
                {
                    return $"{file.Name} changed while it was downloaded; retrying at the next pass.";
                }
            }
            foreach (var expected in manifest.Files)
            {
                var actual = await HashFileAsync(Path.Combine(temp, expected.Name), cancellationToken).ConfigureAwait(false);
                if (!string.Equals(actual, expected.Sha256, StringComparison.OrdinalIgnoreCase))
                {
                    return Reject(version, $"the SHA-256 of {expected.Name} is {actual}, the manifest says {expected.Sha256} (an upload in progress, or the wrong file).");
                }
            }
            // The manifest last: a folder with model.json is a complete folder.
            await File.WriteAllBytesAsync(Path.Combine(temp, ManifestFileName), manifestBytes, cancellationToken).ConfigureAwait(false);
            PlaceVersion(temp, target);
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
        WriteRecord(version.Key, new SyncRecord(fingerprint, Downloaded: true, DateTimeOffset.UtcNow));
        _rejected.Remove(version.Key);
        LogDownloaded(_logger, version.Name, version.Version, totalBytes, target);
        return string.Empty;
    }

    /// <summary>Renames a verified folder into place; an existing version is swapped out first.</summary>
    private void PlaceVersion(string temp, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        if (!Directory.Exists(target))
        {
            Directory.Move(temp, target);
            return;
        }
        var old = Path.Combine(WorkFolder, $"old-{Guid.NewGuid():N}");
        Directory.Move(target, old);
        Directory.Move(temp, target);
        Directory.Delete(old, recursive: true);
    }

    private string Reject(RemoteVersion version, string reason)
    {
        _rejected[version.Key] = version.Fingerprint;
        LogNotTaken(_logger, version.Name, version.Version, reason);
        return reason;
    }

    private async Task<Dictionary<string, RemoteVersion>> ListAsync(CancellationToken cancellationToken)
    {
        var blobs = await _pipeline.ExecuteStorageAsync(
            static async (container, ct) =>
            {
                var items = new List<BlobItem>();
                await foreach (var item in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix: null, ct).ConfigureAwait(false))
                {
                    items.Add(item);
                }
                return items;
            },
            _container,
            $"list the {_container.Name} container",
            cancellationToken).ConfigureAwait(false);

        var versions = new Dictionary<string, RemoteVersion>(StringComparer.Ordinal);
        foreach (var blob in blobs)
        {
            var parts = blob.Name.Split('/');
            if (parts.Length != 3 || !IsValidName(parts[0]) || !IsValidVersion(parts[1]) || !IsValidFileName(parts[2]))
            {
                continue; // not {name}/{version}/{file}: READMEs, nested folders, foreign files
            }
            var key = parts[0] + "/" + parts[1];
            if (!versions.TryGetValue(key, out var version))
            {
                version = new RemoteVersion(parts[0], parts[1]);
                versions.Add(key, version);
            }
            version.Files[parts[2]] = new RemoteFile(blob.Name, parts[2], blob.Properties.ETag ?? default, blob.Properties.ContentLength ?? 0);
        }
        return versions;
    }

    private async Task<byte[]?> DownloadBytesAsync(RemoteVersion version, RemoteFile file, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(file.BlobName);
        return await _pipeline.ExecuteStorageAsync(
            static async (s, ct) =>
            {
                try
                {
                    var options = new BlobDownloadOptions { Conditions = new BlobRequestConditions { IfMatch = s.file.ETag } };
                    return (await s.blob.DownloadContentAsync(options, ct).ConfigureAwait(false)).Value.Content.ToArray();
                }
                catch (RequestFailedException ex) when (ex.Status is 404 or 412)
                {
                    return null;
                }
            },
            (blob, file),
            $"download {file.BlobName} of model {version.Key}",
            cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> DownloadFileAsync(RemoteVersion version, RemoteFile file, string path, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(file.BlobName);
        return await _pipeline.ExecuteStorageAsync(
            static async (s, ct) =>
            {
                try
                {
                    await using var output = new FileStream(s.path, FileMode.Create, FileAccess.Write, FileShare.None, 81920, useAsync: true);
                    var options = new BlobDownloadToOptions { Conditions = new BlobRequestConditions { IfMatch = s.file.ETag } };
                    await s.blob.DownloadToAsync(output, options, ct).ConfigureAwait(false);
                    await output.FlushAsync(ct).ConfigureAwait(false);
                    return true;
                }
                catch (RequestFailedException ex) when (ex.Status is 404 or 412)
                {
                    return false;
                }
            },
            (blob, file, path),
            $"download {file.BlobName} of model {version.Key}",
            cancellationToken).ConfigureAwait(false);
    }

    private static async Task<string> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true);
        var hash = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>Reads the manifest fields the sync verifies: the model files of the version and their SHA-256s.</summary>
    /// <remarks>Two shapes: a top-level <c>file</c> (default <c>model.onnx</c>) and <c>sha256</c>, or a
    /// <c>networks</c> array with a <c>file</c> and <c>sha256</c> per entry (face detectors). A manifest with both, or
    /// with a network the sync could not verify, is refused rather than half-checked: a file without a hash would be
    /// placed unverified. Only what the sync needs is checked here; the model repository validates the rest at load.</remarks>
    internal static bool TryReadManifest(byte[] json, [NotNullWhen(true)] out SyncManifest? manifest, out string problem)
    {
        manifest = null;
        problem = string.Empty;
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = $"{ManifestFileName} is not a JSON object.";
                return false;
            }
            if (root.TryGetProperty("networks", out var networks) && networks.ValueKind != JsonValueKind.Null)
            {
                return TryReadNetworks(root, networks, out manifest, out problem);
            }
            var modelFile = DefaultModelFileName;
            if (root.TryGetProperty("file", out var file))
            {
                if (!IsModelFileName(file))
                {
                    problem = $"{ManifestFileName} names an invalid model file.";
                    return false;
                }
                modelFile = file.GetString()!;
            }
            if (!root.TryGetProperty("sha256", out var hash) || !IsSha256(hash))
            {
                problem = $"{ManifestFileName} has no sha256 of 64 hexadecimal digits; a model is only taken when its hash can be verified.";
                return false;
            }
            var sha256 = hash.GetString()!;
            manifest = new SyncManifest([new SyncManifestFile(modelFile, sha256)], sha256.ToLowerInvariant());
            return true;
        }
        catch (JsonException e)
        {
            problem = $"{ManifestFileName} is not valid JSON: {e.Message}";
            return false;
        }
    }

    private static bool TryReadNetworks(JsonElement root, JsonElement networks, [NotNullWhen(true)] out SyncManifest? manifest, out string problem)
    {
        manifest = null;
        if (root.TryGetProperty("file", out _) || root.TryGetProperty("sha256", out _))
        {
            problem = $"{ManifestFileName} has both a top-level file or sha256 and networks; a version names its model files in one of the two.";
            return false;
        }
        if (networks.ValueKind != JsonValueKind.Array || networks.GetArrayLength() == 0)
        {
            problem = $"{ManifestFileName} has networks that is not a non-empty array; a model is only taken when its files can be verified.";
            return false;
        }
        var files = new List<SyncManifestFile>();
        var index = 0;
        foreach (var network in networks.EnumerateArray())
        {
            var at = $"networks[{index++}]";
            if (network.ValueKind != JsonValueKind.Object)
            {
                problem = $"{ManifestFileName} {at} is not a JSON object.";
                return false;
            }
            if (!network.TryGetProperty("file", out var file) || !IsModelFileName(file))
            {
                problem = $"{ManifestFileName} {at} names no valid model file.";
                return false;
            }
            var name = file.GetString()!;
            if (files.Any(f => f.Name == name))
            {
                problem = $"{ManifestFileName} {at} names {name}, which an earlier network names too.";
                return false;
            }
            if (!network.TryGetProperty("sha256", out var hash) || !IsSha256(hash))
            {
                problem = $"{ManifestFileName} {at} has no sha256 of 64 hexadecimal digits; a model is only taken when its hash can be verified.";
                return false;
            }
            files.Add(new SyncManifestFile(name, hash.GetString()!));
        }
        problem = string.Empty;
        manifest = new SyncManifest(files, string.Join(',', files.Select(f => f.Sha256.ToLowerInvariant())));
        return true;
    }

    private static bool IsModelFileName(JsonElement file) =>
        file.ValueKind == JsonValueKind.String && IsValidFileName(file.GetString()!) && file.GetString() != ManifestFileName;

    private static bool IsSha256(JsonElement hash) =>
        hash.ValueKind == JsonValueKind.String && hash.GetString() is { Length: 64 } hex && hex.All(char.IsAsciiHexDigit);

    private static string? LocalManifestIdentity(string directory)
    {
        try
        {
            var bytes = File.ReadAllBytes(Path.Combine(directory, ManifestFileName));
            return TryReadManifest(bytes, out var manifest, out _) ? manifest.Identity : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private void DeleteLeftovers()
    {
        // Temporary folders of a pass that was killed (scale-in, crash) are garbage.
        foreach (var directory in Directory.EnumerateDirectories(WorkFolder))
        {
            var name = Path.GetFileName(directory);
            if (name.StartsWith("tmp-", StringComparison.Ordinal) || name.StartsWith("old-", StringComparison.Ordinal))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private string RecordPath(string key)
    {
        var (name, version) = SplitKey(key);
        return Path.Combine(RecordsFolder, $"{name}@{version}.json");
    }

    private SyncRecord? ReadRecord(string key)
    {
        var path = RecordPath(key);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), ModelSyncJsonContext.Default.SyncRecord);
        }
        catch (JsonException)
        {
            return null; // a damaged record only costs one more download
        }
    }

    private void WriteRecord(string key, SyncRecord record)
    {
        var path = RecordPath(key);
        var temp = path + ".tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(record, ModelSyncJsonContext.Default.SyncRecord));
        File.Move(temp, path, overwrite: true);
    }

    private IEnumerable<(string Key, SyncRecord Record, string Path)> ReadRecords()
    {
        foreach (var path in Directory.EnumerateFiles(RecordsFolder, "*.json").ToList())
        {
            var name = Path.GetFileNameWithoutExtension(path);
            var at = name.LastIndexOf('@');
            if (at <= 0)
            {
                continue;
            }
            var key = name[..at] + "/" + name[(at + 1)..];
            if (ReadRecord(key) is { } record)
            {
                yield return (key, record, path);
            }
        }
    }

    private static (string Name, string Version) SplitKey(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return (key[..slash], key[(slash + 1)..]);
    }

    private static bool IsValidName(string name) => UploadMetadata.IsValidModelName(name);

    private static bool IsValidVersion(string version) => UploadMetadata.IsValidModelVersion(version);

    private static bool IsValidFileName(string name) =>
        name.Length is > 0 and <= 128 && name[0] != '.' && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private sealed record RemoteFile(string BlobName, string Name, ETag ETag, long Length);

    private sealed class RemoteVersion(string name, string version)
    {
        public string Name { get; } = name;

        public string Version { get; } = version;

        public string Key => Name + "/" + Version;

        public Dictionary<string, RemoteFile> Files { get; } = new(StringComparer.Ordinal);

        /// <summary>The ETags of every file: any re-upload changes it.</summary>
        public string Fingerprint => string.Join('|', Files.Values.OrderBy(f => f.Name, StringComparer.Ordinal).Select(f => $"{f.Name}:{f.ETag}"));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model}/{Version} in the models container is the one already on disk; adopted it.")]
    private static partial void LogAdopted(ILogger logger, string model, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Downloaded model {Model}/{Version} ({Bytes} bytes, SHA-256 verified) into {Directory}.")]
    private static partial void LogDownloaded(ILogger logger, string model, string version, long bytes, string directory);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Model}/{Version} in the models container is not taken: {Reason}")]
    private static partial void LogNotTaken(ILogger logger, string model, string version, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model}/{Version} was removed from the models container; deleted its local copy.")]
    private static partial void LogRemoved(ILogger logger, string model, string version);
}

/// <summary>What the sync reads of a manifest (<see cref="ModelBlobSync.TryReadManifest"/>).</summary>
/// <param name="Files">The model files the version needs, in manifest order, each with its expected SHA-256: one for
/// a top-level <c>file</c>, one per entry of <c>networks</c>.</param>
/// <param name="Identity">What makes two copies of a version the same model: the <c>sha256</c>, or the networks'
/// <c>sha256</c>s in order joined by commas, lowercase.</param>
/// <remarks>The identity is what the adopt-if-same check compares between a version already on disk and the
/// container's; it is built from hashes only, so it stays the top-level <c>sha256</c> for the single-file kinds, as
/// before, and a face detector is the same model only when every network, in the same order, is.</remarks>
internal sealed record SyncManifest(IReadOnlyList<SyncManifestFile> Files, string Identity);

/// <summary>One model file of a version and its expected SHA-256 (hexadecimal, as the manifest writes it).</summary>
internal sealed record SyncManifestFile(string Name, string Sha256);

/// <summary>What the sync remembers about one local version.</summary>
/// <param name="Fingerprint">The ETags of the container's files it was made from.</param>
/// <param name="Downloaded">True when the sync downloaded it (and may delete it); false when it adopted a copy that was
/// already on disk.</param>
/// <param name="SyncedAt">When.</param>
internal sealed record SyncRecord(string Fingerprint, bool Downloaded, DateTimeOffset SyncedAt);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(SyncRecord))]
internal sealed partial class ModelSyncJsonContext : JsonSerializerContext
{
}
