using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AgingPipeline.Contracts;
using Xunit.Abstractions;

namespace AgingPipeline.EndToEndTests;

/// <summary>Every file of the hostile corpus (<see cref="TestCorpus"/>: <c>AGING_CORPUS</c>, else all 713 files of
/// <c>../shared/corpus/pillow-test-images</c>, else the subset committed in <c>tests/fixtures/corpus</c>; truncated
/// streams, fuzzer crash files, decompression bombs, odd colour spaces, animations, formats we refuse) goes through
/// the pipeline and ends as a succeeded job with decodable outputs or as a typed refusal, and nothing crashes.</summary>
/// <remarks>
/// <para>CI (default): every file through the storage path (blob written directly, one target age) to a final job
/// state; then every file through <c>POST /api/uploads</c>, checking the endpoint's answer (202, or problem details
/// with a code) and that OnImageUploaded made a job of every accepted file, with the runner stopped first: the same
/// bytes were already aged through the storage path, and aging them twice would double the run.</para>
/// <para><c>AGING_LONG=1</c>: both paths to a final job state, at four target ages.</para>
/// </remarks>
public sealed class CorpusTests(CorpusStackFixture fixture, ITestOutputHelper output) : IClassFixture<CorpusStackFixture>
{
    private static readonly PipelineErrorCode[] s_bugCodes = [PipelineErrorCode.None, PipelineErrorCode.Internal, PipelineErrorCode.RetriesExhausted, PipelineErrorCode.StorageUnavailable];

    [Fact]
    public async Task Every_corpus_file_ends_as_aged_outputs_or_a_typed_refusal_through_both_paths_without_a_crash()
    {
        var stack = fixture.Stack;
        var root = TestCorpus.Images;
        var files = TestCorpus.Files.ToArray();
        Assert.NotEmpty(files);
        int[] ages = RepoPaths.LongRun ? [20, 40, 60, 80] : [40];
        var agesText = UploadMetadata.FormatAges(ages);
        var rows = new List<string>();

        // Storage path: the blob written straight into uploads, under its corpus path (names are never trusted).
        var storageWatch = Stopwatch.StartNew();
        var storageJobs = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (file, cancellationToken) =>
        {
            var blob = "corpus/" + Path.GetRelativePath(root, file).Replace('\\', '/');
            storageJobs[await stack.PutUploadAsync(blob, await File.ReadAllBytesAsync(file, cancellationToken), new Dictionary<string, string> { [UploadMetadata.Ages] = agesText })] = file;
        });
        var storageRecords = await stack.WaitForJobsAsync(storageJobs.Keys.ToArray(), TimeSpan.FromMinutes(RepoPaths.LongRun ? 60 : 8));
        storageWatch.Stop();
        var storageProblems = new List<string>();
        var storageCodes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var succeeded = 0;
        var outcomes = new StringBuilder("file,state,code,message\n");
        foreach (var (jobId, file) in storageJobs.OrderBy(j => j.Value, StringComparer.Ordinal))
        {
            var r = storageRecords[jobId];
            outcomes.AppendLine(CultureInfo.InvariantCulture, $"{Csv(Path.GetRelativePath(root, file))},{r.State},{r.ErrorCode},{Csv(r.ErrorMessage ?? $"{r.Width}x{r.Height} {r.Format}")}");
            var problem = await CheckAsync(stack, storageRecords[jobId], file, ages);
            if (problem is not null)
            {
                storageProblems.Add($"{Path.GetRelativePath(root, file)}: {problem}");
            }
            if (storageRecords[jobId].State == JobState.Succeeded)
            {
                succeeded++;
            }
            else
            {
                Count(storageCodes, storageRecords[jobId].ErrorCode.ToString());
            }
        }
        var peakRss = stack.Runner.PeakRssKiB();
        rows.Add(Row("storage (blob written directly)", files.Length, succeeded, storageCodes, storageWatch.Elapsed, peakRss));
        await stack.AssertAliveAsync();

