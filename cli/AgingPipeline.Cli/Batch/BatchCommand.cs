using System.CommandLine;
using AgingPipeline.Cli.Infrastructure;
using AgingPipeline.Contracts;

namespace AgingPipeline.Cli.Batch;

/// <summary><c>aging batch &lt;dir&gt;</c>: uploads a folder as one batch, follows it and downloads the results; re-run
/// to resume.</summary>
internal static class BatchCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(CliOptions common, CliConsole console)
    {
        var input = new Argument<string>("folder") { Description = "The folder to upload (searched recursively)." };
        var ages = CliOptions.Ages(required: false);
        var outFolder = new Option<string?>("--out", "-o")
        {
            Description = "Where results are mirrored and the batch's state file (.aging-batch.json) is kept (default: <folder>-aged next to the folder).",
        };
        var batchId = new Option<string?>("--batch-id")
        {
            Description = "Name of the storage folder of a new batch (default: a random 130-bit id; a resumed batch keeps its own). A batch the CLI writes straight into storage is followed with 'aging status', not through the web API, which lists only batches it issued.",
        };
        var model = CliOptions.Model();
        var region = CliOptions.Region();
        var connection = CliOptions.Connection();
        var accountUrl = CliOptions.AccountUrl();
        var noWait = new Option<bool>("--no-wait") { Description = "Upload only; follow and download later by running the same command again (or 'aging get')." };
        var interval = new Option<double>("--interval")
        {
            Description = "Seconds between two looks at the job records (default 1).",
            DefaultValueFactory = _ => 1.0,
        };
        var timeout = new Option<double?>("--timeout") { Description = "Stop following after this many seconds (exit code 3); the jobs go on in the pipeline." };
        var force = CliOptions.Force();
        var command = new Command("batch", "Upload a folder to the pipeline as one batch (storage → OnImageUploaded → runner), follow it live and download the results into a mirrored folder. Resumable: run the same command again after Ctrl-C or a crash; nothing is uploaded twice and only new results are downloaded.")
        {
            input, ages, outFolder, batchId, model, region, connection, accountUrl, noWait, interval, timeout, force,
        };
        AgingCli.SetAction(command, common, console, async (parse, output, ct) =>
        {
            var inputRoot = CliArguments.FullPath(parse.GetRequiredValue(input));
            if (!Directory.Exists(inputRoot))
            {
                throw new PipelineException(PipelineErrorCode.InvalidRequest, $"The folder {inputRoot} does not exist.");
            }
            var outputRoot = parse.GetValue(outFolder) is { Length: > 0 } given
                ? CliArguments.FullPath(given)
                : Path.TrimEndingDirectorySeparator(inputRoot) + "-aged";
            if (InputScanner.IsWithin(inputRoot, outputRoot))
            {
                throw new PipelineException(PipelineErrorCode.InvalidRequest, $"--out {outputRoot} contains the input folder; pick a folder beside or below it.");
            }
            var agesValue = parse.GetValue(ages);
            var settings = new BatchSettings(
                inputRoot,
                outputRoot,
                parse.GetValue(batchId) is { Length: > 0 } id ? CliArguments.CheckId(id, "batch id") : null,
                agesValue is { Length: > 0 } ? CliArguments.ParseAges(agesValue) : null,
                CliArguments.ParseModel(parse.GetValue(model)),
                !parse.GetValue(noWait),
                TimeSpan.FromSeconds(Math.Clamp(parse.GetValue(interval), 0.05, 60)),
                parse.GetValue(timeout) is { } seconds and > 0 ? TimeSpan.FromSeconds(seconds) : null,
                parse.GetValue(force),
                CliArguments.ParseRegion(parse.GetValue(region)));
            var storage = await StorageConnection.ConnectAsync(parse.GetValue(connection), parse.GetValue(accountUrl), ct).ConfigureAwait(false);
            var session = new BatchSession(storage, output);
            var report = await ProgressDisplay.RunAsync(output.Console, output.ShowProgress,
                sink => session.RunAsync(settings, sink, ct)).ConfigureAwait(false);
            var batch = report.Batch!;
            var footer = $"Batch {batch.BatchId}: {batch.Uploaded} uploaded, {batch.Adopted} found already in storage, {batch.AlreadyUploaded} uploaded before; {batch.Downloaded} outputs downloaded to {outputRoot}.";
            if (!settings.Wait)
            {
                footer += $" Follow it with 'aging status {batch.BatchId}'; fetch the results by running the same command without --no-wait.";
            }
            return output.Report(report, footer);
        });
        return command;
    }
}
