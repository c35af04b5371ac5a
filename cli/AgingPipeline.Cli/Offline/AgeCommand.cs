using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using AgingPipeline.Cli.Infrastructure;
using AgingPipeline.Cli.Models;
using AgingPipeline.Contracts;
using AgingPipeline.Imaging;
using AgingPipeline.Processing;

namespace AgingPipeline.Cli.Offline;

/// <summary><c>aging age &lt;dir|file&gt; --ages … --out …</c>: ages local images in this process, with no storage.</summary>
internal static class AgeCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(CliOptions common, CliConsole console)
    {
        var input = new Argument<string>("input") { Description = "An image, or a folder of images (searched recursively)." };
        var ages = CliOptions.Ages(required: true);
        var outFolder = new Option<string>("--out", "-o") { Description = "Output folder; the input's folder structure is mirrored below it.", Required = true };
        var force = CliOptions.Force();
        var model = CliOptions.Model();
        var region = CliOptions.Region();
        var models = CliOptions.Models();
        var jobs = new Option<int?>("--jobs", "-j")
        {
            Description = "Images processed at once, at most the number of cores (default: the number of cores).",
        };
        var noSheet = new Option<bool>("--no-contact-sheet") { Description = "Do not write a contact sheet (input and every age side by side) per image." };
        var command = new Command("age", "Age local images offline, in this process (no storage, no pipeline). Outputs are named like the pipeline's: {stem}.age{N}.{ext} and {stem}.contact.{ext}; existing outputs are skipped.")
        {
            input, ages, outFolder, force, model, region, models, jobs, noSheet,
        };
        AgingCli.SetAction(command, common, console, (parse, output, ct) => RunAsync(
            new AgeArguments(
                parse.GetRequiredValue(input),
                parse.GetValue(ages),
                parse.GetRequiredValue(outFolder),
                parse.GetValue(force),
                parse.GetValue(model),
                parse.GetValue(models),
                parse.GetValue(jobs),
                !parse.GetValue(noSheet),
                parse.GetValue(region)),
            output,
            ct));
        return command;
    }

    private sealed record AgeArguments(string Input, string[]? Ages, string Output, bool Force, string? Model, string? Models, int? Jobs, bool ContactSheet, string? Region);

    private static async Task<int> RunAsync(AgeArguments arguments, CommandOutput output, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var inputPath = CliArguments.FullPath(arguments.Input);
        var outputRoot = CliArguments.FullPath(arguments.Output);
        var ages = CliArguments.ParseAges(arguments.Ages);
        var choice = CliArguments.ParseModel(arguments.Model);
        var region = CliArguments.ParseRegion(arguments.Region) ?? AgingRegion.Auto;
        if (!File.Exists(inputPath) && !Directory.Exists(inputPath))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, $"The input {inputPath} does not exist.");
        }
        if (Directory.Exists(inputPath) && string.Equals(Path.TrimEndingDirectorySeparator(inputPath), Path.TrimEndingDirectorySeparator(outputRoot), StringComparison.Ordinal))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                "--out must not be the input folder (outputs would be taken for inputs next time); use a folder beside it or below it.");
        }
        if (File.Exists(outputRoot))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, $"--out {outputRoot} is a file; give a folder.");
        }
        var jobs = ResolveJobs(arguments.Jobs, output);

        var imaging = new ImagingOptions { VipsConcurrency = Math.Max(1, Environment.ProcessorCount / jobs), Limits = CliArguments.Limits };
        var contactSheets = new ContactSheetRenderer(imaging);
        await using var repository = await ModelLoader.OpenAsync(ModelRoots.Resolve(arguments.Models), cancellationToken).ConfigureAwait(false);
        var model = ModelLoader.GetAger(repository, choice, ages);

        var files = InputScanner.Scan(inputPath, [outputRoot]);
        var planned = OfflinePlanner.Plan(files, new OutputNames(), CliArguments.Limits);
        try
        {
            Directory.CreateDirectory(outputRoot);
            AtomicFile.CleanUpAbandoned(outputRoot);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, $"The output folder {outputRoot} could not be created: {e.Message}", e);
        }
        output.Note(string.Create(CultureInfo.InvariantCulture,
            $"Ageing {planned.Count} file(s) from {inputPath} to ages {UploadMetadata.FormatAges(ages)} with {model.Name}/{model.Version} ({model.ExecutionProvider}), region {region.ToWireName()}, {jobs} at a time."));

        var settings = new OfflineSettings(outputRoot, ages, model, jobs, arguments.Force, arguments.ContactSheet, region);
        var engine = new OfflineAger(ImageAger.Create(imaging, repository), contactSheets);
        var reports = await ProgressDisplay.RunAsync(output.Console, output.ShowProgress, async sink =>
        {
            var line = sink.Add("ageing", planned.Count, "img");
            int done = 0, skipped = 0, failed = 0;
            var result = await engine.RunAsync(planned, settings, report =>
            {
                _ = report.Result switch
                {
                    FileResults.Done => Interlocked.Increment(ref done),
                    FileResults.Skipped => Interlocked.Increment(ref skipped),
                    _ => Interlocked.Increment(ref failed),
                };
                line.Describe(string.Create(CultureInfo.InvariantCulture,
                    $"ageing: {Volatile.Read(ref done)} done, {Volatile.Read(ref skipped)} skipped, {Volatile.Read(ref failed)} failed"));
                line.Increment();
            }, cancellationToken).ConfigureAwait(false);
            line.Complete();
            return result;
        }).ConfigureAwait(false);

        var report = RunReport.Create("age", inputPath, outputRoot, reports, Stopwatch.GetElapsedTime(started),
            $"{model.Name}/{model.Version}", ages, region: region);
        if (planned.Count == 0)
        {
            output.Note($"No file found under {inputPath}.");
        }
        return output.Report(report, $"Outputs are in {outputRoot}.");
    }

    private static int ResolveJobs(int? requested, CommandOutput output)
    {
        var cores = Environment.ProcessorCount;
        if (requested is null)
        {
            return cores;
        }
        if (requested < 1)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, "--jobs must be at least 1.");
        }
        if (requested > cores)
        {
            output.Warn($"--jobs {requested} is more than the {cores} cores of this machine; using {cores}.");
            return cores;
        }
        return requested.Value;
    }
}
