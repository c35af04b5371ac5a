using System.Text.Json.Nodes;
using AgingPipeline.Inference;
using AgingPipeline.IntegrationTests.Infrastructure;
using AgingPipeline.Runner;
using AgingPipeline.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;

namespace AgingPipeline.InfraTests;

/// <summary>Model deployment without a restart, on a real Azurite: a version published to the <c>models</c> container
/// is downloaded (verified, placed atomically) and served by a running <see cref="ModelRepository"/>.</summary>
public sealed class ModelSyncTests : IAsyncLifetime
{
    private const string Model = "test-ager";
    private const string Detector = "face-detector";
    private const string FullRange = "face_detection_full_range.onnx";
    private const string ShortRange = "face_detection_short_range.onnx";
    private static readonly string s_fixture = Path.Combine(RepoPaths.Root, "tests", "fixtures", "models", Model, "1");
    private static readonly string s_shippedDetector = Path.Combine(RepoPaths.Root, "models", Detector, "1");

    private readonly string _root = Path.Combine(Path.GetTempPath(), "aging-model-sync-" + Guid.NewGuid().ToString("N"));
    private AzuriteInstance? _azurite;
    private StorageClients? _clients;
    private ModelRepository? _repository;

    private BlobContainerClient Models => _clients!.Models;

