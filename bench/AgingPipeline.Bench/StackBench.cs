using AgingPipeline.Contracts;
using AgingPipeline.Testing;

namespace AgingPipeline.Bench;

/// <summary>(2) and (4): the runner on the real local stack (private Azurite, function app, event pump, one runner),
/// started from the AppHost that <c>run.sh</c> and the end-to-end tests start (<see cref="LocalStack"/>). Images are written into <c>uploads</c> with the Azure
/// SDK and their target ages as blob metadata, exactly as any program would; job records are polled until succeeded.</summary>
internal static class StackBench
{
    /// <summary>Starts the stack the harness measures.</summary>
    public static Task<LocalStack> StartAsync(BenchOptions options) => LocalStack.StartAsync(new LocalStackOptions("bench")
    {
        ArtifactsDirectory = options.ArtifactsDirectory,
        // Long enough that no job of a burst is ever delivered twice because the lease renewal was late on a busy CPU.
        VisibilityTimeout = TimeSpan.FromSeconds(60),
        RunnerConcurrency = options.Concurrency,
        RunnerSettings = options.RunnerSettings,
    });

    /// <summary>Latency (sequential single uploads) and throughput (a burst) of 1 MP images × the ages.</summary>
    public static async Task<StackResult> RunAsync(LocalStack stack, BenchImages images, BenchOptions options)
    {
        var metadata = Metadata(options.Ages, options.Region);
        var bytes = images.OneMegapixel.Select(File.ReadAllBytes).ToArray();

        Console.Error.WriteLine($"stack: warm-up ({options.WarmupImages} images)");
        var warm = new List<string>();
        for (var i = 0; i < options.WarmupImages; i++)
        {
            warm.Add(await stack.PutUploadAsync($"bench/warmup/{i:000}.jpg", bytes[i % bytes.Length], metadata));
        }
        await WaitSucceededAsync(stack, warm, TimeSpan.FromMinutes(5));

        Console.Error.WriteLine($"stack: latency, {options.LatencyRuns} sequential uploads of a 1 MP image × {options.Ages.Count} ages");
        var before = await stack.RunnerMetricsAsync();
        var latency = new List<double>();
        var ingest = new List<double>();
        var queue = new List<double>();
        var runner = new List<double>();
        for (var i = 0; i < options.LatencyRuns; i++)
        {
            var jobId = await stack.PutUploadAsync($"bench/latency/{i:000}.jpg", bytes[i % bytes.Length], metadata);
            var written = DateTimeOffset.UtcNow;
            var record = (await WaitSucceededAsync(stack, [jobId], TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(20)))[jobId];
            latency.Add((record.CompletedAt!.Value - written).TotalSeconds);
            ingest.Add((record.CreatedAt - written).TotalSeconds);
            queue.Add((record.StartedAt!.Value - record.CreatedAt).TotalSeconds);
            runner.Add((record.CompletedAt.Value - record.StartedAt.Value).TotalSeconds);
        }
        var latencyStages = Breakdown(before, await stack.RunnerMetricsAsync(), options.LatencyRuns);

        Console.Error.WriteLine($"stack: burst of {options.BurstImages} images");
        before = await stack.RunnerMetricsAsync();
        var (burstSeconds, _) = await BurstAsync(stack, "bench/burst", bytes, metadata, options.BurstImages);
        var burstStages = Breakdown(before, await stack.RunnerMetricsAsync(), options.BurstImages);

        double? noSheet = null;
        StageBreakdown? noSheetStages = null;
        if (options.LikeForLike)
        {
            Console.Error.WriteLine($"stack: the same burst without contact sheets (Runner__WriteContactSheet=false), a fresh runner");
            await RestartRunnerAsync(stack, new Dictionary<string, string>(StringComparer.Ordinal) { ["Runner__WriteContactSheet"] = "false" });
            var warmNoSheet = new List<string>();
            for (var i = 0; i < options.WarmupImages; i++)
            {
                warmNoSheet.Add(await stack.PutUploadAsync($"bench/warmup-nosheet/{i:000}.jpg", bytes[i % bytes.Length], metadata));
            }
            await WaitSucceededAsync(stack, warmNoSheet, TimeSpan.FromMinutes(5));
            before = await stack.RunnerMetricsAsync();
            var (seconds, _) = await BurstAsync(stack, "bench/burst-nosheet", bytes, metadata, options.BurstImages);
            noSheet = options.BurstImages * options.Ages.Count / seconds;
            noSheetStages = Breakdown(before, await stack.RunnerMetricsAsync(), options.BurstImages);
            await RestartRunnerAsync(stack, new Dictionary<string, string>(StringComparer.Ordinal));
        }

        return new StackResult(
            RepoPaths.Configuration,
            options.Concurrency,
            options.Ages,
            options.LatencyRuns,
            Stats.Percentile(latency, 50),
            Stats.Percentile(latency, 95),
            Stats.Percentile(ingest, 50),
            Stats.Percentile(queue, 50),
            Stats.Percentile(runner, 50),
            latencyStages,
            options.BurstImages,
            burstSeconds,
            options.BurstImages * options.Ages.Count / burstSeconds,
            burstStages,
            noSheet,
            noSheetStages);
    }

    /// <summary>Uploads <paramref name="count"/> images at once (8 uploads in flight) and waits for all of them.</summary>
    /// <returns>First upload started → last record succeeded (the records' completion times), and the records.</returns>
    private static async Task<(double Seconds, IReadOnlyDictionary<string, JobRecord> Records)> BurstAsync(
        LocalStack stack, string prefix, byte[][] bytes, Dictionary<string, string> metadata, int count)
    {
        var started = DateTimeOffset.UtcNow;
        var jobs = new string[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            jobs[i] = await stack.PutUploadAsync($"{prefix}/{i:000}.jpg", bytes[i % bytes.Length], metadata));
        var records = await WaitSucceededAsync(stack, jobs, TimeSpan.FromMinutes(20));
        return ((records.Values.Max(r => r.CompletedAt!.Value) - started).TotalSeconds, records);
    }

