using System.Diagnostics;
using System.Text.Json;
using AgingPipeline.Contracts;
using Azure.Storage.Blobs.Models;
using Xunit.Abstractions;

namespace AgingPipeline.EndToEndTests;

/// <summary>Issue #5: the real <c>aging batch</c> (the built CLI, a child process) against the whole local stack,
/// killed with SIGKILL while it uploads and again while it downloads, then run again: it finishes the batch with every
/// output exactly once and nothing uploaded twice. The CLI's own tests cover the same resume logic with a stand-in for
/// the pipeline; here the function app, the event pump and the runner do the work.</summary>
[Collection(PipelineStackCollection.Name)]
public sealed class CliBatchResumeTests(PipelineStackFixture fixture, ITestOutputHelper output) : IDisposable
{
    private const int FileCount = 20;
    private static readonly int[] s_ages = [20, 60];

    private readonly string _temp = Path.Combine(Path.GetTempPath(), "aging-e2e-cli", Guid.NewGuid().ToString("N")[..12]);

    [Fact]
    public async Task A_batch_killed_while_uploading_and_again_while_downloading_then_run_again_has_every_output_exactly_once_and_nothing_uploaded_twice()
    {
        var stack = fixture.Stack;
        var input = Path.Combine(_temp, "in");
        var outFolder = Path.Combine(_temp, "out");
        var batchId = $"cli-e2e-{Guid.NewGuid():N}"[..24];
        var expected = MakeFolder(input);
        string[] arguments = ["batch", input, "--ages", string.Join(',', s_ages), "--out", outFolder, "--batch-id", batchId,
            "--model", stack.ModelName, "--connection", stack.Azurite.ConnectionString, "--interval", "0.2"];

        // First run: killed (SIGKILL, no chance to clean up) while it uploads, as soon as the first blobs are in storage.
        // (The stack kills every CLI it started at the end too, should the test fail before.)
        var clock = Stopwatch.StartNew();
        var uploading = stack.StartCli(arguments);
        await Poll.UntilAsync(async () => (await ListUploadsAsync(stack, batchId)).Count > 0 || uploading.HasExited, TimeSpan.FromSeconds(120),
            () => $"first uploads of the CLI\n{uploading.Tail()}", TimeSpan.FromMilliseconds(10));
        Assert.False(uploading.HasExited, $"The CLI ended before it could be killed:\n{uploading.Tail()}");
        uploading.Note("SIGKILL by the test");
        await uploading.KillAsync();
        var uploadsAtFirstKill = await ListUploadsAsync(stack, batchId);
        output.WriteLine($"first run killed after {clock.Elapsed.TotalSeconds:0.0} s: {uploadsAtFirstKill.Count} of {FileCount} uploaded");

        // Second run: killed once some jobs are done and their outputs downloaded, most not.
        var following = stack.StartCli(arguments);
        await Poll.UntilAsync(() => Task.FromResult(VisibleFiles(outFolder).Count >= 3 || following.HasExited), TimeSpan.FromSeconds(180),
            () => $"first outputs of the CLI\n{following.Tail()}\n{stack.Logs()}", TimeSpan.FromMilliseconds(20));
        Assert.False(following.HasExited, $"The CLI ended before it could be killed:\n{following.Tail()}");
        following.Note("SIGKILL by the test");
        await following.KillAsync();
        var presentAfterKill = VisibleFiles(outFolder);
        var uploadsAtKill = await ListUploadsAsync(stack, batchId);
        output.WriteLine($"second run killed after {clock.Elapsed.TotalSeconds:0.0} s: {uploadsAtKill.Count} of {FileCount} uploaded, {presentAfterKill.Count} of {expected.Count} outputs on disk");
        Assert.InRange(presentAfterKill.Count, 3, expected.Count - 1);
        Assert.All(presentAfterKill, file => Assert.Contains(file, expected));
        Assert.All(uploadsAtFirstKill, before => Assert.Equal(before.Value, uploadsAtKill[before.Key]));

        // Third run, to the end.
        var rerun = await stack.RunCliAsync([.. arguments, "--json"], TimeSpan.FromMinutes(5));
        output.WriteLine($"re-run: exit {rerun.ExitCode} after {clock.Elapsed.TotalSeconds:0.0} s");

        Assert.True(rerun.ExitCode == 0, rerun.ToString());
        using var json = JsonDocument.Parse(rerun.Stdout);
        var root = json.RootElement;
        var batch = root.GetProperty("batch");
        Assert.Equal(batchId, batch.GetProperty("batchId").GetString());
        // Only what never reached storage is uploaded; what the killed run uploaded is recorded or adopted.
        Assert.Equal(FileCount - uploadsAtKill.Count, batch.GetProperty("uploaded").GetInt32());
        Assert.Equal(uploadsAtKill.Count, batch.GetProperty("adopted").GetInt32() + batch.GetProperty("alreadyUploaded").GetInt32());
        Assert.Equal(expected.Count - presentAfterKill.Count, batch.GetProperty("downloaded").GetInt32());
        Assert.Equal(FileCount, batch.GetProperty("jobStates").GetProperty("succeeded").GetInt32());
        var counts = root.GetProperty("counts");
        Assert.Equal((FileCount, FileCount, 0, 0, 0), (counts.GetProperty("total").GetInt32(), counts.GetProperty("done").GetInt32(),
            counts.GetProperty("failed").GetInt32(), counts.GetProperty("incomplete").GetInt32(), counts.GetProperty("skipped").GetInt32()));
        Assert.Equal(0, root.GetProperty("exitCode").GetInt32());

        // Every output exactly once in the mirrored folder, nothing half-written beside them.
        Assert.Equal(expected, VisibleFiles(outFolder));
        Assert.Equal([".aging-batch.json"], HiddenFiles(outFolder));
        foreach (var file in expected)
        {
            TestImages.Decode(await File.ReadAllBytesAsync(Path.Combine(outFolder, file)));
        }

        // Nothing uploaded again: the blobs of the killed runs are untouched (same ETag, same last-modified time).
        var uploads = await ListUploadsAsync(stack, batchId);
        Assert.Equal(FileCount, uploads.Count);
        Assert.All(uploadsAtKill, before => Assert.Equal(before.Value, uploads[before.Key]));

        // One job per file: one batch marker each, and each blob's own job (derived from its ETag) succeeded.
        var markers = new List<string>();
        await foreach (var marker in stack.Clients.Jobs.GetBlobsAsync(BlobTraits.None, BlobStates.None, BlobNames.BatchPrefix(batchId), CancellationToken.None))
        {
            markers.Add(marker.Name[BlobNames.BatchPrefix(batchId).Length..]);
        }
        var jobIds = uploads.Select(u => JobIds.FromBlob(BlobNames.UploadsContainer, u.Key, u.Value.ETag)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(jobIds, markers.Order(StringComparer.Ordinal));
        foreach (var jobId in jobIds)
        {
            Assert.Equal(JobState.Succeeded, (await stack.TryGetJobAsync(jobId))?.State);
        }

        // A fourth run has nothing left to do, and says so.
        var third = await stack.RunCliAsync([.. arguments, "--json"], TimeSpan.FromMinutes(2));
        Assert.True(third.ExitCode == 0, third.ToString());
        using var thirdJson = JsonDocument.Parse(third.Stdout);
        var thirdBatch = thirdJson.RootElement.GetProperty("batch");
        Assert.Equal((0, 0, FileCount, 0), (thirdBatch.GetProperty("uploaded").GetInt32(), thirdBatch.GetProperty("adopted").GetInt32(),
            thirdBatch.GetProperty("alreadyUploaded").GetInt32(), thirdBatch.GetProperty("downloaded").GetInt32()));
        Assert.Equal(expected, VisibleFiles(outFolder));
        await stack.AssertAliveAsync();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_temp, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Writes <see cref="FileCount"/> small PNG and JPEG characters into nested folders.</summary>
    /// <returns>The outputs the pipeline names for them (each age and the contact sheet), mirrored, sorted.</returns>
    private static List<string> MakeFolder(string root)
    {
        var outputs = new List<string>();
        for (var i = 0; i < FileCount; i++)
        {
            var directory = (i % 3) switch { 0 => string.Empty, 1 => "set-a", _ => "set-b/deep" };
            var extension = i % 2 == 0 ? "png" : "jpg";
            var name = $"character-{i:00}.{extension}";
            var path = Path.Combine(root, directory, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, TestImages.Character(i, extension, scale: 0.25 + i % 3 * 0.125));
            var prefix = directory.Length == 0 ? string.Empty : directory + "/";
            outputs.AddRange(s_ages.Select(age => prefix + BlobNames.AgedFileName(name, age, extension)));
            outputs.Add(prefix + BlobNames.ContactSheetFileName(name, extension));
        }
        return [.. outputs.Order(StringComparer.Ordinal)];
    }

    private static List<string> VisibleFiles(string root) => [.. Files(root).Where(f => !Path.GetFileName(f).StartsWith('.'))];

    private static List<string> HiddenFiles(string root) => [.. Files(root).Where(f => Path.GetFileName(f).StartsWith('.'))];

    private static IEnumerable<string> Files(string root) => !Directory.Exists(root)
        ? []
        : Directory.GetFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(p => Path.GetRelativePath(root, p).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal);

    /// <summary>The batch's blobs in <c>uploads</c> with their ETag and last-modified time.</summary>
    private static async Task<Dictionary<string, (string ETag, DateTimeOffset LastModified)>> ListUploadsAsync(LocalStack stack, string batchId)
    {
        var uploads = new Dictionary<string, (string, DateTimeOffset)>(StringComparer.Ordinal);
        await foreach (var item in stack.Clients.Uploads.GetBlobsAsync(BlobTraits.None, BlobStates.None, batchId + "/", CancellationToken.None))
        {
            uploads[item.Name] = (item.Properties.ETag!.Value.ToString(), item.Properties.LastModified!.Value);
        }
        return uploads;
    }
}
