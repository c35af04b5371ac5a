using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using AgingPipeline.Cli.Tests.Infrastructure;
using AgingPipeline.Contracts;
using Azure.Storage.Blobs.Models;

namespace AgingPipeline.Cli.Tests;

/// <summary><c>aging batch</c>, <c>status</c> and <c>get</c> against a real Azurite, with the pipeline's side played
/// by <see cref="FakePipeline"/> (job records, markers and outputs exactly as the function app and runner write them).</summary>
public sealed class BatchTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private const string FancyName = "Fée d'été.png";

    private readonly TempFolder _temp = new();

    [Fact]
    public async Task A_rerun_uploads_only_what_is_missing_and_adopts_what_a_crashed_run_uploaded_without_recording()
    {
        var input = _temp.Combine("in");
        var output = _temp.Combine("out");
        var files = MakeFolder(input, 20);

        var first = await BatchAsync(input, output, "--no-wait");

        Assert.True(first.ExitCode == 0, first.ToString());
        var batchId = first.Json.GetProperty("batch").GetProperty("batchId").GetString()!;
        Assert.Equal(20, first.Json.GetProperty("batch").GetProperty("uploaded").GetInt32());
        Assert.All(first.Json.GetProperty("files").EnumerateArray(), f => Assert.Equal("incomplete", f.GetProperty("result").GetString()));
        var blobs = await ListUploadsAsync(batchId);
        Assert.Equal(20, blobs.Count);

        // Options travel as metadata exactly as UploadMetadata defines them; the name is percent-encoded.
        var fancy = blobs.Keys.Single(b => b == $"{batchId}/set-a/F_e_d_t.png");
        var metadata = (await azurite.Clients.Uploads.GetBlobClient(fancy).GetPropertiesAsync()).Value.Metadata;
        Assert.Equal("20,60", metadata[UploadMetadata.Ages]);
        Assert.Equal(batchId, metadata[UploadMetadata.BatchId]);
        Assert.Equal("character-ager", metadata[UploadMetadata.Model]);
        Assert.Equal(UploadMetadata.EncodeOriginalName(FancyName), metadata[UploadMetadata.OriginalName]);
        Assert.Equal(FancyName, UploadMetadata.DecodeOriginalName(metadata[UploadMetadata.OriginalName]));

        // A crash: the last six uploads never reached the state file, and two of them never reached storage either.
        var statePath = Path.Combine(output, ".aging-batch.json");
        var state = JsonNode.Parse(File.ReadAllText(statePath))!;
        var entries = state["files"]!.AsObject();
        var lost = entries.Select(e => e.Key).Order(StringComparer.Ordinal).TakeLast(6).ToList();
        var lostBlobs = lost.Select(p => entries[p]!["blob"]!.GetValue<string>()).ToList();
        foreach (var path in lost)
        {
            entries.Remove(path);
        }
        File.WriteAllText(statePath, state.ToJsonString());
        await azurite.Clients.Uploads.GetBlobClient(lostBlobs[0]).DeleteAsync();
        await azurite.Clients.Uploads.GetBlobClient(lostBlobs[1]).DeleteAsync();

        var second = await BatchAsync(input, output, "--no-wait");

        Assert.True(second.ExitCode == 0, second.ToString());
        var figures = second.Json.GetProperty("batch");
        Assert.Equal((2, 4, 14), (figures.GetProperty("uploaded").GetInt32(), figures.GetProperty("adopted").GetInt32(), figures.GetProperty("alreadyUploaded").GetInt32()));
        Assert.Equal(batchId, figures.GetProperty("batchId").GetString());
        var after = await ListUploadsAsync(batchId);
        Assert.Equal(blobs.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        Assert.All(blobs.Where(b => !lostBlobs.Take(2).Contains(b.Key)), b => Assert.Equal(b.Value, after[b.Key]));

        // A file changed since its upload is uploaded again (a new version of the blob, so a new job); the rest stay.
        using (var changed = TestImages.CharacterImage(7, 72, 72))
        {
            File.WriteAllBytes(files[0], TestImages.Png(changed));
        }
        var third = await BatchAsync(input, output, "--no-wait");
        Assert.True(third.ExitCode == 0, third.ToString());
        Assert.Equal((1, 0, 19), (third.Json.GetProperty("batch").GetProperty("uploaded").GetInt32(),
            third.Json.GetProperty("batch").GetProperty("adopted").GetInt32(), third.Json.GetProperty("batch").GetProperty("alreadyUploaded").GetInt32()));
        Assert.Equal(20, (await ListUploadsAsync(batchId)).Count);

        // Resuming with other options is refused with a way out.
        var other = await BatchAsync(input, output, "--ages", "30", "--no-wait");
        Assert.Equal(17, other.ExitCode);
        Assert.Contains("another --out", other.Json.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Killed_mid_way_a_rerun_downloads_only_what_is_new_and_every_output_exists_exactly_once()
    {
        const string BatchId = "cli-kill-test";
        var input = _temp.Combine("in");
        var output = _temp.Combine("out");
        MakeFolder(input, 20, brokenIndex: 13);
        await using var pipeline = new FakePipeline(azurite.Clients, BatchId, allowance: 5);

        var log = new StringBuilder();
        using (var process = CliRun.Start(BatchArguments(input, output, "--batch-id", BatchId, "--quiet"), log))
        {
            var deadline = Stopwatch.StartNew();
            while (VisibleFiles(output).Count < 4)
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(180) && !process.HasExited,
                    $"no outputs after {deadline.Elapsed}; fake pipeline: {pipeline.Processed} processed, {pipeline.Failure}\n{log}");
                await Task.Delay(20);
            }
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        var presentAfterKill = VisibleFiles(output).Count;
        var uploads = await ListUploadsAsync(BatchId);
        Assert.Equal(20, uploads.Count);

        pipeline.Allowance = int.MaxValue;
        var rerun = await CliRun.InProcessAsync([.. BatchArguments(input, output, "--batch-id", BatchId)]);

        Assert.True(rerun.ExitCode == 12, rerun + "\n--- first run\n" + log); // one job failed with CorruptImage
        var json = rerun.Json;
        var figures = json.GetProperty("batch");
        Assert.Equal(0, figures.GetProperty("uploaded").GetInt32());
        Assert.Equal(20, figures.GetProperty("adopted").GetInt32() + figures.GetProperty("alreadyUploaded").GetInt32());
        Assert.Equal(19 * 3 - presentAfterKill, figures.GetProperty("downloaded").GetInt32());
        Assert.Equal((19, 1), (json.GetProperty("counts").GetProperty("done").GetInt32(), json.GetProperty("counts").GetProperty("failed").GetInt32()));
        var failed = json.GetProperty("files").EnumerateArray().Single(f => f.GetProperty("result").GetString() == "failed");
        Assert.Equal("CorruptImage", failed.GetProperty("code").GetString());

        // Every output exactly once, mirrored, nothing half-written; nothing uploaded again, no second job.
        Assert.Equal(ExpectedOutputs(input, brokenIndex: 13), VisibleFiles(output));
        Assert.Equal([".aging-batch.json"], HiddenFiles(output));
        var after = await ListUploadsAsync(BatchId);
        Assert.Equal(uploads, after);
        Assert.Equal(20, pipeline.JobsCreated);
        var markers = new List<string>();
        await foreach (var marker in azurite.Clients.Jobs.GetBlobsAsync(BlobTraits.None, BlobStates.None, BlobNames.BatchPrefix(BatchId), default))
        {
            markers.Add(marker.Name);
        }
        Assert.Equal(20, markers.Count);

        var status = await CliRun.InProcessAsync("status", BatchId, "--connection", azurite.ConnectionString, "--json");
        Assert.True(status.ExitCode == 12, status.ToString());
        Assert.Equal("batch", status.Json.GetProperty("kind").GetString());
        Assert.Equal((19, 1, 0), (status.Json.GetProperty("states").GetProperty("succeeded").GetInt32(),
            status.Json.GetProperty("states").GetProperty("failed").GetInt32(), status.Json.GetProperty("states").GetProperty("pending").GetInt32()));

        var jobId = status.Json.GetProperty("jobs").EnumerateArray().First(j => j.GetProperty("state").GetString() == "succeeded").GetProperty("jobId").GetString()!;
        var job = await CliRun.InProcessAsync("status", jobId, "--connection", azurite.ConnectionString);
        Assert.True(job.ExitCode == 0, job.ToString());
        Assert.Contains($"job {jobId}", job.Stdout);

        var copy = _temp.Combine("copy");
        var get = await CliRun.InProcessAsync("get", BatchId, "--out", copy, "--connection", azurite.ConnectionString, "--json");
        Assert.True(get.ExitCode == 12, get.ToString());
        Assert.Equal(19, get.Json.GetProperty("counts").GetProperty("done").GetInt32());
        Assert.Equal(ExpectedOutputs(input, brokenIndex: 13), VisibleFiles(copy));
        var again = await CliRun.InProcessAsync("get", BatchId, "--out", copy, "--connection", azurite.ConnectionString, "--json");
        Assert.Equal(19, again.Json.GetProperty("counts").GetProperty("skipped").GetInt32());
    }

    [Fact]
    public async Task Unknown_ids_and_unreachable_storage_are_reported_with_their_codes()
    {
        var missing = await CliRun.InProcessAsync("status", "no-such-batch", "--connection", azurite.ConnectionString);
        Assert.Equal(24, missing.ExitCode);
        Assert.Contains("no-such-batch", missing.Stderr);

        var closed = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;";
        var down = await CliRun.InProcessAsync("status", "some-batch", "--connection", closed);
        Assert.Equal(21, down.ExitCode);
        Assert.Contains("./run.sh", down.Stderr);
    }

    /// <summary>Issue 15, one set of rules: the CLI checks every file at the door the API, ingest and the runner use, from
    /// its first bytes and its length, and uploads only what the pipeline would accept. A file over the byte limit (here
    /// a sparse 51 MiB file behind a real PNG header) and an animated PNG are failed here with the pipeline's own code and
    /// words and are never uploaded (the CLI used to upload them whole, to be refused by ingest afterwards).</summary>
    [Fact]
    public async Task Files_the_pipeline_would_refuse_are_failed_at_the_door_with_its_words_and_never_uploaded()
    {
        var input = _temp.Combine("door-in");
        var output = _temp.Combine("door-out");
        MakeFolder(input, 2);
        var huge = Path.Combine(input, "huge.png");
        using (var image = TestImages.CharacterImage(3, 40, 40))
        {
            TestImages.Write(huge, TestImages.Png(image));
        }
        using (var stream = new FileStream(huge, FileMode.Open, FileAccess.Write))
        {
            stream.SetLength(51L * 1024 * 1024);
        }
        File.Copy(AgingPipeline.Testing.TestCorpus.FilePath("apng/delay.png"), Path.Combine(input, "animated.png"));

        var result = await BatchAsync(input, output, "--no-wait");

        var files = result.Json.GetProperty("files").EnumerateArray().ToDictionary(f => f.GetProperty("input").GetString()!);
        Assert.Equal("failed", files["huge.png"].GetProperty("result").GetString());
        Assert.Equal("ImageTooLarge", files["huge.png"].GetProperty("code").GetString());
        Assert.Equal(new InputLimits().TooLargeMessage, files["huge.png"].GetProperty("reason").GetString());
        Assert.Equal("TooManyFrames", files["animated.png"].GetProperty("code").GetString());
        Assert.Equal("The image is an animation with 4 frames; only still images are accepted.", files["animated.png"].GetProperty("reason").GetString());
        var batchId = result.Json.GetProperty("batch").GetProperty("batchId").GetString()!;
        Assert.Equal(2, result.Json.GetProperty("batch").GetProperty("uploaded").GetInt32());
        var uploaded = await ListUploadsAsync(batchId);
        Assert.Equal(2, uploaded.Count);
        Assert.DoesNotContain(uploaded.Keys, b => b.Contains("huge", StringComparison.Ordinal) || b.Contains("animated", StringComparison.Ordinal));
    }

    public void Dispose() => _temp.Dispose();

    private Task<CliResult> BatchAsync(string input, string output, params string[] extra) =>
        CliRun.InProcessAsync([.. BatchArguments(input, output, extra)]);

    private string[] BatchArguments(string input, string output, params string[] extra) =>
        ["batch", input, "--ages", "20,60", "--out", output, "--connection", azurite.ConnectionString, "--interval", "0.2", "--json", .. extra];

    /// <summary>Small PNG and JPEG inputs in nested folders, one with a name that needs encoding; returns their paths.</summary>
    private static List<string> MakeFolder(string root, int count, int brokenIndex = -1)
    {
        var paths = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var directory = (i % 3) switch { 0 => string.Empty, 1 => "set-a", _ => Path.Combine("set-b", "deep") };
            var name = i == 1 ? FancyName : i == brokenIndex ? $"broken-{i:00}.jpg" : i % 2 == 0 ? $"img-{i:00}.png" : $"img-{i:00}.jpg";
            using var image = TestImages.CharacterImage(i, 48 + i, 40 + i);
            var bytes = name.EndsWith(".jpg", StringComparison.Ordinal) ? TestImages.Jpeg(image, 90) : TestImages.Png(image);
            var path = Path.Combine(root, directory, name);
            TestImages.Write(path, bytes);
            paths.Add(path);
        }
        return paths;
    }

    /// <summary>The outputs the pipeline names for each input (ages 20 and 60 plus a contact sheet), mirrored.</summary>
    private static List<string> ExpectedOutputs(string root, int brokenIndex) =>
        [.. Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(root, p).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(p => !p.Contains($"broken-{brokenIndex:00}", StringComparison.Ordinal))
            .SelectMany(p =>
            {
                var slash = p.LastIndexOf('/');
                var directory = slash < 0 ? string.Empty : p[..(slash + 1)];
                var extension = p.EndsWith(".jpg", StringComparison.Ordinal) ? "jpg" : "png";
                var leaf = p[(slash + 1)..];
                return new[]
                {
                    directory + BlobNames.AgedFileName(leaf, 20, extension),
                    directory + BlobNames.AgedFileName(leaf, 60, extension),
                    directory + BlobNames.ContactSheetFileName(leaf, extension),
                };
            })
            .Order(StringComparer.Ordinal)];

    private static List<string> VisibleFiles(string root) => Files(root).Where(f => !Path.GetFileName(f).StartsWith('.')).ToList();

    private static List<string> HiddenFiles(string root) => Files(root).Where(f => Path.GetFileName(f).StartsWith('.')).ToList();

    private static List<string> Files(string root) => !Directory.Exists(root)
        ? []
        : [.. Directory.GetFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(p => Path.GetRelativePath(root, p).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)];

    private async Task<Dictionary<string, string>> ListUploadsAsync(string batchId)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        await foreach (var item in azurite.Clients.Uploads.GetBlobsAsync(BlobTraits.None, BlobStates.None, batchId + "/", default))
        {
            result[item.Name] = item.Properties.ETag!.Value.ToString();
        }
        return result;
    }
}