    /// <summary>Stops the runner with SIGTERM and starts a fresh one with <paramref name="overrides"/> (empty: the
    /// stack's own settings).</summary>
    private static async Task RestartRunnerAsync(LocalStack stack, IReadOnlyDictionary<string, string> overrides)
    {
        if (!stack.Runner.HasExited)
        {
            await stack.TerminateRunnerAsync(TimeSpan.FromSeconds(60));
        }
        await stack.StartRunnerAsync(overrides);
    }

    /// <summary>(4) Restarts the runner (a fresh process, so that its peak RSS covers only this run), then ages
    /// <see cref="BenchOptions.RssImages"/> images, one in <see cref="BenchOptions.RssLargeEvery"/> of them 12 MP.</summary>
    public static async Task<RssResult> RunRssAsync(LocalStack stack, BenchImages images, BenchOptions options)
    {
        await RestartRunnerAsync(stack, new Dictionary<string, string>(StringComparer.Ordinal));
        var startRss = CurrentRssKiB(stack.Runner.Pid) / 1024.0;
        var metadata = Metadata(options.Ages, options.Region);
        var small = images.OneMegapixel.Select(File.ReadAllBytes).ToArray();
        var large = images.TwelveMegapixel.Select(File.ReadAllBytes).ToArray();

        Console.Error.WriteLine($"rss: {options.RssImages} images (every {options.RssLargeEvery}th 4000×3000) × {options.Ages.Count} ages, fresh runner at {startRss:0} MiB");
        var jobs = new List<string>();
        var largeJobs = new HashSet<string>(StringComparer.Ordinal);
        var started = DateTimeOffset.UtcNow;
        for (var i = 0; i < options.RssImages; i++)
        {
            var isLarge = large.Length > 0 && i % options.RssLargeEvery == options.RssLargeEvery / 2;
            var content = isLarge ? large[i % large.Length] : small[i % small.Length];
            var jobId = await stack.PutUploadAsync($"bench/rss/{i:000}{(isLarge ? "-12mp" : "")}.jpg", content, metadata);
            jobs.Add(jobId);
            if (isLarge)
            {
                largeJobs.Add(jobId);
            }
        }
        var records = await WaitSucceededAsync(stack, jobs, TimeSpan.FromMinutes(30));
        var seconds = (records.Values.Max(r => r.CompletedAt!.Value) - started).TotalSeconds;
        var peak = stack.Runner.PeakRssKiB() ?? throw new InvalidOperationException("The runner exited before its peak RSS was read.");
        var largeTimes = records.Values.Where(r => largeJobs.Contains(r.JobId))
            .Select(r => (r.CompletedAt!.Value - r.StartedAt!.Value).TotalSeconds).ToArray();
        return new RssResult(options.RssImages, largeJobs.Count, options.Concurrency, seconds, peak / 1024.0, startRss, Stats.Percentile(largeTimes, 50));
    }

    private static Dictionary<string, string> Metadata(IReadOnlyList<int> ages, AgingRegion region) =>
        new(StringComparer.Ordinal) { [UploadMetadata.Ages] = UploadMetadata.FormatAges(ages), [UploadMetadata.Region] = region.ToWireName() };

    private static async Task<IReadOnlyDictionary<string, JobRecord>> WaitSucceededAsync(LocalStack stack, IReadOnlyCollection<string> jobIds, TimeSpan timeout, TimeSpan? interval = null)
    {
        IReadOnlyDictionary<string, JobRecord> records;
        if (interval is { } every && jobIds.Count == 1)
        {
            var jobId = jobIds.First();
            var record = await Poll.UntilAsync(async () => await stack.TryGetJobAsync(jobId) is { } r && JobStateMachine.IsTerminal(r.State) ? r : null,
                timeout, () => $"job {jobId}\n{stack.Logs()}", every);
            records = new Dictionary<string, JobRecord> { [jobId] = record };
        }
        else
        {
            records = await stack.WaitForJobsAsync(jobIds, timeout);
        }
        var failed = records.Values.Where(r => r.State != JobState.Succeeded).ToArray();
        if (failed.Length > 0)
        {
            throw new InvalidOperationException($"{failed.Length} jobs did not succeed, e.g. {failed[0].JobId}: {failed[0].State} {failed[0].ErrorCode} {failed[0].ErrorMessage}");
        }
        return records;
    }

    private static StageBreakdown Breakdown(RunnerMetricsSnapshot before, RunnerMetricsSnapshot after, int jobs)
    {
        var stages = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var stage in after.Stages)
        {
            var previous = before.Stages.FirstOrDefault(s => s.Stage == stage.Stage)?.TotalSeconds ?? 0;
            stages[stage.Stage] = (stage.TotalSeconds - previous) / jobs;
        }
        var model = after.Models.FirstOrDefault(m => m.Name != "nan-ager" && m.Requests > 0);
        var modelBefore = model is null ? null : before.Models.FirstOrDefault(m => m.Name == model.Name && m.Version == model.Version);
        return new StageBreakdown(
            stages,
            model is null ? 0 : (model.RunSeconds - (modelBefore?.RunSeconds ?? 0)) / jobs,
            model is null ? 0 : model.Batches - (modelBefore?.Batches ?? 0),
            model is null ? 0 : model.Requests - (modelBefore?.Requests ?? 0));
    }

    private static long CurrentRssKiB(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(new string([.. line.Where(char.IsDigit)]), System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }
}