        // API path: one request per file, declared as application/octet-stream so that only the content decides.
        if (!RepoPaths.LongRun)
        {
            await stack.TerminateRunnerAsync(TimeSpan.FromSeconds(45));
        }
        var apiWatch = Stopwatch.StartNew();
        var apiJobs = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var apiRefusals = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var apiProblems = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (file, _) =>
        {
            var (jobId, refusal, problem) = await UploadAsync(stack, file, agesText);
            if (problem is not null)
            {
                apiProblems.Add($"{Path.GetRelativePath(root, file)}: {problem}");
            }
            else if (jobId is not null)
            {
                apiJobs[jobId] = file;
            }
            else
            {
                apiRefusals[file] = refusal!;
            }
        });
        var apiCodes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var code in apiRefusals.Values)
        {
            Count(apiCodes, "API-refused " + code);
        }
        var apiSucceeded = 0;
        if (RepoPaths.LongRun)
        {
            var apiRecords = await stack.WaitForJobsAsync(apiJobs.Keys.ToArray(), TimeSpan.FromMinutes(60));
            foreach (var (jobId, file) in apiJobs)
            {
                if (await CheckAsync(stack, apiRecords[jobId], file, ages) is { } problem)
                {
                    apiProblems.Add($"{Path.GetRelativePath(root, file)} (API): {problem}");
                }
                if (apiRecords[jobId].State == JobState.Succeeded)
                {
                    apiSucceeded++;
                }
                else
                {
                    Count(apiCodes, apiRecords[jobId].ErrorCode.ToString());
                }
            }
        }
        else
        {
            // Runner stopped: OnImageUploaded still makes a job of every accepted file (queued, or failed at ingest).
            await Poll.UntilAsync(async () =>
            {
                foreach (var jobId in apiJobs.Keys)
                {
                    if (await stack.TryGetJobAsync(jobId) is null)
                    {
                        return false;
                    }
                }
                return true;
            }, TimeSpan.FromMinutes(3), () => "a job record for every accepted API upload\n" + stack.Logs(), TimeSpan.FromSeconds(1));
            foreach (var (jobId, file) in apiJobs)
            {
                var record = (await stack.TryGetJobAsync(jobId))!;
                if (record.State == JobState.Failed)
                {
                    Count(apiCodes, record.ErrorCode.ToString());
                    if (s_bugCodes.Contains(record.ErrorCode) || string.IsNullOrWhiteSpace(record.ErrorMessage))
                    {
                        apiProblems.Add($"{Path.GetRelativePath(root, file)} (API): failed with {record.ErrorCode} \"{record.ErrorMessage}\"");
                    }
                }
                else
                {
                    Count(apiCodes, "queued (runner stopped)");
                }
            }
        }
        apiWatch.Stop();
        rows.Add(Row(RepoPaths.LongRun ? "API upload" : "API upload (answer + job record; runner stopped)", files.Length, apiSucceeded, apiCodes, apiWatch.Elapsed,
            RepoPaths.LongRun ? stack.Runner.PeakRssKiB() : null));

        var report = Report(rows, files.Length, ages);
        output.WriteLine(report);
        Directory.CreateDirectory(RepoPaths.Artifacts);
        var suffix = RepoPaths.LongRun ? "-long" : "";
        await File.WriteAllTextAsync(Path.Combine(RepoPaths.Artifacts, $"corpus-report{suffix}.md"), report);
        await File.WriteAllTextAsync(Path.Combine(RepoPaths.Artifacts, $"corpus-outcomes{suffix}.csv"), outcomes.ToString());

        Assert.True(storageProblems.Count == 0, $"{storageProblems.Count} corpus files misbehaved through the storage path:\n" + string.Join("\n", storageProblems.Take(40)));
        Assert.True(apiProblems.IsEmpty, $"{apiProblems.Count} corpus files misbehaved through the API:\n" + string.Join("\n", apiProblems.Take(40)));
        Assert.True(succeeded > 0, "Not one corpus file was aged.");
        foreach (var process in new[] { stack.Functions, stack.Pump })
        {
            Assert.False(process.HasExited, $"{process.Name} exited during the corpus run.");
        }
        using var health = await stack.Http.GetAsync("api/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        if (RepoPaths.LongRun)
        {
            await stack.AssertAliveAsync();
        }
    }

    /// <summary>Null when the job ended as it must; otherwise what is wrong.</summary>
    private static async Task<string?> CheckAsync(LocalStack stack, JobRecord record, string file, int[] ages)
    {
        var sniffed = Sniff(file);
        if (record.State == JobState.Failed)
        {
            if (s_bugCodes.Contains(record.ErrorCode) || string.IsNullOrWhiteSpace(record.ErrorMessage))
            {
                return $"failed with {record.ErrorCode} \"{record.ErrorMessage}\" (attempts {record.Attempts})";
            }
            if (sniffed is "gif" or "bmp" or "tiff" && record.ErrorCode != PipelineErrorCode.UnsupportedFormat)
            {
                return $"a {sniffed} file failed with {record.ErrorCode}, not UnsupportedFormat";
            }
            var leftovers = await stack.ListOutputsAsync(record.JobId);
            return leftovers.Count == 0 ? null : $"failed but left {leftovers.Count} outputs";
        }
        if (sniffed is "gif" or "bmp" or "tiff")
        {
            return $"a {sniffed} file was accepted and aged";
        }
        try
        {
            await JobChecks.AssertSucceededAsync(stack, record, ages, input: null);
            return null;
        }
        catch (Exception ex) when (ex is Xunit.Sdk.XunitException or NetVips.VipsException)
        {
            return $"succeeded, but: {ex.Message.ReplaceLineEndings(" ")}";
        }
    }

    /// <summary>Uploads one file through the API: a job id, a refusal code, or a problem (a crash, an uncoded answer).</summary>
    private static async Task<(string? JobId, string? Refusal, string? Problem)> UploadAsync(LocalStack stack, string file, string ages)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent(ages), "ages");
        var part = new ByteArrayContent(await File.ReadAllBytesAsync(file));
        part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(part, "files", Path.GetFileName(file));
        using var response = await stack.Http.PostAsync("api/uploads", form);
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode == HttpStatusCode.Accepted)
        {
            using var accepted = JsonDocument.Parse(body);
            return (accepted.RootElement.GetProperty("jobs")[0].GetProperty("jobId").GetString(), null, null);
        }
        if ((int)response.StatusCode >= 500)
        {
            return (null, null, $"answered {(int)response.StatusCode}: {body}");
        }
        try
        {
            using var problem = JsonDocument.Parse(body);
            var code = problem.RootElement.GetProperty("code").GetString();
            var detail = problem.RootElement.TryGetProperty("detail", out var d) ? d.GetString() : null;
            return string.IsNullOrWhiteSpace(code) || string.IsNullOrWhiteSpace(detail)
                ? (null, null, $"answered {(int)response.StatusCode} without a code and a reason: {body}")
                : (null, code, null);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return (null, null, $"answered {(int)response.StatusCode} without problem details: {body}");
        }
    }

    /// <summary>The container format by magic number, for the formats that must be refused.</summary>
    private static string? Sniff(string file)
    {
        Span<byte> head = stackalloc byte[4];
        using var stream = File.OpenRead(file);
        var read = stream.Read(head);
        if (read >= 4 && head[..4].SequenceEqual("GIF8"u8))
        {
            return "gif";
        }
        if (read >= 2 && head[..2].SequenceEqual("BM"u8))
        {
            return "bmp";
        }
        if (read >= 4 && (head[..4].SequenceEqual("II*\0"u8) || head[..4].SequenceEqual("MM\0*"u8)))
        {
            return "tiff";
        }
        return null;
    }

    private static string Csv(string text) => "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal).ReplaceLineEndings(" ") + "\"";

    private static void Count(SortedDictionary<string, int> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;

    private static string Row(string path, int files, int succeeded, SortedDictionary<string, int> codes, TimeSpan wall, long? peakRssKiB) =>
        string.Create(CultureInfo.InvariantCulture,
            $"| {path} | {files} | {succeeded} | {string.Join(", ", codes.Select(c => $"{c.Key} {c.Value}"))} | {wall.TotalSeconds:0.0} s | {(peakRssKiB is { } kib ? $"{kib / 1024.0:0} MiB" : "–")} |");

    private static string Report(IEnumerable<string> rows, int files, int[] ages)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Corpus: {TestCorpus.ImagesFolder} ({TestCorpus.Source.ToString().ToLowerInvariant()}: {TestCorpus.Root}), {files} files; ages {string.Join(",", ages)}; {(RepoPaths.LongRun ? "AGING_LONG=1" : "CI")} run, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        text.AppendLine();
        text.AppendLine("| path | files | ok (aged) | refused / failed by code | wall time | runner peak RSS (VmHWM) |");
        text.AppendLine("| --- | ---: | ---: | --- | ---: | ---: |");
        foreach (var row in rows)
        {
            text.AppendLine(row);
        }
        return text.ToString();
    }
}
