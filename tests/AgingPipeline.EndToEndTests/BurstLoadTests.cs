using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using AgingPipeline.Contracts;
using Azure.Storage.Blobs.Models;
using NetVips;
using Xunit.Abstractions;

namespace AgingPipeline.EndToEndTests;

/// <summary>Issue #6 (load): a burst of small uploads written straight into <c>uploads</c> as fast as the SDK allows,
/// through the storage path (event pump → OnImageUploaded → queue → one runner). Every upload ends as exactly one
/// succeeded job with its outputs exactly once; nothing lost, nothing duplicated, nothing stuck. Prints the throughput
/// and the job queue's length over time (a text chart and the raw series) and writes the series to
/// <c>artifacts/burst-load[-long].csv</c> and a chart to <c>artifacts/burst-load[-long].png</c>.</summary>
/// <remarks>CI: 100 uploads. <c>AGING_LONG=1</c>: 1000 uploads (the figures in the README come from it).</remarks>
[Collection(PipelineStackCollection.Name)]
public sealed class BurstLoadTests(PipelineStackFixture fixture, ITestOutputHelper output)
{
    private static readonly int[] s_ages = [40];
    private static readonly TimeSpan s_sampleInterval = TimeSpan.FromMilliseconds(500);

    [Fact]
    public async Task A_burst_of_small_uploads_with_one_runner_completes_every_job_exactly_once()
    {
        var stack = fixture.Stack;
        var count = RepoPaths.LongRun ? 1000 : 100;
        var label = RepoPaths.LongRun ? "burst-load-long" : "burst-load";
        // A few distinct small inputs (64×64 and 96×96 PNG/JPEG), each written under many names.
        byte[][] inputs = [.. Enumerable.Range(0, 8).Select(i => TestImages.Character(i, i % 2 == 0 ? "png" : "jpg", scale: i % 4 < 2 ? 0.25 : 0.375))];
        var folder = $"burst-{Guid.NewGuid():N}";
        await WaitForEmptyQueuesAsync(stack);
        var baseline = await stack.RunnerMetricsAsync();

        var clock = Stopwatch.StartNew();
        var startedAt = DateTimeOffset.UtcNow;
        var uploaded = 0;
        using var stopSampling = new CancellationTokenSource();
        var sampling = SampleAsync(stack, clock, () => Volatile.Read(ref uploaded), baseline.JobsSucceeded, stopSampling.Token);

        var jobs = new string[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            jobs[i] = await stack.PutUploadAsync($"{folder}/{i:0000}.{(i % 8 % 2 == 0 ? "png" : "jpg")}", inputs[i % 8],
                new Dictionary<string, string> { [UploadMetadata.Ages] = string.Join(',', s_ages) });
            Interlocked.Increment(ref uploaded);
        });
        var uploadSeconds = clock.Elapsed.TotalSeconds;

        var records = await stack.WaitForJobsAsync(jobs, TimeSpan.FromSeconds(RepoPaths.LongRun ? 1500 : 240));
        await WaitForEmptyQueuesAsync(stack);
        var drainedSeconds = clock.Elapsed.TotalSeconds;
        await Task.Delay(s_sampleInterval);
        await stopSampling.CancelAsync();
        var samples = await sampling;

        var lastCompletion = records.Values.Max(r => r.CompletedAt!.Value);
        var firstStart = records.Values.Min(r => r.StartedAt ?? r.CompletedAt!.Value);
        var completionSeconds = (lastCompletion - startedAt).TotalSeconds;
        var report = Report(label, count, uploadSeconds, completionSeconds, (lastCompletion - firstStart).TotalSeconds, drainedSeconds, records.Values, samples);
        output.WriteLine(report);
        WriteArtifacts(label, samples, count);

        // Exactly one record per upload, all succeeded, none left in processing; every output exactly once.
        Assert.Equal(count, jobs.Distinct().Count());
        Assert.All(records.Values, r => Assert.True(r.State == JobState.Succeeded, $"{r.JobId} ({r.InputBlob}) is {r.State}: {r.ErrorCode} {r.ErrorMessage}"));
        await AssertOneRecordPerUploadAsync(stack, folder, jobs);
        await AssertOutputsExactlyOnceAsync(stack, records.Values, folder);
        // Full checks (decodable, input size and format, changed) on a sample; the names and counts of all of them above.
        foreach (var (jobId, index) in jobs.Select((id, i) => (id, i)).Where(x => x.i % (RepoPaths.LongRun ? 50 : 10) == 0))
        {
            await JobChecks.AssertSucceededAsync(stack, records[jobId], s_ages, inputs[index % 8], index % 8 % 2 == 0 ? "png" : "jpg");
        }

