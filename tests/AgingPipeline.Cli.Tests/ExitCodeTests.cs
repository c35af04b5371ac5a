using System.Text.RegularExpressions;
using AgingPipeline.Cli.Infrastructure;
using AgingPipeline.Cli.Tests.Infrastructure;
using AgingPipeline.Contracts;

namespace AgingPipeline.Cli.Tests;

/// <summary>The exit code table: complete, stable, and the same in the code, in --help and in cli/README.md.</summary>
public sealed class ExitCodeTests
{
    [Fact]
    public void Every_pipeline_error_code_has_its_own_stable_exit_code()
    {
        foreach (var code in Enum.GetValues<PipelineErrorCode>().Where(c => c is not (PipelineErrorCode.None or PipelineErrorCode.Internal)))
        {
            Assert.Equal(10 + (int)code, ExitCodes.For(code));
        }
        Assert.Equal(0, ExitCodes.For(PipelineErrorCode.None));
        Assert.Equal(70, ExitCodes.For(PipelineErrorCode.Internal));
        Assert.Equal(ExitCodes.Table.Count, ExitCodes.Table.Select(r => r.Code).Distinct().Count());
        Assert.All(Enum.GetValues<PipelineErrorCode>().Where(c => c != PipelineErrorCode.None),
            code => Assert.Contains(ExitCodes.Table, r => r.Name == code.ToString() && r.Code == ExitCodes.For(code)));
    }

    [Fact]
    public void A_run_exits_with_the_shared_code_of_its_failures_or_with_1_when_they_differ()
    {
        Assert.Equal(0, ExitCodes.ForFailures([]));
        Assert.Equal(12, ExitCodes.ForFailures([PipelineErrorCode.CorruptImage, PipelineErrorCode.CorruptImage]));
        Assert.Equal(1, ExitCodes.ForFailures([PipelineErrorCode.CorruptImage, PipelineErrorCode.UnsupportedFormat]));
    }

    [Fact]
    public void The_readme_documents_every_exit_code()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "cli", "README.md"));
        foreach (var row in ExitCodes.Table)
        {
            Assert.Matches(new Regex($@"^\|\s*{row.Code}\s*\|\s*`?{row.Name}`?\s*\|", RegexOptions.Multiline), readme);
        }
    }

    [Fact]
    public async Task Help_shows_the_exit_code_table_for_every_command()
    {
        foreach (var args in new[] { new[] { "--help" }, ["age", "--help"], ["batch", "--help"], ["status", "--help"] })
        {
            var result = await CliRun.InProcessAsync(args);
            Assert.Equal(0, result.ExitCode);
            Assert.Contains("Exit codes:", result.Stdout);
            Assert.All(ExitCodes.Table, row => Assert.Matches(new Regex($@"^\s*{row.Code}\s+{row.Name}\s", RegexOptions.Multiline), result.Stdout));
        }
    }

    [Fact]
    public async Task An_unknown_option_is_a_usage_error()
    {
        var result = await CliRun.InProcessAsync("age", "x", "--ages", "20", "--out", "y", "--frobnicate");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--frobnicate", result.Stderr);
    }
}
