using System.Globalization;
using System.Security;
using System.Text;
using NetVips;

namespace AgingPipeline.Bench;

/// <summary>Draws the results as an SVG and renders it to PNG with libvips (<c>svgload</c>, librsvg in the NetVips
/// native build).</summary>
internal static class Chart
{
    private const int Width = 1100;
    private const int Height = 730;

    public static void WritePng(BenchReport r, string path, string svgPath)
    {
        var svg = Svg(r);
        Directory.CreateDirectory(Path.GetDirectoryName(svgPath)!);
        File.WriteAllText(svgPath, svg);
        using var image = Image.SvgloadBuffer(Encoding.UTF8.GetBytes(svg));
        using var flat = image.HasAlpha() ? image.Flatten([255, 255, 255]) : image.Copy();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        flat.Pngsave(path, compression: 9, keep: Enums.ForeignKeep.None);
    }

    /// <summary>Left: aged images per second of (1), (2), (3) on a log scale. Right: each goal as measured ÷ goal.</summary>
    public static string Svg(BenchReport r)
    {
        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{Height}" font-family="DejaVu Sans, sans-serif">""");
        s.Append(CultureInfo.InvariantCulture, $"""<rect width="{Width}" height="{Height}" fill="white"/>""");
        Text(s, 30, 40, 22, "bold", "#111", "Ageing pipeline benchmark (issue #7)");
        Text(s, 30, 66, 14, "normal", "#444",
            $"{r.Date:yyyy-MM-dd HH:mm} UTC · {r.Machine} · model sha256 {r.ModelSha256[..12]}{(r.Quick ? " · QUICK run" : "")}");

        // Throughput bars (log scale, 0.1 … 1000 aged images/s).
        Text(s, 30, 110, 16, "bold", "#111", "Aged images per second (log scale)");
        var bars = new List<(string Label, string Sub, double Value, string Colour)>();
        if (r.Ort is { } o)
        {
            bars.Add(("(1) bare ONNX Runtime", $"{o.Size}² tensors, batch {o.Best.Batch}", o.Best.AgedImagesPerSecond, "#8a8a8a"));
        }
        if (r.Stack is { } st)
        {
            bars.Add(("(2) runner, local stack", $"1 MP JPEG in → {st.Ages.Count} JPEGs out, storage", st.AgedImagesPerSecond, "#2f6fd0"));
        }
        if (r.Stack is { NoSheetAgedImagesPerSecond: { } same })
        {
            bars.Add(("(2′) runner, no contact sheet", "the same, aged images only", same, "#7fa8e6"));
        }
        if (r.Torch is { } t)
        {
            bars.Add(("(3) PyTorch eager + Pillow", "1 MP JPEG in → JPEGs out, no storage", t.AgedImagesPerSecond, "#d0702f"));
        }
        const int left = 290, top = 130, barWidth = 270, rowHeight = 64;
        double Scale(double v) => Math.Clamp((Math.Log10(Math.Max(v, 0.1)) + 1) / 4.0, 0, 1) * barWidth;
        foreach (var tick in new[] { 0.1, 1, 10, 100, 1000 })
        {
            var x = left + Scale(tick);
            s.Append(CultureInfo.InvariantCulture, $"""<line x1="{x:F1}" y1="{top - 5}" x2="{x:F1}" y2="{top + rowHeight * 4 + 5}" stroke="#ddd"/>""");
            Text(s, x - 10, top + rowHeight * 4 + 25, 12, "normal", "#666", tick.ToString(CultureInfo.InvariantCulture));
        }
        for (var i = 0; i < bars.Count; i++)
        {
            var (label, sub, value, colour) = bars[i];
            var y = top + i * rowHeight + 12;
            Text(s, 30, y + 18, 15, "bold", "#222", label);
            Text(s, 30, y + 38, 12, "normal", "#555", sub);
            s.Append(CultureInfo.InvariantCulture, $"""<rect x="{left}" y="{y}" width="{Scale(value):F1}" height="34" fill="{colour}"/>""");
            Text(s, left + Scale(value) + 8, y + 23, 15, "bold", "#222", value.ToString("F1", CultureInfo.InvariantCulture));
        }

