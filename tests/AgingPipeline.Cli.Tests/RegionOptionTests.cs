using AgingPipeline.Cli.Infrastructure;
using AgingPipeline.Cli.Tests.Infrastructure;
using AgingPipeline.Contracts;

namespace AgingPipeline.Cli.Tests;

/// <summary><c>--region auto|faces|whole</c> on <c>age</c> and <c>batch</c>: parsing, what reaches the ager or the blob
/// metadata, the applied region in the report, and <see cref="PipelineErrorCode.NoFaceFound"/>'s exit code and hint.
/// Nothing here depends on a face being found: offline runs use <c>whole</c>, batch runs a stand-in pipeline.</summary>
public sealed class RegionOptionTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("auto", AgingRegion.Auto)]
    [InlineData("faces", AgingRegion.Faces)]
    [InlineData("Whole", AgingRegion.Whole)]
    public void Region_values_parse_to_their_region(string text, AgingRegion expected)
    {
        Assert.Equal(expected, CliArguments.ParseRegion(text));
    }

    [Fact]
    public void No_region_option_means_the_default_and_an_empty_or_unknown_one_is_InvalidRequest()
    {
        Assert.Null(CliArguments.ParseRegion(null));
        var unknown = Assert.Throws<PipelineException>(() => CliArguments.ParseRegion("sideways"));
        Assert.Equal(PipelineErrorCode.InvalidRequest, unknown.Code);
        Assert.Equal("--region: Unknown region 'sideways': use one of auto, faces, whole.", unknown.Message);
        Assert.Equal(PipelineErrorCode.InvalidRequest, Assert.Throws<PipelineException>(() => CliArguments.ParseRegion(" ")).Code);
    }

    [Fact]
    public void NoFaceFound_has_its_own_exit_code_and_a_hint_towards_auto_or_whole()
    {
        Assert.Equal(27, ExitCodes.For(PipelineErrorCode.NoFaceFound));
        Assert.Equal("Use --region auto or whole for pictures without faces.", ExitCodes.NextStep(PipelineErrorCode.NoFaceFound));
        var row = Assert.Single(ExitCodes.Table, r => r.Name == nameof(PipelineErrorCode.NoFaceFound));
        Assert.Equal(27, row.Code);
        Assert.Contains("--region faces", row.Meaning);
    }

    [Fact]
    public async Task Both_commands_document_the_region_option_in_their_help()
    {
        foreach (var command in new[] { "age", "batch" })
        {
            var help = await CliRun.InProcessAsync(command, "--help");
            Assert.Equal(0, help.ExitCode);
            Assert.Contains("--region", help.Stdout);
            Assert.Contains("auto|faces|whole", help.Stdout);
        }
    }

    [Fact]
    public async Task An_unknown_region_stops_age_with_exit_17_and_the_accepted_values()
    {
        var input = _temp.Combine("in");
        using (var image = TestImages.CharacterImage(1, 48, 48))
        {
            TestImages.Write(Path.Combine(input, "a.png"), TestImages.Png(image));
        }

        var result = await CliRun.InProcessAsync("age", input, "--ages", "30", "--out", _temp.Combine("out"), "--region", "sideways", "--json");

        Assert.Equal(17, result.ExitCode);
        Assert.Equal("--region: Unknown region 'sideways': use one of auto, faces, whole.", result.Json.GetProperty("error").GetProperty("message").GetString());
        Assert.False(Directory.Exists(_temp.Combine("out")));
    }

    [Fact]
    public async Task Age_with_region_whole_reports_the_region_and_the_whole_frame_per_file()
    {
        var input = _temp.Combine("in");
        using (var image = TestImages.CharacterImage(2, 56, 48))
        {
            TestImages.Write(Path.Combine(input, "a.png"), TestImages.Png(image));
        }

        var result = await CliRun.InProcessAsync("age", input, "--ages", "30", "--out", _temp.Combine("out"), "--region", "whole",
            "--models", TestModel.Root, "--model", TestModel.Name, "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("whole", result.Json.GetProperty("region").GetString());
        var file = Assert.Single(result.Json.GetProperty("files").EnumerateArray());
        Assert.Equal("done", file.GetProperty("result").GetString());
        Assert.Equal("whole-frame", file.GetProperty("appliedRegion").GetString());
        Assert.Equal(0, file.GetProperty("faces").GetInt32());
    }

    [Fact]
    public async Task Batch_sends_the_region_as_metadata_reports_faces_per_file_and_exits_27_when_a_picture_has_no_face()
    {
        var batchId = "cli-region-" + Guid.NewGuid().ToString("N")[..8];
        var input = _temp.Combine("in");
        var output = _temp.Combine("out");
        using (var one = TestImages.CharacterImage(3, 48, 48))
        using (var two = TestImages.CharacterImage(4, 48, 48))
        {
            TestImages.Write(Path.Combine(input, "hero.png"), TestImages.Png(one));
            TestImages.Write(Path.Combine(input, "faceless.png"), TestImages.Png(two));
        }
        await using var pipeline = new FakePipeline(azurite.Clients, batchId, allowance: 10);

        var result = await CliRun.InProcessAsync("batch", input, "--ages", "20", "--out", output, "--batch-id", batchId, "--region", "faces",
            "--connection", azurite.ConnectionString, "--interval", "0.2", "--timeout", "120", "--json");

        Assert.Null(pipeline.Failure);
        Assert.True(result.ExitCode == 27, result.ToString());
        Assert.Equal("faces", result.Json.GetProperty("region").GetString());
        var metadata = (await azurite.Clients.Uploads.GetBlobClient($"{batchId}/hero.png").GetPropertiesAsync()).Value.Metadata;
        Assert.Equal("faces", metadata[UploadMetadata.Region]);
        var files = result.Json.GetProperty("files").EnumerateArray().ToDictionary(f => f.GetProperty("input").GetString()!);
        Assert.Equal("faces", files["hero.png"].GetProperty("appliedRegion").GetString());
        Assert.Equal(1, files["hero.png"].GetProperty("faces").GetInt32());
        Assert.Equal("NoFaceFound", files["faceless.png"].GetProperty("code").GetString());
        Assert.Equal(1, result.Json.GetProperty("failuresByCode").GetProperty("NoFaceFound").GetInt32());

        var resumedWithAnotherRegion = await CliRun.InProcessAsync("batch", input, "--ages", "20", "--out", output, "--region", "whole",
            "--connection", azurite.ConnectionString, "--json");
        Assert.Equal(17, resumedWithAnotherRegion.ExitCode);
        Assert.Contains("region faces, not whole", resumedWithAnotherRegion.Json.GetProperty("error").GetProperty("message").GetString());
    }
}
