using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AgingPipeline.Bench;

/// <summary>The printed table, the ratios against the goals of issue #7, and the JSON written next to them.</summary>
internal static class Report
{
    private static readonly JsonSerializerOptions s_indentedWeb = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Goal: (2)/(1) at least this.</summary>
    public const double RunnerToOrtGoal = 0.90;

    /// <summary>Goal: (2)/(3) at least this.</summary>
    public const double RunnerToTorchGoal = 3.0;

    /// <summary>Goal: p50 upload → all outputs at most this, seconds.</summary>
    public const double LatencyGoalSeconds = 2.0;

    /// <summary>Goal: the runner's peak RSS at most this, MiB.</summary>
    public const double RssGoalMiB = 1024;

    /// <summary>One goal line: what, measured, goal text, met.</summary>
    public sealed record Goal(string What, double Measured, string Display, string GoalText, double Target, bool AtMost)
    {
        public bool Met => AtMost ? Measured <= Target : Measured >= Target;
    }

    /// <summary>The goals that this report has figures for.</summary>
    public static IReadOnlyList<Goal> Goals(BenchReport r)
    {
        var goals = new List<Goal>();
        if (r.Stack is { } s && r.Ort is { } o)
        {
            var ratio = s.AgedImagesPerSecond / o.Best.AgedImagesPerSecond;
            goals.Add(new("(2)/(1) runner ÷ bare ORT", ratio, F(ratio, "0.000"), "≥ 0.90", RunnerToOrtGoal, false));
        }
        if (r.Stack is { } s2 && r.Torch is { } t)
        {
            var ratio = s2.AgedImagesPerSecond / t.AgedImagesPerSecond;
            goals.Add(new("(2)/(3) runner ÷ PyTorch+Pillow", ratio, F(ratio, "0.00") + "×", "≥ 3×", RunnerToTorchGoal, false));
        }
        if (r.Stack is { NoSheetAgedImagesPerSecond: { } same } && r.Torch is { } t2)
        {
            var ratio = same / t2.AgedImagesPerSecond;
            goals.Add(new("(2′)/(3) like for like: no contact sheet", ratio, F(ratio, "0.00") + "×", "≥ 3×", RunnerToTorchGoal, false));
        }
        if (r.Stack is { } s3)
        {
            goals.Add(new("p50 upload → all outputs", s3.LatencyP50, F(s3.LatencyP50, "0.00") + " s", "≤ 2 s", LatencyGoalSeconds, true));
        }
        if (r.Rss is { } m)
        {
            goals.Add(new("runner peak RSS", m.PeakRssMiB, F(m.PeakRssMiB, "0") + " MiB", "≤ 1024 MiB", RssGoalMiB, true));
        }
        return goals;
    }

    /// <summary>The markdown printed at the end of a run (and pasted into BENCHMARKS.md).</summary>
    public static string Markdown(BenchReport r)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"# {r.Date:yyyy-MM-dd HH:mm} UTC, {r.Machine}");
        text.AppendLine(CultureInfo.InvariantCulture, $"# model {r.ModelPath} (sha256 {r.ModelSha256[..12]}…){(r.Quick ? ", QUICK run (small counts)" : "")}");
        text.AppendLine();
        text.AppendLine("| # | path | what is counted | aged images/s | p50 | p95 | peak RSS |");
        text.AppendLine("|---|---|---|---:|---:|---:|---:|");
        if (r.Ort is { } o)
        {
            var b = o.Best;
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| 1 | bare ONNX Runtime, {o.Threads} threads | pre-made {o.Size}² tensors, best batch = {b.Batch} | {b.AgedImagesPerSecond:F1} | {b.P50Ms:F1} ms / batch | {b.P95Ms:F1} ms / batch | – |");
        }
        if (r.Stack is { } s)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| 2 | runner on the local stack ({s.Configuration}, {s.Concurrency} jobs in flight, pixel work one per core) | burst of {s.BurstImages} × 1 MP JPEG × {s.Ages.Count} ages, upload → succeeded; latency: {s.LatencyRuns} sequential uploads | {s.AgedImagesPerSecond:F1} | {s.LatencyP50:F2} s | {s.LatencyP95:F2} s | – |");
        }
        if (r.Stack is { NoSheetAgedImagesPerSecond: { } same } s4)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| 2′ | the same runner without contact sheets (`Runner:WriteContactSheet=false`) | the same burst: only the aged images, the Python baseline's work | {same:F1} | – | – | – |");
        }
        if (r.Torch is { } t)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| 3 | PyTorch {t.Torch} eager + Pillow, {t.Threads} threads | {t.Images} × 1 MP JPEG × {t.AgedImages / Math.Max(1, t.Images)} ages, bytes in → JPEG bytes out, no storage | {t.AgedImagesPerSecond:F1} | {t.ImageP50Seconds:F2} s / image | {t.ImageP95Seconds:F2} s / image | – |");
        }
        if (r.Rss is { } m)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| 4 | runner peak RSS (VmHWM), fresh process | {m.Images} images ({m.LargeImages} of them 4000×3000) × ages, in {m.Seconds:F0} s; 12 MP job p50 {m.LargeRunnerP50:F2} s | – | – | – | {m.PeakRssMiB:F0} MiB |");
        }
        var goals = Goals(r);
        if (goals.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("| goal | measured | target | met |");
            text.AppendLine("|---|---:|---:|---|");
            foreach (var g in goals)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"| {g.What} | {g.Display} | {g.GoalText} | {(g.Met ? "yes" : "**no**")} |");
            }
        }
        if (r.Stack is { } st)
        {
            text.AppendLine();
            text.AppendLine("Where a job's time goes (runner `/metrics`, seconds per job; the burst's are job-seconds with jobs overlapping):");
            text.AppendLine();
            text.AppendLine("| stage | sequential (latency runs) | burst |");
            text.AppendLine("|---|---:|---:|");
            text.AppendLine(CultureInfo.InvariantCulture, $"| blob written → record created (event pump + OnImageUploaded), p50 | {st.IngestP50:F3} | – |");
            text.AppendLine(CultureInfo.InvariantCulture, $"| record created → runner starts (queue, receive poll), p50 | {st.QueueP50:F3} | – |");
            text.AppendLine(CultureInfo.InvariantCulture, $"| runner starts → succeeded, p50 | {st.RunnerP50:F3} | – |");
            foreach (var stage in st.LatencyStages.PerJobSeconds.Keys.Union(st.BurstStages.PerJobSeconds.Keys).Order(StringComparer.Ordinal))
            {
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| runner stage `{stage}` | {st.LatencyStages.PerJobSeconds.GetValueOrDefault(stage):F3} | {st.BurstStages.PerJobSeconds.GetValueOrDefault(stage):F3} |");
            }
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| ONNX Runtime session running batches | {st.LatencyStages.ModelRunSeconds:F3} | {st.BurstStages.ModelRunSeconds:F3} |");
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| mean batch (requests ÷ batches) | {st.LatencyStages.MeanBatch:F1} | {st.BurstStages.MeanBatch:F1} |");
        }
        return text.ToString();
    }

    /// <summary>Writes <c>results.json</c> (and a dated copy) under <paramref name="directory"/>.</summary>
    public static string WriteJson(BenchReport r, string directory)
    {
        Directory.CreateDirectory(directory);
        var json = JsonSerializer.Serialize(r, s_indentedWeb);
        var path = Path.Combine(directory, "results.json");
        File.WriteAllText(path, json);
        File.WriteAllText(Path.Combine(directory, $"results-{r.Date:yyyyMMdd-HHmmss}.json"), json);
        return path;
    }

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
