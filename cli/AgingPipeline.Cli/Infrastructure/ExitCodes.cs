using System.Globalization;
using System.Text;
using AgingPipeline.Contracts;

namespace AgingPipeline.Cli.Infrastructure;

/// <summary>One row of the exit code table.</summary>
/// <param name="Code">The process exit code.</param>
/// <param name="Name">What it is called: a <see cref="PipelineErrorCode"/> name or a CLI condition.</param>
/// <param name="Meaning">What happened.</param>
/// <param name="NextStep">What the person should do next.</param>
internal sealed record ExitCodeInfo(int Code, string Name, string Meaning, string NextStep);

/// <summary>The process exit codes of <c>aging</c>, derived from <see cref="PipelineErrorCode"/>.</summary>
/// <remarks>
/// <para>Scripts branch on these numbers, so they are stable: a pipeline error code <c>c</c> exits with <c>10 + c</c>
/// (the enum is never renumbered), <see cref="PipelineErrorCode.Internal"/> exits with 70 (<c>EX_SOFTWARE</c>), and a
/// few CLI conditions sit below 10. When a run over many files fails for several different reasons it exits with
/// <see cref="MixedFailures"/>; when every failed file failed for the same reason it exits with that reason's code.</para>
/// <para>The table is printed by <c>--help</c> and documented in <c>cli/README.md</c>; a test keeps the README in
/// step with this class.</para>
/// </remarks>
internal static class ExitCodes
{
    /// <summary>Everything asked for is done (or was already done).</summary>
    public const int Success = 0;

    /// <summary>Some files failed, for more than one reason (see the summary).</summary>
    public const int MixedFailures = 1;

    /// <summary>The command line is wrong (unknown option, missing argument).</summary>
    public const int Usage = 2;

    /// <summary>The work is not finished yet (jobs still waiting or running).</summary>
    public const int Incomplete = 3;

    /// <summary>Interrupted (Ctrl-C); 128 + SIGINT, as shells report it.</summary>
    public const int Cancelled = 130;

    /// <summary>The exit code of <see cref="PipelineErrorCode.Internal"/>.</summary>
    public const int InternalError = 70;

    private const int PipelineBase = 10;

    /// <summary>The exit code for a pipeline error code.</summary>
    public static int For(PipelineErrorCode code) => code switch
    {
        PipelineErrorCode.None => Success,
        PipelineErrorCode.Internal => InternalError,
        _ => PipelineBase + (int)code,
    };

    /// <summary>The exit code of a run whose failed files failed with <paramref name="codes"/>: success when there are
    /// none, that code's exit code when they all agree, <see cref="MixedFailures"/> otherwise.</summary>
    public static int ForFailures(IEnumerable<PipelineErrorCode> codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        var distinct = codes.Where(c => c != PipelineErrorCode.None).Distinct().ToList();
        return distinct.Count switch
        {
            0 => Success,
            1 => For(distinct[0]),
            _ => MixedFailures,
        };
    }

    /// <summary>What a person should do about a failure with <paramref name="code"/>.</summary>
    public static string NextStep(PipelineErrorCode code) => code switch
    {
        PipelineErrorCode.None => "Nothing to do.",
        PipelineErrorCode.UnsupportedFormat => "Convert the file to PNG, JPEG or WebP.",
        PipelineErrorCode.CorruptImage => "Export the image again: the file is truncated or damaged.",
        PipelineErrorCode.ImageTooLarge => "Scale the image down or compress it below the size limit.",
        PipelineErrorCode.TooManyPixels => "Scale the image down below the pixel limit.",
        PipelineErrorCode.BadDimensions => "Use an image whose sides are within the limits (16 to 12000 pixels by default).",
        PipelineErrorCode.InvalidAges => "Pass whole years within the model's range, e.g. --ages 20,40,60.",
        PipelineErrorCode.InvalidRequest => "Check the command line and paths (aging <command> --help).",
        PipelineErrorCode.ModelNotFound => "Run 'aging models' to see what is served; pass --model name[:version] or --models <root>.",
        PipelineErrorCode.ModelFailed => "Run the command again; if it keeps failing, check the model with 'aging models'.",
        PipelineErrorCode.InvalidModel => "Fix the model folder; 'aging models' lists its problems.",
        PipelineErrorCode.StorageUnavailable => "Start the local stack (./run.sh), or check --connection / --account-url and your Azure login (az login).",
        PipelineErrorCode.InputGone => "The input was deleted or replaced meanwhile; upload it again.",
        PipelineErrorCode.RetriesExhausted => "The pipeline gave up after several attempts; check the runner's logs, then upload the file again.",
        PipelineErrorCode.NotFound => "Check the id: 'aging status' takes a job id or a batch id as printed by 'aging batch'.",
        PipelineErrorCode.TooManyFrames => "Animations are not supported; export a single frame.",
        PipelineErrorCode.Busy => "Try again in a moment.",
        PipelineErrorCode.NoFaceFound => "Use --region auto or whole for pictures without faces.",
        PipelineErrorCode.Unauthenticated => "Sign in (the deployment serves signed-in callers only).",
        PipelineErrorCode.Internal => "This is a bug: report it with the command line (AGING_DEBUG=1 prints the details).",
        _ => "See 'aging --help'.",
    };