        // The runner's log: one success per job, never two (the runner was never killed, so none may be missing).
        var successes = await Poll.UntilAsync(async () =>
        {
            await Task.Yield();
            var counted = Regex.Matches(stack.AllRunnerLogs(), @"Job (\w+) succeeded")
                .GroupBy(m => m.Groups[1].Value, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            return jobs.All(counted.ContainsKey) ? counted : null;
        }, TimeSpan.FromSeconds(20), () => "a logged success for every job");
        Assert.All(jobs, jobId => Assert.True(successes[jobId] == 1, $"Job {jobId} succeeded {successes[jobId]} times in the runner's log"));

        var metrics = await stack.RunnerMetricsAsync();
        Assert.Equal(count, metrics.JobsSucceeded - baseline.JobsSucceeded);
        Assert.Equal(baseline.JobsFailed, metrics.JobsFailed);
        Assert.Equal(baseline.JobsPoisoned, metrics.JobsPoisoned);
        Assert.Equal(0, samples[^1].JobsQueue);
        Assert.Equal(0, samples.Max(s => s.PoisonQueue));
        await stack.AssertAliveAsync();
    }

    /// <summary>One sample of the pipeline's state.</summary>
    /// <param name="Seconds">Since the first upload started.</param>
    /// <param name="Uploaded">Uploads written so far.</param>
    /// <param name="JobsQueue">Approximate length of <c>aging-jobs</c> (visible and invisible messages).</param>
    /// <param name="PoisonQueue">Approximate length of <c>aging-jobs-poison</c>.</param>
    /// <param name="Succeeded">Jobs the runner finished since the burst began (its <c>/metrics</c>); -1 when unreadable.</param>
    private sealed record Sample(double Seconds, int Uploaded, int JobsQueue, int PoisonQueue, long Succeeded)
    {
        /// <summary>Jobs OnImageUploaded has queued so far: those still in the queue (in flight included, until the
        /// runner deletes their message) plus those done. None fails here, so this is the ingest curve.</summary>
        public long Enqueued => Succeeded < 0 ? -1 : JobsQueue + Succeeded;
    }

