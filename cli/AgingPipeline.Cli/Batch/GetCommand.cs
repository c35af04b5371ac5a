using System.CommandLine;
using System.Diagnostics;
using AgingPipeline.Cli.Infrastructure;
using AgingPipeline.Contracts;
using AgingPipeline.Storage;

namespace AgingPipeline.Cli.Batch;

/// <summary><c>aging get &lt;batch|job&gt; --out …</c>: downloads the outputs of finished jobs.</summary>
/// <remarks>A batch is mirrored by its blob paths (<c>uploads/{batchId}/a/b.png</c> → <c>out/a/b.age40.png</c>), a
/// single job goes straight into the folder. Files that exist are left alone unless <c>--force</c>.</remarks>
internal static class GetCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(CliOptions common, CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "A batch id or a job id." };
        var outFolder = new Option<string>("--out", "-o") { Description = "Folder to download into.", Required = true };
        var force = CliOptions.Force();
        var connection = CliOptions.Connection();
        var accountUrl = CliOptions.AccountUrl();
        var command = new Command("get", "Download the results of a batch (mirrored by folder) or of one job. Jobs not finished yet are reported as incomplete (exit code 3).")
        {
            id, outFolder, force, connection, accountUrl,
        };
        AgingCli.SetAction(command, common, console, async (parse, output, ct) =>
        {
            var started = Stopwatch.GetTimestamp();
            var storage = await StorageConnection.ConnectAsync(parse.GetValue(connection), parse.GetValue(accountUrl), ct).ConfigureAwait(false);
            var key = CliArguments.CheckId(parse.GetRequiredValue(id), "job or batch id");
            var outputRoot = CliArguments.FullPath(parse.GetRequiredValue(outFolder));
            AtomicFile.CleanUpAbandoned(outputRoot);
            var (kind, members) = await StatusCommand.ReadMembersAsync(storage, key, ct).ConfigureAwait(false);
            var overwrite = parse.GetValue(force);
            var downloader = new OutputDownloader(storage);
            var files = await ProgressDisplay.RunAsync(output.Console, output.ShowProgress, async sink =>
            {
                var line = sink.Add("download", members.Count, "job");
                var reports = new List<FileReport>();
                foreach (var member in members)
                {
                    reports.Add(await GetOneAsync(downloader, member, kind == "batch" ? key : null, outputRoot, overwrite, ct).ConfigureAwait(false));
                    line.Increment();
                }
                line.Complete();
                return reports;
            }).ConfigureAwait(false);
            var report = RunReport.Create("get", key, outputRoot, files, Stopwatch.GetElapsedTime(started));
            return output.Report(report, $"Results of {kind} {key} are in {outputRoot}.");
        });
        return command;
    }

    private static async Task<FileReport> GetOneAsync(OutputDownloader downloader, BatchMember member, string? batchId, string outputRoot, bool force, CancellationToken cancellationToken)
    {
        var relative = RelativeInput(member, batchId);
        var record = member.Record;
        if (record is null || !JobStateNames.IsTerminal(member.State))
        {
            return new FileReport(relative, FileResults.Incomplete, Reason: member.State, JobId: member.JobId);
        }
        if (record.State == JobState.Failed)
        {
            return new FileReport(relative, FileResults.Failed, record.ErrorCode == PipelineErrorCode.None ? PipelineErrorCode.Internal : record.ErrorCode,
                record.ErrorMessage ?? "The job failed.", JobId: member.JobId);
        }
        var slash = relative.LastIndexOf('/');
        var directory = slash < 0 ? outputRoot : Path.Combine(outputRoot, relative[..slash]);
        try
        {
            var result = await downloader.DownloadAsync(record, directory, force, cancellationToken).ConfigureAwait(false);
            return result.Written.Count == 0
                ? new FileReport(relative, FileResults.Skipped, Reason: "outputs already exist", JobId: member.JobId)
                : new FileReport(relative, FileResults.Done,
                    Outputs: [.. result.Written.Select(p => Path.GetRelativePath(outputRoot, p).Replace(Path.DirectorySeparatorChar, '/'))], JobId: member.JobId,
                    AppliedRegion: record.RegionOutcome?.Applied, Faces: record.RegionOutcome?.Faces.Count);
        }
        catch (PipelineException e) when (!e.IsTransient)
        {
            return new FileReport(relative, FileResults.Failed, e.Code, e.Message, JobId: member.JobId);
        }
    }

    /// <summary>The input's path inside the batch (folders kept, each segment checked), or its name for a single job.</summary>
    private static string RelativeInput(BatchMember member, string? batchId)
    {
        var blob = member.InputBlob ?? member.DisplayName;
        if (batchId is not null && blob.StartsWith(batchId + "/", StringComparison.Ordinal))
        {
            var segments = blob[(batchId.Length + 1)..].Split('/', StringSplitOptions.RemoveEmptyEntries)
                .Select(s => s is "." or ".." ? "_" : BatchSession.SafeSegment(s));
            return string.Join('/', segments);
        }
        return BatchSession.SafeSegment(blob[(blob.LastIndexOf('/') + 1)..]);
    }
}