    /// <summary>Every exit code, in ascending order.</summary>
    public static IReadOnlyList<ExitCodeInfo> Table { get; } = BuildTable();

    /// <summary>The table as plain text, for <c>--help</c>.</summary>
    public static string FormatTable()
    {
        var builder = new StringBuilder();
        builder.AppendLine("Exit codes:");
        var width = Table.Max(r => r.Name.Length);
        foreach (var row in Table)
        {
            builder.Append(CultureInfo.InvariantCulture, $"  {row.Code,3}  {row.Name.PadRight(width)}  {row.Meaning}").AppendLine();
        }
        builder.Append("  (a pipeline error code c exits with 10 + c; several different failures exit with 1)");
        return builder.ToString();
    }

    private static List<ExitCodeInfo> BuildTable()
    {
        var rows = new List<ExitCodeInfo>
        {
            new(Success, "Success", "Everything asked for is done, or was already done.", NextStep(PipelineErrorCode.None)),
            new(MixedFailures, "MixedFailures", "Some files failed, for different reasons.", "Read the summary; fix or remove the failed files and run again."),
            new(Usage, "Usage", "The command line is wrong.", "See 'aging <command> --help'."),
            new(Incomplete, "Incomplete", "Jobs are still waiting or running.", "Run the same command again to resume, or 'aging status <id>' later."),
        };
        foreach (var code in Enum.GetValues<PipelineErrorCode>().Where(c => c != PipelineErrorCode.None))
        {
            rows.Add(new ExitCodeInfo(For(code), code.ToString(), Describe(code), NextStep(code)));
        }
        rows.Add(new ExitCodeInfo(Cancelled, "Cancelled", "Interrupted (Ctrl-C).", "Run the same command again to resume."));
        return [.. rows.OrderBy(r => r.Code)];
    }

    private static string Describe(PipelineErrorCode code) => code switch
    {
        PipelineErrorCode.UnsupportedFormat => "The content is not PNG, JPEG or WebP.",
        PipelineErrorCode.CorruptImage => "The image cannot be decoded.",
        PipelineErrorCode.ImageTooLarge => "The file has more bytes than allowed.",
        PipelineErrorCode.TooManyPixels => "Width × height exceeds the pixel budget.",
        PipelineErrorCode.BadDimensions => "A side is too long or too short.",
        PipelineErrorCode.InvalidAges => "Target ages missing, out of range or not numbers.",
        PipelineErrorCode.InvalidRequest => "A path or option value is unusable.",
        PipelineErrorCode.ModelNotFound => "The requested model is not served.",
        PipelineErrorCode.ModelFailed => "The model failed for an input.",
        PipelineErrorCode.InvalidModel => "A model repository entry is invalid.",
        PipelineErrorCode.StorageUnavailable => "Storage could not be reached.",
        PipelineErrorCode.InputGone => "An input vanished or changed meanwhile.",
        PipelineErrorCode.RetriesExhausted => "The pipeline retried a job too often.",
        PipelineErrorCode.NotFound => "No such job or batch.",
        PipelineErrorCode.TooManyFrames => "Animated images are not accepted.",
        PipelineErrorCode.Busy => "The same work is being done elsewhere right now.",
        PipelineErrorCode.NoFaceFound => "Faces were required (--region faces) but none was found.",
        PipelineErrorCode.Unauthenticated => "The caller is not signed in.",
        PipelineErrorCode.Internal => "An unexpected error (a bug).",
        _ => code.ToString(),
    };
}