    /// <summary>Samples the queue lengths and the runner's progress every <see cref="s_sampleInterval"/> until cancelled.</summary>
    private static async Task<List<Sample>> SampleAsync(LocalStack stack, Stopwatch clock, Func<int> uploaded, long succeededBefore, CancellationToken cancellationToken)
    {
        var samples = new List<Sample>();
        using var timer = new PeriodicTimer(s_sampleInterval);
        do
        {
            var seconds = clock.Elapsed.TotalSeconds;
            var (jobs, poison) = await stack.QueueLengthsAsync();
            long succeeded;
            try
            {
                succeeded = (await stack.RunnerMetricsAsync()).JobsSucceeded - succeededBefore;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                succeeded = -1;
            }
            samples.Add(new Sample(seconds, uploaded(), jobs, poison, succeeded));
        }
        while (await WaitAsync(timer, cancellationToken));
        return samples;
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Every job record in <c>jobs/</c> that belongs to <paramref name="folder"/> is one of <paramref name="jobs"/>,
    /// and each of those exists once.</summary>
    private static async Task AssertOneRecordPerUploadAsync(LocalStack stack, string folder, IReadOnlyCollection<string> jobs)
    {
        var expected = jobs.ToHashSet(StringComparer.Ordinal);
        var found = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var item in stack.Clients.Jobs.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix: null, CancellationToken.None))
        {
            if (item.Name.Contains('/', StringComparison.Ordinal))
            {
                continue; // batch markers
            }
            var jobId = item.Name[..^".json".Length];
            if (expected.Contains(jobId))
            {
                Assert.True(found.Add(jobId));
            }
            else if (await stack.TryGetJobAsync(jobId) is { } other)
            {
                // Another test's job, not a second job for one of ours.
                Assert.False(other.InputBlob.StartsWith(folder + "/", StringComparison.Ordinal), $"{jobId} is a second job for {other.InputBlob}");
            }
        }
        Assert.Equal(expected.Count, found.Count);
    }

    /// <summary>The <c>aged</c> blobs of the burst are exactly the outputs and contact sheets its records name.</summary>
    private static async Task AssertOutputsExactlyOnceAsync(LocalStack stack, IEnumerable<JobRecord> records, string folder)
    {
        var expected = new List<string>();
        var jobIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            var extension = record.InputBlob.EndsWith(".png", StringComparison.Ordinal) ? "png" : "jpg";
            Assert.StartsWith(folder + "/", record.InputBlob, StringComparison.Ordinal);
            var names = s_ages.Select(age => BlobNames.AgedOutput(record.JobId, record.InputBlob, age, extension))
                .Append(BlobNames.ContactSheet(record.JobId, record.InputBlob, extension)).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(names, record.Outputs.Select(o => o.Blob).Append(record.ContactSheetBlob!).Order(StringComparer.Ordinal));
            expected.AddRange(names);
            jobIds.Add(record.JobId);
        }
        var listed = new List<string>();
        await foreach (var item in stack.Clients.Aged.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix: null, CancellationToken.None))
        {
            if (jobIds.Contains(item.Name[..item.Name.IndexOf('/', StringComparison.Ordinal)]))
            {
                listed.Add(item.Name);
            }
        }
        Assert.Equal(expected.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
    }

    private static Task WaitForEmptyQueuesAsync(LocalStack stack) =>
        Poll.UntilAsync(async () => await stack.QueueLengthsAsync() is (0, 0), TimeSpan.FromSeconds(120), () => "empty job and poison queues\n" + stack.Logs());

    private static string Report(string label, int count, double uploadSeconds, double completionSeconds, double processingSeconds,
        double drainedSeconds, IEnumerable<JobRecord> records, IReadOnlyList<Sample> samples)
    {
        var text = new StringBuilder();
        var attempts = records.GroupBy(r => r.Attempts).OrderBy(g => g.Key).Select(g => $"{g.Key}×{g.Count()}");
        text.AppendLine(CultureInfo.InvariantCulture, $"{label}: {count} uploads, ages {string.Join(',', s_ages)}, one runner");
        text.AppendLine(CultureInfo.InvariantCulture, $"  written in {uploadSeconds:0.0} s: {count / uploadSeconds:0.0} uploads/s");
        if (samples.FirstOrDefault(s => s.Enqueued >= count) is { } enqueued)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  all jobs queued by OnImageUploaded {enqueued.Seconds:0.0} s after the first upload: {count / enqueued.Seconds:0.0} jobs/s ingested (event pump → function app → queue)");
        }
        text.AppendLine(CultureInfo.InvariantCulture, $"  all jobs succeeded {completionSeconds:0.0} s after the first upload: {count / completionSeconds:0.00} jobs/s end to end; "
            + $"{count / processingSeconds:0.00} jobs/s from the runner's first start to its last completion");
        text.AppendLine(CultureInfo.InvariantCulture, $"  queues drained (both empty) at {drainedSeconds:0.0} s; peak job queue {samples.Max(s => s.JobsQueue)}; "
            + $"peak poison queue {samples.Max(s => s.PoisonQueue)}; attempts {string.Join(' ', attempts)}");
        text.AppendLine();
        text.AppendLine("aging-jobs queue length over time:");
        text.AppendLine(Chart(samples, s => s.JobsQueue));
        text.AppendLine();
        text.AppendLine(CsvHeader);
        foreach (var sample in samples)
        {
            text.AppendLine(Csv(sample));
        }
        return text.ToString();
    }

    /// <summary>A text chart of <paramref name="value"/> over time: at most 72 columns (each the maximum over its
    /// time slice) and 12 rows.</summary>
    private static string Chart(IReadOnlyList<Sample> samples, Func<Sample, int> value)
    {
        const int Height = 12;
        var width = Math.Min(72, samples.Count);
        var columns = new int[width];
        for (var i = 0; i < samples.Count; i++)
        {
            var column = (int)((long)i * width / samples.Count);
            columns[column] = Math.Max(columns[column], value(samples[i]));
        }
        var max = Math.Max(1, columns.Max());
        var text = new StringBuilder();
        for (var row = Height; row >= 1; row--)
        {
            var threshold = (double)max * row / Height;
            var axis = row == Height ? max.ToString(CultureInfo.InvariantCulture) : row == 1 ? "0" : string.Empty;
            text.Append(axis.PadLeft(6)).Append(" |");
            foreach (var column in columns)
            {
                text.Append(column >= threshold - (double)max / Height / 2 && column > 0 ? '█' : ' ');
            }
            text.AppendLine();
        }
        var seconds = samples[^1].Seconds;
        text.Append("       +").AppendLine(new string('-', width));
        text.Append(CultureInfo.InvariantCulture, $"        0 s{new string(' ', Math.Max(1, width - 12))}{seconds:0} s");
        return text.ToString();
    }

    private const string CsvHeader = "seconds,uploaded,enqueued,jobs_queue,poison_queue,succeeded";

    private static string Csv(Sample sample) => string.Create(CultureInfo.InvariantCulture,
        $"{sample.Seconds:0.00},{sample.Uploaded},{sample.Enqueued},{sample.JobsQueue},{sample.PoisonQueue},{sample.Succeeded}");

    /// <summary>Text in <paramref name="ink"/> on white, rendered by libvips (Pango).</summary>
    private static Image Label(string text, double[] ink)
    {
        using var mask = Image.Text(System.Security.SecurityElement.Escape(text), font: "sans 11", dpi: 96);
        using var coverage = mask.Linear([1 / 255.0], [0.0]);
        using var paper = coverage.Linear([-255.0], [255.0]);
        using var red = coverage.Linear([ink[0]], [0.0]);
        using var green = coverage.Linear([ink[1]], [0.0]);
        using var blue = coverage.Linear([ink[2]], [0.0]);
        using var inked = red.Bandjoin(green, blue);
        using var sum = inked.Add(paper);
        using var rgb = sum.Cast(Enums.BandFormat.Uchar);
        return rgb.Copy(interpretation: Enums.Interpretation.Srgb);
    }

    /// <summary>Writes the series as CSV and a line chart as PNG (uploads written: grey; jobs queued by OnImageUploaded:
    /// orange; job queue length: blue; jobs succeeded: green; all on one scale, 0 to the number of uploads; grid lines
    /// every 10 % and every 10 s).</summary>
    private void WriteArtifacts(string label, IReadOnlyList<Sample> samples, int count)
    {
        Directory.CreateDirectory(RepoPaths.Artifacts);
        var csv = Path.Combine(RepoPaths.Artifacts, label + ".csv");
        File.WriteAllLines(csv, [CsvHeader, .. samples.Select(Csv)]);
        var png = Path.Combine(RepoPaths.Artifacts, label + ".png");
        const int Width = 960, Height = 400, Left = 64, Right = 20, Top = 48, Bottom = 44;
        var seconds = Math.Max(1, samples[^1].Seconds);
        int X(double t) => Left + (int)(t / seconds * (Width - Left - Right));
        int Y(double v) => Height - Bottom - (int)(v / count * (Height - Top - Bottom));
        var step = seconds <= 60 ? 10 : seconds <= 300 ? 30 : 60;
        (double[] Ink, Func<Sample, double> Value, string Name)[] series =
        [
            ([150, 150, 150], s => s.Uploaded, "uploads written"),
            // Queue length + succeeded counts a finished job twice until its message is deleted: capped at the total.
            ([230, 140, 20], s => Math.Clamp(s.Enqueued, 0, count), "jobs queued by OnImageUploaded"),
            ([40, 90, 220], s => s.JobsQueue, "aging-jobs queue length"),
            ([30, 160, 60], s => Math.Max(0, s.Succeeded), "jobs succeeded"),
        ];
        using var black = Image.Black(Width, Height, bands: 3);
        using var lifted = black.Linear([1.0], [255.0]);
        using var white = lifted.Cast(Enums.BandFormat.Uchar);
        using var lines = white.Mutate(canvas =>
        {
            double[] grid = [225, 225, 225];
            for (var tenth = 0; tenth <= 10; tenth++)
            {
                canvas.DrawLine(grid, Left, Y(count * tenth / 10.0), Width - Right, Y(count * tenth / 10.0));
            }
            for (var t = 0.0; t <= seconds; t += step)
            {
                canvas.DrawLine(grid, X(t), Top, X(t), Height - Bottom);
            }
            double[] axis = [60, 60, 60];
            canvas.DrawLine(axis, Left, Top, Left, Height - Bottom);
            canvas.DrawLine(axis, Left, Height - Bottom, Width - Right, Height - Bottom);
            foreach (var (ink, value, _) in series)
            {
                for (var i = 1; i < samples.Count; i++)
                {
                    canvas.DrawLine(ink, X(samples[i - 1].Seconds), Y(value(samples[i - 1])), X(samples[i].Seconds), Y(value(samples[i])));
                }
            }
        });
        var chart = lines.Copy();
        try
        {
            void Put(string text, double[] ink, int x, int y, bool alignRight = false)
            {
                using var label = Label(text, ink);
                using var placed = chart.Insert(label, alignRight ? x - label.Width : x, y);
                chart.Dispose();
                chart = placed.Copy();
            }
            double[] dark = [40, 40, 40];
            Put($"Burst of {count} uploads: jobs over time (seconds since the first upload)", dark, Left, 6);
            var legendX = Left;
            foreach (var (ink, _, name) in series)
            {
                Put("— " + name, ink, legendX, 26);
                legendX += 26 + (9 * name.Length);
            }
            for (var quarter = 0; quarter <= 4; quarter++)
            {
                Put((count * quarter / 4).ToString(CultureInfo.InvariantCulture), dark, Left - 6, Y(count * quarter / 4.0) - 8, alignRight: true);
            }
            for (var t = 0.0; t <= seconds; t += step)
            {
                Put($"{t:0} s", dark, X(t) - 10, Height - Bottom + 6);
            }
            chart.WriteToFile(png);
        }
        finally
        {
            chart.Dispose();
        }
        output.WriteLine($"series: {csv}\nchart:  {png} (grey: uploads written, orange: jobs queued by OnImageUploaded, blue: aging-jobs length, green: jobs succeeded; 0–{count}, grid every 10 % and 10 s)");
    }
}