        // Goals: measured ÷ target, with the target line at 1.
        const int gx = 640;
        Text(s, gx, 110, 16, "bold", "#111", "Goals of issue #7 (bar past the line = met)");
        var goals = Report.Goals(r);
        for (var i = 0; i < goals.Count; i++)
        {
            var g = goals[i];
            var y = 135 + i * 76;
            Text(s, gx, y + 14, 14, "bold", "#222", g.What);
            Text(s, gx, y + 34, 13, "normal", g.Met ? "#1d7a2e" : "#b3261e", $"{g.Display} (goal {g.GoalText}) — {(g.Met ? "met" : "not met")}");
            // For "at least" goals the bar is measured ÷ goal; for "at most" goals it is goal ÷ measured, so a bar
            // reaching the line always means "met".
            var fraction = g.AtMost ? g.Target / Math.Max(g.Measured, 1e-9) : g.Measured / g.Target;
            var width = Math.Clamp(fraction, 0, 1.5) / 1.5 * 400;
            s.Append(CultureInfo.InvariantCulture, $"""<rect x="{gx}" y="{y + 44}" width="400" height="22" fill="#f0f0f0"/>""");
            s.Append(CultureInfo.InvariantCulture, $"""<rect x="{gx}" y="{y + 44}" width="{width:F1}" height="22" fill="{(g.Met ? "#3aa655" : "#d9534f")}"/>""");
            var line = gx + 400 / 1.5;
            s.Append(CultureInfo.InvariantCulture, $"""<line x1="{line:F1}" y1="{y + 40}" x2="{line:F1}" y2="{y + 70}" stroke="#111" stroke-width="2"/>""");
        }
        if (r.Stack is { } stack)
        {
            Breakdown(s, stack, 30, 545);
        }
        Text(s, 30, Height - 34, 12, "normal", "#666",
            "Same 1 MP character JPEGs and the same weights for (2) and (3); (1) runs the model alone on pre-made tensors; unit: one aged image = one (image, age).");
        Text(s, 30, Height - 16, 12, "normal", "#666", "Command: " + r.Command);
        s.Append("</svg>");
        return s.ToString();
    }

    /// <summary>One sequential job (1 MP × the ages) as a stacked bar of its p50 phases and the runner's mean stage
    /// times: what bounds the latency and the throughput. The final record write comes after the completion time the
    /// latency is measured to, so it is not in the bar.</summary>
    private static void Breakdown(StringBuilder s, StackResult st, int x, int y)
    {
        var stages = st.LatencyStages.PerJobSeconds;
        double Stage(string name) => stages.GetValueOrDefault(name);
        var infer = Stage("age.infer");
        var model = Math.Min(st.LatencyStages.ModelRunSeconds, infer);
        var parts = new List<(string Label, double Seconds, string Colour)>
        {
            ("event pump + ingest", st.IngestP50, "#b0b0b0"),
            ("queue + receive poll", st.QueueP50, "#d5d5d5"),
            ("record → processing", Stage("start"), "#f5c26b"),
            ("download", Stage("download"), "#8fb8e8"),
            ("wait for a pixel worker", Stage("pixel-wait"), "#e0e0e0"),
            ("decode", Stage("age.decode"), "#5b9bd5"),
            ("ONNX Runtime", model, "#8a8a8a"),
            ("batch wait", Math.Max(0, infer - model), "#c8c8c8"),
            ("compose + encode", Stage("age.compose-encode"), "#2f6fd0"),
            ("contact sheet", Stage("contact-sheet"), "#7b52c7"),
            ("upload outputs", Stage("write"), "#a58ad8"),
        };
        // The runner's p50 (started → succeeded) beyond its timed stages: model lookup, lease, scheduling on a busy CPU.
        var timed = Stage("start") + Stage("download") + Stage("pixel-wait") + Stage("age") + Stage("contact-sheet") + Stage("write");
        parts.Add(("other runner work", Math.Max(0, st.RunnerP50 - timed), "#f0d090"));
        var total = parts.Sum(p => p.Seconds);
        Text(s, x, y, 16, "bold", "#111",
            FormattableString.Invariant($"Where one job's time goes: 1 MP × {st.Ages.Count} ages, sequential (sum {total:F2} s; measured p50 {st.LatencyP50:F2} s)"));
        const int width = 1030;
        double cursor = x;
        var labelRow = 0;
        foreach (var (label, seconds, colour) in parts)
        {
            var w = total <= 0 ? 0 : seconds / total * width;
            s.Append(CultureInfo.InvariantCulture, $"""<rect x="{cursor:F1}" y="{y + 14}" width="{w:F1}" height="30" fill="{colour}" stroke="white"/>""");
            var lx = x + (labelRow % 4) * 260;
            var ly = y + 66 + (labelRow / 4) * 20;
            s.Append(CultureInfo.InvariantCulture, $"""<rect x="{lx}" y="{ly - 11}" width="12" height="12" fill="{colour}"/>""");
            Text(s, lx + 16, ly, 12, "normal", "#333", FormattableString.Invariant($"{label} {seconds * 1000:F0} ms"));
            cursor += w;
            labelRow++;
        }
    }

    private static void Text(StringBuilder s, double x, double y, int size, string weight, string colour, string text) =>
        s.Append(CultureInfo.InvariantCulture,
            $"""<text x="{x:F1}" y="{y:F1}" font-size="{size}" font-weight="{weight}" fill="{colour}">{SecurityElement.Escape(text)}</text>""");
}
