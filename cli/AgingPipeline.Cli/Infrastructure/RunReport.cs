using System.Text.Json;
using System.Text.Json.Serialization;
using AgingPipeline.Contracts;

namespace AgingPipeline.Cli.Infrastructure;

/// <summary>The outcomes a file can have in a run.</summary>
internal static class FileResults
{
    /// <summary>Every output was written (or downloaded).</summary>
    public const string Done = "done";

    /// <summary>Nothing to do: outputs already exist, or not an image.</summary>
    public const string Skipped = "skipped";

    /// <summary>Failed, with a code and a reason.</summary>
    public const string Failed = "failed";

    /// <summary>Not finished when the run stopped (batch jobs still waiting or running).</summary>
    public const string Incomplete = "incomplete";
}

/// <summary>What happened to one input.</summary>
/// <param name="Input">Its path relative to the input root.</param>
/// <param name="Result">One of <see cref="FileResults"/>.</param>
/// <param name="Code">The failure code, for failed files.</param>
/// <param name="Reason">Why it failed or was skipped; the state of an incomplete one.</param>
/// <param name="Outputs">Outputs written by this run, relative to the output root.</param>
/// <param name="JobId">The pipeline job, in batch mode.</param>
/// <param name="AppliedRegion">What was aged, for files aged by this run (or whose job succeeded): <c>faces</c> or
/// <c>whole-frame</c> (<see cref="RegionOutcome.Applied"/>).</param>
/// <param name="Faces">How many faces were aged (0 for the whole frame), with <paramref name="AppliedRegion"/>.</param>
/// <param name="FaceBoxes">The boxes of the faces aged, in pixels of the upright input (offline runs, which have
/// them at hand; batch runs read them from <c>GET /api/jobs/{id}</c>).</param>
internal sealed record FileReport(
    string Input,
    string Result,
    PipelineErrorCode? Code = null,
    string? Reason = null,
    IReadOnlyList<string>? Outputs = null,
    string? JobId = null,
    string? AppliedRegion = null,
    int? Faces = null,
    IReadOnlyList<FaceBox>? FaceBoxes = null);

/// <summary>Counts of a run.</summary>
internal sealed record RunCounts(int Total, int Done, int Skipped, int Failed, int Incomplete, int OutputsWritten);

/// <summary>Upload and download figures of a batch run.</summary>
/// <param name="BatchId">The batch id.</param>
/// <param name="Account">The blob endpoint used.</param>
/// <param name="Uploaded">Files uploaded by this run.</param>
/// <param name="Adopted">Files found already in storage with the same content (uploaded by an interrupted run whose
/// state file did not record them), not uploaded again.</param>
/// <param name="AlreadyUploaded">Files the state file recorded as uploaded.</param>
/// <param name="Downloaded">Outputs downloaded by this run.</param>
/// <param name="JobStates">Jobs per state when the run ended.</param>
internal sealed record BatchFigures(
    string BatchId,
    string Account,
    int Uploaded,
    int Adopted,
    int AlreadyUploaded,
    int Downloaded,
    IReadOnlyDictionary<string, int> JobStates);

/// <summary>The result of <c>age</c>, <c>batch</c> or <c>get</c>: what the summary table shows and <c>--json</c> writes.</summary>
internal sealed record RunReport
{
    /// <summary>The command: "age", "batch" or "get".</summary>
    public required string Command { get; init; }

    /// <summary>The input folder or file (absolute), or the batch or job id for "get".</summary>
    public required string Input { get; init; }

    /// <summary>The output folder (absolute).</summary>
    public required string Output { get; init; }

    /// <summary>The model used or asked for, "name/version" or "name:version".</summary>
    public string? Model { get; init; }

    /// <summary>The target ages.</summary>
    public IReadOnlyList<int>? Ages { get; init; }

    /// <summary>The region asked for: <c>auto</c>, <c>faces</c> or <c>whole</c>.</summary>
    public AgingRegion? Region { get; init; }

    /// <summary>Files per result.</summary>
    public required RunCounts Counts { get; init; }

    /// <summary>Failed files per error code.</summary>
    public required IReadOnlyDictionary<string, int> FailuresByCode { get; init; }

    /// <summary>Upload and download figures (batch only).</summary>
    public BatchFigures? Batch { get; init; }

    /// <summary>Wall-clock time of the run.</summary>
    public double ElapsedSeconds { get; init; }

    /// <summary>The process exit code (see <see cref="ExitCodes"/>).</summary>
    public int ExitCode { get; init; }

    /// <summary>One entry per input, in path order.</summary>
    public required IReadOnlyList<FileReport> Files { get; init; }

    /// <summary>Builds the counts, failure tally and exit code from the file reports.</summary>
    public static RunReport Create(string command, string input, string output, IReadOnlyList<FileReport> files, TimeSpan elapsed,
        string? model = null, IReadOnlyList<int>? ages = null, BatchFigures? batch = null, AgingRegion? region = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        var failed = files.Where(f => f.Result == FileResults.Failed).ToList();
        var incomplete = files.Count(f => f.Result == FileResults.Incomplete);
        var exitCode = ExitCodes.ForFailures(failed.Select(f => f.Code ?? PipelineErrorCode.Internal));
        if (exitCode == ExitCodes.Success && incomplete > 0)
        {
            exitCode = ExitCodes.Incomplete;
        }
        return new RunReport
        {
            Command = command,
            Input = input,
            Output = output,
            Model = model,
            Ages = ages,
            Region = region,
            Counts = new RunCounts(
                files.Count,
                files.Count(f => f.Result == FileResults.Done),
                files.Count(f => f.Result == FileResults.Skipped),
                failed.Count,
                incomplete,
                files.Sum(f => f.Outputs?.Count ?? 0)),
            FailuresByCode = failed
                .GroupBy(f => (f.Code ?? PipelineErrorCode.Internal).ToString())
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
            Batch = batch,
            ElapsedSeconds = Math.Round(elapsed.TotalSeconds, 3),
            ExitCode = exitCode,
            Files = files,
        };
    }
}

/// <summary>An error that stopped a command, as written by <c>--json</c>.</summary>
internal sealed record ErrorReport(string Code, string Message, string NextStep, int ExitCode);

/// <summary>The JSON document of a failed command.</summary>
internal sealed record ErrorDocument(ErrorReport Error);

/// <summary>Source-generated JSON for everything the CLI writes and reads.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    WriteIndented = true,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RunReport))]
[JsonSerializable(typeof(ErrorDocument))]
[JsonSerializable(typeof(AgingPipeline.Cli.Batch.BatchState))]
[JsonSerializable(typeof(AgingPipeline.Cli.Batch.StatusReport))]
[JsonSerializable(typeof(AgingPipeline.Cli.Models.ModelsReport))]
internal sealed partial class CliJsonContext : JsonSerializerContext
{
}
