using System.Globalization;
using AgingPipeline.Contracts;
using AgingPipeline.Testing;

namespace AgingPipeline.Bench;

/// <summary>Command-line options of the harness; <c>--quick</c> changes the defaults of the counts, explicit options
/// win.</summary>
internal sealed class BenchOptions
{
    public const string Usage = """
        usage: dotnet run -c Release --project bench/AgingPipeline.Bench -- [all|ort|stack|torch|rss] [options]
          all (default)          (1)–(4) on the same images, one table, ratios, artifacts/bench/*.json, docs/benchmarks/*.png
          ort                    (1) bare ONNX Runtime only: the batch sweep
          stack                  (2) the runner on the local stack: latency and a burst
          torch                  (3) PyTorch eager + Pillow (bench/torch_baseline.py with /usr/bin/python3)
          rss                    (4) the runner's peak RSS over many images, some 12 MP
          faces                  what the face-aware path adds per 1 MP image (detection, alignment, blend), in-process
          chart                  re-render the table and the chart from artifacts/bench/results.json
        options:
          --quick                small counts (about 2 minutes on 2 cores)
          --model DIR            model version folder (default: the newest models/character-ager/N, as the runner serves)
          --ages 20,40,60,80     target ages of every image
          --region auto|faces|whole  the region of every upload (default auto: the faces found)
          --ort-seconds S        seconds per batch size in (1) (default 4; quick 1.5)
          --batches 1,8,…        batch sizes of (1) (default 1,2,4,8,16,32; quick 1,4,8,16)
          --latency-runs N       sequential uploads for p50/p95 (default 20; quick 8)
          --burst N              images uploaded at once for images/s (default 48; quick 12)
          --torch-images N       images through the Python baseline (default 24; quick 8)
          --rss-images N         images of (4) (default 200; quick 30)
          --rss-large-every K    one 12 MP image in K (default 16: 12 of 200)
          --concurrency N        Runner:MaxConcurrentJobs (default 4, the shipped default; pixel workers: one per core)
          --runner-setting K=V   extra runner environment (repeatable), e.g. Runner__WriteContactSheet=false
          --no-like-for-like     skip the second burst without contact sheets
          --no-chart             do not write docs/benchmarks/pipeline.png
        """;

    public string Mode { get; private set; } = "all";

    public bool Quick { get; private set; }

    public string ModelDirectory { get; private set; } = NewestVersion(Path.Combine(RepoPaths.Root, "models", "character-ager"));

    public IReadOnlyList<int> Ages { get; private set; } = [20, 40, 60, 80];

    public AgingRegion Region { get; private set; } = AgingRegion.Auto;

    public double OrtSeconds { get; private set; }

    public IReadOnlyList<int> Batches { get; private set; } = [];

    public int WarmupImages { get; private set; } = 3;

    public int LatencyRuns { get; private set; }

    public int BurstImages { get; private set; }

    public int TorchImages { get; private set; }

    public int RssImages { get; private set; }

    public int RssLargeEvery { get; private set; } = 16;

    public int LargeImages { get; private set; } = 4;

    public int Concurrency { get; private set; } = 4;

    public bool Chart { get; private set; } = true;

    /// <summary>Also run the burst without contact sheets (the Python baseline's work exactly).</summary>
    public bool LikeForLike { get; private set; } = true;

    public Dictionary<string, string> RunnerSettings { get; } = new(StringComparer.Ordinal);

    public string ArtifactsDirectory { get; } = Path.Combine(RepoPaths.Root, "artifacts", "bench");

    public string ChartPath { get; } = Path.Combine(RepoPaths.Root, "docs", "benchmarks", "pipeline.png");

    public string ModelPath => Path.Combine(ModelDirectory, "model.onnx");

    /// <summary>The highest numbered version folder of a model (what the runner serves by default).</summary>
    private static string NewestVersion(string model) =>
        Directory.Exists(model)
            ? Directory.EnumerateDirectories(model)
                .Where(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out _))
                .OrderByDescending(d => int.Parse(Path.GetFileName(d), CultureInfo.InvariantCulture))
                .FirstOrDefault() ?? Path.Combine(model, "1")
            : Path.Combine(model, "1");

    /// <summary>Parses <paramref name="args"/>; throws <see cref="ArgumentException"/> with a readable message.</summary>
    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var o = new BenchOptions();
        var quick = args.Contains("--quick");
        o.Quick = quick;
        o.OrtSeconds = quick ? 1.5 : 4;
        o.Batches = quick ? [1, 4, 8, 16] : [1, 2, 4, 8, 16, 32];
        o.LatencyRuns = quick ? 8 : 20;
        o.BurstImages = quick ? 12 : 48;
        o.TorchImages = quick ? 8 : 24;
        o.RssImages = quick ? 30 : 200;
        o.LargeImages = quick ? 2 : 4;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{arg} needs a value.");
            int Int() => int.Parse(Value(), CultureInfo.InvariantCulture);
            switch (arg)
            {
                case "all" or "ort" or "stack" or "torch" or "rss" or "chart" or "faces":
                    o.Mode = arg;
                    break;
                case "--quick":
                    break;
                case "--model":
                    var model = Path.GetFullPath(Value());
                    o.ModelDirectory = File.Exists(model) ? Path.GetDirectoryName(model)! : model;
                    break;
                case "--region":
                    o.Region = AgingRegions.Parse(Value());
                    break;
                case "--ages":
                    o.Ages = [.. Value().Split(',').Select(a => int.Parse(a, CultureInfo.InvariantCulture))];
                    break;
                case "--ort-seconds":
                    o.OrtSeconds = double.Parse(Value(), CultureInfo.InvariantCulture);
                    break;
                case "--batches":
                    o.Batches = [.. Value().Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture))];
                    break;
                case "--latency-runs":
                    o.LatencyRuns = Int();
                    break;
                case "--burst":
                    o.BurstImages = Int();
                    break;
                case "--torch-images":
                    o.TorchImages = Int();
                    break;
                case "--rss-images":
                    o.RssImages = Int();
                    break;
                case "--rss-large-every":
                    o.RssLargeEvery = Math.Max(1, Int());
                    break;
                case "--concurrency":
                    o.Concurrency = Int();
                    break;
                case "--runner-setting":
                    var setting = Value().Split('=', 2);
                    o.RunnerSettings[setting[0]] = setting.Length > 1 ? setting[1] : throw new ArgumentException("--runner-setting needs KEY=VALUE.");
                    break;
                case "--no-like-for-like":
                    o.LikeForLike = false;
                    break;
                case "--no-chart":
                    o.Chart = false;
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{arg}'");
            }
        }
        if (!File.Exists(o.ModelPath))
        {
            throw new ArgumentException($"model not found: {o.ModelPath}");
        }
        return o;
    }
}