    private ModelRepository Repository => _repository!;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteInstance.StartAsync();
        _clients = _azurite.CreateClients();
        await _clients.EnsureCreatedAsync();
        // The runner's image ships version 1.
        CopyDirectory(s_fixture, Path.Combine(_root, Model, "1"));
        _repository = new ModelRepository(new InferenceOptions { ModelRoot = _root, DefaultModel = Model, RescanInterval = TimeSpan.Zero });
        await _repository.ScanAsync();
    }

    public async Task DisposeAsync()
    {
        if (_repository is not null)
        {
            await _repository.DisposeAsync();
        }
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task A_version_uploaded_to_the_container_is_served_by_the_running_repository()
    {
        Assert.Equal("1", Repository.Get(Model).Version);
        Assert.False(Repository.TryGet(Model, "2", out _));

        await PublishAsync(version: "2");
        var service = Service();
        await service.RunOnceAsync(CancellationToken.None);

        Assert.True(Repository.TryGet(Model, "2", out var served));
        Assert.Equal("2", Repository.Get(Model).Version); // the newest version is the default
        Assert.Equal("CPU", served.ExecutionProvider);
        var output = await served.Batcher.InferAsync(new float[served.Ager!.ImageLength], served.Ager.EncodeConditions(60, null));
        Assert.Equal(served.Ager.ImageLength, output.Length);
        Assert.True(Repository.TryGet(Model, "1", out _));

        // What landed is the published file, byte for byte, and nothing half-done is left behind.
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(s_fixture, "model.onnx")),
            await File.ReadAllBytesAsync(Path.Combine(_root, Model, "2", "model.onnx")));
        Assert.Equal("2", JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(_root, Model, "2", "model.json")))!["version"]!.GetValue<string>());
        Assert.Empty(Directory.GetDirectories(Path.Combine(_root, ModelSyncOptions.WorkFolderName), "tmp-*"));
    }

    [Fact]
    public async Task An_unchanged_container_downloads_nothing()
    {
        await PublishAsync(version: "2");
        using var sync = Sync();
        Assert.Equal([$"{Model}/2"], (await sync.SyncAsync()).Downloaded);
        var placed = Directory.GetLastWriteTimeUtc(Path.Combine(_root, Model, "2", "model.onnx"));

        var again = await sync.SyncAsync();

        Assert.False(again.Changed);
        Assert.Equal(placed, Directory.GetLastWriteTimeUtc(Path.Combine(_root, Model, "2", "model.onnx")));
    }

    [Fact]
    public async Task A_half_uploaded_version_waits_until_its_model_file_arrives()
    {
        await PublishAsync(version: "3", modelFile: false);
        using var sync = Sync();

        var first = await sync.SyncAsync();

        Assert.Empty(first.Downloaded);
        Assert.Contains(first.Pending, p => p.StartsWith($"{Model}/3:", StringComparison.Ordinal) && p.Contains("not uploaded yet", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(_root, Model, "3")));

        await Models.UploadBlobAsync($"{Model}/3/model.onnx", BinaryData.FromBytes(await File.ReadAllBytesAsync(Path.Combine(s_fixture, "model.onnx"))));
        var second = await sync.SyncAsync();

        Assert.Equal([$"{Model}/3"], second.Downloaded);
        await Repository.ScanAsync();
        Assert.True(Repository.TryGet(Model, "3", out _));
    }

    [Fact]
    public async Task A_model_file_that_does_not_match_the_manifest_hash_is_never_placed()
    {
        await PublishAsync(version: "4", modelFile: false);
        var corrupt = await File.ReadAllBytesAsync(Path.Combine(s_fixture, "model.onnx"));
        corrupt[^1] ^= 0xFF;
        await Models.UploadBlobAsync($"{Model}/4/model.onnx", BinaryData.FromBytes(corrupt));
        using var sync = Sync();

        var first = await sync.SyncAsync();
        var second = await sync.SyncAsync();

        Assert.Empty(first.Downloaded);
        Assert.Contains(first.Pending, p => p.Contains("SHA-256", StringComparison.Ordinal));
        Assert.Contains(second.Pending, p => p.Contains("refused earlier", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(_root, Model, "4")));
        Assert.Empty(Directory.GetDirectories(Path.Combine(_root, ModelSyncOptions.WorkFolderName), "tmp-*"));
    }

    [Fact]
    public async Task A_version_removed_from_the_container_is_retired_but_the_shipped_one_stays()
    {
        await PublishAsync(version: "1"); // the same model the image ships: adopted, not downloaded
        await PublishAsync(version: "2");
        var service = Service();
        await service.RunOnceAsync(CancellationToken.None);
        Assert.True(Repository.TryGet(Model, "2", out _));

        await foreach (var blob in Models.GetBlobsAsync(BlobTraits.None, BlobStates.None, $"{Model}/", CancellationToken.None))
        {
            await Models.DeleteBlobAsync(blob.Name);
        }
        await service.RunOnceAsync(CancellationToken.None);

        Assert.False(Directory.Exists(Path.Combine(_root, Model, "2")));
        Assert.False(Repository.TryGet(Model, "2", out _));
        Assert.True(Directory.Exists(Path.Combine(_root, Model, "1")));
        Assert.True(Repository.TryGet(Model, "1", out _));
    }

    [Fact]
    public async Task The_sync_is_off_unless_enabled()
    {
        Assert.False(new ModelSyncOptions().Enabled);
        // A container on a closed port: any storage call would fail the test.
        var unreachable = new BlobContainerClient(new Uri("http://127.0.0.1:9/devstoreaccount1/models"));
        using var sync = new ModelBlobSync(unreachable, _root, new ModelSyncOptions(), ResiliencePipeline.Empty);
        var service = new ModelSyncService(sync, Repository, Options.Create(new ModelSyncOptions()), NullLogger<ModelSyncService>.Instance);

        await service.StartingAsync(CancellationToken.None);
        await service.StartAsync(CancellationToken.None);
        await service.StopAsync(CancellationToken.None);

        Assert.False(Directory.Exists(Path.Combine(_root, ModelSyncOptions.WorkFolderName)));
    }

    [Fact]
    public async Task A_face_detector_version_published_to_the_container_is_downloaded_with_both_networks_verified_and_served()
    {
        Assert.False(Repository.TryGet(Detector, "2", out _));

        await PublishDetectorAsync(version: "2");
        var service = Service();
        await service.RunOnceAsync(CancellationToken.None);

        Assert.True(Repository.TryGet(Detector, "2", out var served));
        Assert.NotNull(served.Detector);
        Assert.Equal(["full-range", "short-range"], served.Detector.Networks.Select(n => n.Name));
        foreach (var file in new[] { FullRange, ShortRange, "MODEL_CARD.md" })
        {
            Assert.Equal(
                await File.ReadAllBytesAsync(Path.Combine(s_shippedDetector, file)),
                await File.ReadAllBytesAsync(Path.Combine(_root, Detector, "2", file)));
        }
        Assert.Empty(Directory.GetDirectories(Path.Combine(_root, ModelSyncOptions.WorkFolderName), "tmp-*"));
    }

    [Fact]
    public async Task A_face_detector_version_missing_one_network_file_waits_until_it_arrives()
    {
        await PublishDetectorAsync(version: "3", skip: ShortRange);
        using var sync = Sync();

        var first = await sync.SyncAsync();

        Assert.Empty(first.Downloaded);
        Assert.Contains(first.Pending, p => p == $"{Detector}/3: the model file {ShortRange} is not uploaded yet.");
        Assert.False(Directory.Exists(Path.Combine(_root, Detector, "3")));

        await Models.UploadBlobAsync($"{Detector}/3/{ShortRange}", BinaryData.FromBytes(await File.ReadAllBytesAsync(Path.Combine(s_shippedDetector, ShortRange))));
        var second = await sync.SyncAsync();

        Assert.Equal([$"{Detector}/3"], second.Downloaded);
        Assert.True(File.Exists(Path.Combine(_root, Detector, "3", FullRange)));
        Assert.True(File.Exists(Path.Combine(_root, Detector, "3", ShortRange)));
    }

    [Fact]
    public async Task A_face_detector_network_file_that_does_not_match_its_hash_is_never_placed()
    {
        // The second network is the corrupt one: checking only the first file would let it through.
        await PublishDetectorAsync(version: "4", corrupt: ShortRange);
        using var sync = Sync();

        var first = await sync.SyncAsync();
        var second = await sync.SyncAsync();

        Assert.Empty(first.Downloaded);
        Assert.Contains(first.Pending, p => p.StartsWith($"{Detector}/4: the SHA-256 of {ShortRange} is ", StringComparison.Ordinal));
        Assert.Contains(second.Pending, p => p.Contains("refused earlier", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(_root, Detector, "4")));
        Assert.Empty(Directory.GetDirectories(Path.Combine(_root, ModelSyncOptions.WorkFolderName), "tmp-*"));
    }

    [Fact]
    public async Task The_shipped_face_detector_already_on_disk_is_adopted_without_a_download()
    {
        // The image ships face-detector/1; a file only the local copy has shows whether the folder was replaced.
        var shipped = Path.Combine(_root, Detector, "1");
        CopyDirectory(s_shippedDetector, shipped);
        var marker = Path.Combine(shipped, "shipped-in-the-image");
        await File.WriteAllTextAsync(marker, "local copy");
        await PublishDetectorAsync(version: "1");
        using var sync = Sync();

        var first = await sync.SyncAsync();
        var second = await sync.SyncAsync();

        Assert.Empty(first.Downloaded);
        Assert.Empty(first.Pending);
        Assert.False(second.Changed);
        Assert.Empty(second.Pending);
        Assert.True(File.Exists(marker));

        // Adopted, not downloaded: when it leaves the container, the sync leaves the shipped copy alone.
        await foreach (var blob in Models.GetBlobsAsync(BlobTraits.None, BlobStates.None, $"{Detector}/", CancellationToken.None))
        {
            await Models.DeleteBlobAsync(blob.Name);
        }
        Assert.Empty((await sync.SyncAsync()).Removed);
        Assert.True(File.Exists(marker));
    }

    [Fact]
    public async Task A_face_detector_on_disk_with_other_network_hashes_is_replaced_by_the_published_one()
    {
        var local = Path.Combine(_root, Detector, "1");
        CopyDirectory(s_shippedDetector, local);
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(local, "model.json")))!;
        manifest["networks"]![1]!["sha256"] = new string('0', 64); // the second network differs
        await File.WriteAllTextAsync(Path.Combine(local, "model.json"), manifest.ToJsonString());
        await PublishDetectorAsync(version: "1");
        using var sync = Sync();

        var result = await sync.SyncAsync();

        Assert.Equal([$"{Detector}/1"], result.Downloaded);
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(s_shippedDetector, "model.json")),
            await File.ReadAllBytesAsync(Path.Combine(local, "model.json")));
    }

    /// <summary>Uploads the shipped face detector as <c>face-detector/{version}</c> (every file of its folder), the
    /// manifest saying that version (the shipped bytes for version 1).</summary>
    /// <param name="version">The version folder.</param>
    /// <param name="skip">A file left out, as if still uploading.</param>
    /// <param name="corrupt">A file uploaded with its last byte flipped.</param>
    private async Task PublishDetectorAsync(string version, string? skip = null, string? corrupt = null)
    {
        foreach (var path in Directory.GetFiles(s_shippedDetector))
        {
            var name = Path.GetFileName(path);
            if (name == skip || name == "model.json")
            {
                continue;
            }
            var bytes = await File.ReadAllBytesAsync(path);
            if (name == corrupt)
            {
                bytes[^1] ^= 0xFF;
            }
            await Models.UploadBlobAsync($"{Detector}/{version}/{name}", BinaryData.FromBytes(bytes));
        }
        var manifestPath = Path.Combine(s_shippedDetector, "model.json");
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(manifestPath))!;
        manifest["version"] = version;
        await Models.UploadBlobAsync($"{Detector}/{version}/model.json", version == "1"
            ? BinaryData.FromBytes(await File.ReadAllBytesAsync(manifestPath))
            : BinaryData.FromString(manifest.ToJsonString()));
    }

    /// <summary>Uploads the fixture model as <c>test-ager/{version}</c>, the manifest saying that version.</summary>
    private async Task PublishAsync(string version, bool modelFile = true)
    {
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(s_fixture, "model.json")))!;
        manifest["version"] = version;
        if (modelFile)
        {
            await Models.UploadBlobAsync($"{Model}/{version}/model.onnx", BinaryData.FromBytes(await File.ReadAllBytesAsync(Path.Combine(s_fixture, "model.onnx"))));
        }
        await Models.UploadBlobAsync($"{Model}/{version}/model.json", BinaryData.FromString(manifest.ToJsonString()));
    }

    private ModelBlobSync Sync() =>
        new(Models, _root, new ModelSyncOptions { Enabled = true }, ResiliencePipeline.Empty, NullLogger<ModelBlobSync>.Instance);

    private ModelSyncService Service()
    {
        var options = new ModelSyncOptions { Enabled = true };
        return new ModelSyncService(
            new ModelBlobSync(Models, _root, options, ResiliencePipeline.Empty, NullLogger<ModelBlobSync>.Instance),
            Repository,
            Options.Create(options),
            NullLogger<ModelSyncService>.Instance);
    }

    private static void CopyDirectory(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(destination, Path.GetFileName(file)));
        }
    }
}
