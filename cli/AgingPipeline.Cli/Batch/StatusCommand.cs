using System.CommandLine;
using System.Globalization;
using AgingPipeline.Cli.Infrastructure;
using AgingPipeline.Contracts;
using AgingPipeline.Storage;
using Spectre.Console;

namespace AgingPipeline.Cli.Batch;

/// <summary>One job as <c>aging status</c> reports it.</summary>
internal sealed record JobStatusInfo
{
    /// <summary>The job id.</summary>
    public required string JobId { get; init; }

    /// <summary>pending, queued, processing, succeeded or failed.</summary>
    public required string State { get; init; }

    /// <summary>The person's name for the input.</summary>
    public string? Name { get; init; }

    /// <summary>The input blob in <c>uploads</c>.</summary>
    public string? InputBlob { get; init; }

    /// <summary>The batch, when the job belongs to one.</summary>
    public string? BatchId { get; init; }

    /// <summary>Target ages.</summary>
    public IReadOnlyList<int>? Ages { get; init; }

    /// <summary>Model asked for, name[:version].</summary>
    public string? Model { get; init; }

    /// <summary>Input width in pixels, when known.</summary>
    public int? Width { get; init; }

    /// <summary>Input height in pixels, when known.</summary>
    public int? Height { get; init; }

    /// <summary>Output blobs in <c>aged</c> (ages, then the contact sheet).</summary>
    public IReadOnlyList<string>? Outputs { get; init; }

    /// <summary>Why a failed job failed.</summary>
    public PipelineErrorCode? ErrorCode { get; init; }

    /// <summary>The human reason of a failed job.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>Deliveries of the job to runners so far.</summary>
    public int Attempts { get; init; }

    /// <summary>When the job was created.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>When it succeeded or failed.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>Describes a batch member.</summary>
    public static JobStatusInfo From(BatchMember member)
    {
        ArgumentNullException.ThrowIfNull(member);
        var record = member.Record;
        return new JobStatusInfo
        {
            JobId = member.JobId,
            State = member.State,
            Name = member.DisplayName,
            InputBlob = member.InputBlob,
            BatchId = record?.BatchId,
            Ages = record?.TargetAges,
            Model = record?.ModelName is null ? null : record.ModelName + (record.ModelVersion is null ? string.Empty : ":" + record.ModelVersion),
            Width = record?.Width,
            Height = record?.Height,
            Outputs = record is null ? null : OutputDownloader.OutputBlobs(record),
            ErrorCode = record is { State: JobState.Failed } ? record.ErrorCode : null,
            ErrorMessage = record is { State: JobState.Failed } ? record.ErrorMessage : null,
            Attempts = record?.Attempts ?? 0,
            CreatedAt = record?.CreatedAt,
            CompletedAt = record?.CompletedAt,
        };
    }
}

/// <summary>The result of <c>aging status</c>.</summary>
/// <param name="Id">The id asked about.</param>
/// <param name="Kind">"job" or "batch".</param>
/// <param name="States">Jobs per state.</param>
/// <param name="Finished">True when every job has succeeded or failed.</param>
/// <param name="ExitCode">The exit code.</param>
/// <param name="Jobs">The jobs.</param>
internal sealed record StatusReport(string Id, string Kind, IReadOnlyDictionary<string, int> States, bool Finished, int ExitCode, IReadOnlyList<JobStatusInfo> Jobs);

/// <summary><c>aging status &lt;batch|job&gt;</c>: the state of a batch (counts per state and its jobs) or of one job,
/// read from the job records in storage.</summary>
internal static class StatusCommand
{
    private const int MaxListedJobs = 50;

