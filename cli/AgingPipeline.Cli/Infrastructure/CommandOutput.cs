using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using AgingPipeline.Contracts;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace AgingPipeline.Cli.Infrastructure;

/// <summary>Writes results: the summary table (or JSON), errors with what to do next, and notes.</summary>
internal sealed class CommandOutput(CliConsole console, bool json, bool quiet)
{
    private const int MaxListedFailures = 30;

    /// <summary>The console written to.</summary>
    public CliConsole Console => console;

    /// <summary>True when the result is written as JSON.</summary>
    public bool Json => json;

    /// <summary>True when progress and notes are off.</summary>
    public bool Quiet => quiet;

    /// <summary>True when live progress should be drawn (stderr is a terminal, not quiet).</summary>
    public bool ShowProgress => !quiet && console.ErrorIsTerminal;

    /// <summary>A note on stderr (not in quiet mode).</summary>
    public void Note(string text)
    {
        if (!quiet)
        {
            console.Err.MarkupLine($"[grey]{Markup.Escape(text)}[/]");
        }
    }

    /// <summary>A warning on stderr (not in quiet mode).</summary>
    public void Warn(string text)
    {
        if (!quiet)
        {
            console.Err.MarkupLine($"[yellow]warning:[/] {Markup.Escape(text)}");
        }
    }

    /// <summary>Reports an error that stopped the command; returns its exit code.</summary>
    /// <param name="code">The reason.</param>
    /// <param name="message">What happened.</param>
    /// <param name="nextStep">What to do next, when the code's general advice does not fit.</param>
    public int Error(PipelineErrorCode code, string message, string? nextStep = null)
    {
        var exitCode = ExitCodes.For(code);
        var next = nextStep ?? ExitCodes.NextStep(code);
        console.Err.MarkupLine($"[red]error ({Markup.Escape(code.ToString())}):[/] {Markup.Escape(message)}");
        console.Err.MarkupLine($"[grey]next:[/] {Markup.Escape(next)}");
        if (json)
        {
            WriteJson(new ErrorDocument(new ErrorReport(code.ToString(), message, next, exitCode)), CliJsonContext.Default.ErrorDocument);
        }
        return exitCode;
    }

    /// <summary>Writes a document as indented JSON on stdout.</summary>
    public void WriteJson<T>(T document, JsonTypeInfo<T> typeInfo)
    {
        console.Output.WriteLine(JsonSerializer.Serialize(document, typeInfo));
        console.Output.Flush();
    }

    /// <summary>Writes the result of a run (JSON or tables) and returns its exit code.</summary>
    public int Report(RunReport report, string? footer = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (json)
        {
            WriteJson(report, CliJsonContext.Default.RunReport);
            return report.ExitCode;
        }
        var counts = report.Counts;
        var table = new Table().Border(TableBorder.Rounded).Title("Summary");
        table.AddColumn("Result");
        table.AddColumn("Reason");
        table.AddColumn(new TableColumn("Files").RightAligned());
        table.AddColumn(new TableColumn("Exit").RightAligned());
        table.AddColumn("Example");
        table.AddRow(Cell("done", Color.Green), Cell(string.Empty), Cell(Count(counts.Done)), Cell(string.Empty), Cell(string.Empty));
        foreach (var group in report.Files.Where(f => f.Result == FileResults.Skipped).GroupBy(f => f.Reason ?? string.Empty).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            table.AddRow(Cell("skipped", Color.Grey), Cell(group.Key), Cell(Count(group.Count())), Cell(string.Empty), Cell(group.First().Input));
        }
        foreach (var group in report.Files.Where(f => f.Result == FileResults.Failed).GroupBy(f => f.Code ?? PipelineErrorCode.Internal).OrderBy(g => g.Key))
        {
            var first = group.First();
            table.AddRow(Cell("failed", Color.Red), Cell(group.Key.ToString()), Cell(Count(group.Count())),
                Cell(ExitCodes.For(group.Key).ToString(CultureInfo.InvariantCulture)), Cell($"{first.Input}: {first.Reason}"));
        }
        foreach (var group in report.Files.Where(f => f.Result == FileResults.Incomplete).GroupBy(f => f.Reason ?? string.Empty).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            table.AddRow(Cell("incomplete", Color.Yellow), Cell(group.Key), Cell(Count(group.Count())),
                Cell(ExitCodes.Incomplete.ToString(CultureInfo.InvariantCulture)), Cell(group.First().Input));
        }
        table.AddRow(Cell("total"), Cell(string.Empty), Cell(Count(counts.Total)), Cell(report.ExitCode.ToString(CultureInfo.InvariantCulture)), Cell(string.Empty));
        console.Out.Write(table);

        var failures = report.Files.Where(f => f.Result == FileResults.Failed).ToList();
        if (failures.Count > 1)
        {
            var list = new Table().Border(TableBorder.Simple).Title("Failed files");
            list.AddColumn("File");
            list.AddColumn("Code");
            list.AddColumn("Reason");
            foreach (var failure in failures.Take(MaxListedFailures))
            {
                list.AddRow(Cell(failure.Input), Cell((failure.Code ?? PipelineErrorCode.Internal).ToString()), Cell(failure.Reason ?? string.Empty));
            }
            console.Out.Write(list);
            if (failures.Count > MaxListedFailures)
            {
                console.Out.WriteLine($"… and {failures.Count - MaxListedFailures} more (--json lists them all).");
            }
        }
        foreach (var code in failures.Select(f => f.Code ?? PipelineErrorCode.Internal).Distinct().Order())
        {
            console.Out.MarkupLine($"[grey]next ({Markup.Escape(code.ToString())}):[/] {Markup.Escape(ExitCodes.NextStep(code))}");
        }
        if (counts.Incomplete > 0)
        {
            console.Out.MarkupLine($"[grey]next (incomplete):[/] {Markup.Escape(ExitCodes.Table.First(r => r.Code == ExitCodes.Incomplete).NextStep)}");
        }
        var rate = report.ElapsedSeconds > 0 ? (counts.Done + counts.Failed) / report.ElapsedSeconds : 0;
        console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{counts.Done} done, {counts.Skipped} skipped, {counts.Failed} failed{(counts.Incomplete > 0 ? $", {counts.Incomplete} incomplete" : string.Empty)}; {counts.OutputsWritten} outputs written in {report.ElapsedSeconds:0.0} s ({rate:0.0} files/s)."));
        if (RegionLine(report.Files) is { } regionLine)
        {
            console.Out.WriteLine(regionLine);
        }
        if (footer is not null)
        {
            console.Out.WriteLine(footer);
        }
        return report.ExitCode;
    }

    /// <summary>"Aged: 3 file(s) by their faces (4 faces), 1 as the whole picture.", or null when no file says what was
    /// aged.</summary>
    internal static string? RegionLine(IReadOnlyList<FileReport> files)
    {
        var faces = files.Where(f => f.AppliedRegion == RegionOutcome.FacesApplied).ToList();
        var whole = files.Count(f => f.AppliedRegion == RegionOutcome.WholeFrameApplied);
        if (faces.Count == 0 && whole == 0)
        {
            return null;
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"Aged: {faces.Count} file(s) by their faces ({faces.Sum(f => f.Faces ?? 0)} faces), {whole} as the whole picture.");
    }

    /// <summary>A table cell of plain text (never parsed as markup).</summary>
    public static IRenderable Cell(string text, Color? color = null) =>
        new Text(text, color is { } c ? new Style(c) : Style.Plain);

    private static string Count(int value) => value.ToString(CultureInfo.InvariantCulture);
}