    /// <summary>Creates the command.</summary>
    public static Command Create(CliOptions common, CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "A batch id (as printed by 'aging batch') or a job id." };
        var connection = CliOptions.Connection();
        var accountUrl = CliOptions.AccountUrl();
        var command = new Command("status", "Show the state of a batch or a job. Exit code 0 when everything succeeded, 3 while jobs are still waiting or running, a failure's code otherwise.")
        {
            id, connection, accountUrl,
        };
        AgingCli.SetAction(command, common, console, async (parse, output, ct) =>
        {
            var storage = await StorageConnection.ConnectAsync(parse.GetValue(connection), parse.GetValue(accountUrl), ct).ConfigureAwait(false);
            var report = await ReadAsync(storage, CliArguments.CheckId(parse.GetRequiredValue(id), "job or batch id"), ct).ConfigureAwait(false);
            if (output.Json)
            {
                output.WriteJson(report, CliJsonContext.Default.StatusReport);
            }
            else
            {
                Render(output.Console, report);
            }
            return report.ExitCode;
        });
        return command;
    }

    /// <summary>Reads a job, or else a batch, with that id.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.NotFound"/> when it is neither.</exception>
    public static async Task<StatusReport> ReadAsync(PipelineStorage storage, string id, CancellationToken cancellationToken)
    {
        var (kind, members) = await ReadMembersAsync(storage, id, cancellationToken).ConfigureAwait(false);
        var states = JobStateNames.All.ToDictionary(s => s, s => members.Count(m => m.State == s), StringComparer.Ordinal);
        var finished = members.All(m => JobStateNames.IsTerminal(m.State));
        var exitCode = finished
            ? ExitCodes.ForFailures(members.Where(m => m.Record is { State: JobState.Failed }).Select(m => m.Record!.ErrorCode == PipelineErrorCode.None ? PipelineErrorCode.Internal : m.Record.ErrorCode))
            : ExitCodes.Incomplete;
        return new StatusReport(id, kind, states, finished, exitCode, [.. members.Select(JobStatusInfo.From)]);
    }

    /// <summary>The job with that id ("job"), or else the members of the batch with that id ("batch").</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.NotFound"/> when it is neither.</exception>
    public static async Task<(string Kind, IReadOnlyList<BatchMember> Members)> ReadMembersAsync(PipelineStorage storage, string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var job = await storage.Jobs.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (job is not null)
        {
            return ("job", [new BatchMember(id, job.Record.InputBlob, job.Record)]);
        }
        var members = await BatchReader.ReadAsync(storage, id, cancellationToken).ConfigureAwait(false);
        if (members.Count == 0)
        {
            throw new PipelineException(PipelineErrorCode.NotFound, $"There is no job or batch '{id}' in {storage.Account}.");
        }
        return ("batch", members);
    }

    private static void Render(CliConsole console, StatusReport report)
    {
        var summary = string.Join(", ", report.States.Where(s => s.Value > 0).Select(s => $"{s.Value} {s.Key}"));
        console.Out.MarkupLine($"[bold]{Markup.Escape(report.Kind)} {Markup.Escape(report.Id)}[/]: {Markup.Escape(summary)}{(report.Finished ? " (finished)" : string.Empty)}");
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in new[] { "Name", "State", "Job", "Size", "Outputs", "Error" })
        {
            table.AddColumn(column);
        }
        foreach (var job in report.Jobs.Take(MaxListedJobs))
        {
            var color = job.State switch
            {
                JobStateNames.Succeeded => Color.Green,
                JobStateNames.Failed => Color.Red,
                JobStateNames.Processing => Color.Blue,
                _ => Color.Grey,
            };
            table.AddRow(
                CommandOutput.Cell(job.Name ?? string.Empty),
                CommandOutput.Cell(job.State, color),
                CommandOutput.Cell(job.JobId),
                CommandOutput.Cell(job.Width is { } w && job.Height is { } h ? string.Create(CultureInfo.InvariantCulture, $"{w}×{h}") : string.Empty),
                CommandOutput.Cell(job.Outputs is { Count: > 0 } outputs ? outputs.Count.ToString(CultureInfo.InvariantCulture) : string.Empty),
                CommandOutput.Cell(job.ErrorCode is { } code ? $"{code}: {job.ErrorMessage}" : string.Empty));
        }
        console.Out.Write(table);
        if (report.Jobs.Count > MaxListedJobs)
        {
            console.Out.WriteLine($"… and {report.Jobs.Count - MaxListedJobs} more (--json lists them all).");
        }
        foreach (var code in report.Jobs.Where(j => j.ErrorCode is not null).Select(j => j.ErrorCode!.Value).Distinct().Order())
        {
            console.Out.MarkupLine($"[grey]next ({Markup.Escape(code.ToString())}):[/] {Markup.Escape(ExitCodes.NextStep(code))}");
        }
        if (!report.Finished)
        {
            console.Out.WriteLine("Not finished yet: run 'aging status' again later, or 'aging get' to fetch what is ready.");
        }
    }
}
