using AgingPipeline.Contracts;

namespace AgingPipeline.UnitTests.Contracts;

public sealed class UploadRulesTests
{
    private static readonly UploadRules Rules = new();

    [Fact]
    public void Defaults_are_valid_and_used_when_metadata_is_missing()
    {
        Assert.Empty(Rules.Validate());
        Assert.True(UploadOptions.TryRead(null, Rules, out var options, out var error));
        Assert.Null(error);
        Assert.Equal([20, 40, 60, 80], options.Ages);
        Assert.Equal("character-ager", options.ModelName);
        Assert.Null(options.BatchId);
    }

    [Fact]
    public void Metadata_is_read_case_insensitively_and_round_trips()
    {
        var original = new UploadOptions([30, 50], "other-model", "3", "batch-1", "Zoë.png");
        var metadata = original.ToMetadata().ToDictionary(p => p.Key.ToUpperInvariant(), p => p.Value);
        Assert.True(UploadOptions.TryRead(metadata, Rules, out var read, out _));
        Assert.Equal(original.Ages, read.Ages);
        Assert.Equal(original with { Ages = read.Ages }, read);
    }

    [Theory]
    [InlineData("ages", "abc", PipelineErrorCode.InvalidAges)]
    [InlineData("model", "Bad Model", PipelineErrorCode.InvalidRequest)]
    [InlineData("modelversion", "latest", PipelineErrorCode.InvalidRequest)]
    [InlineData("batchid", "../up", PipelineErrorCode.InvalidRequest)]
    public void Unusable_metadata_is_refused_not_replaced_by_defaults(string key, string value, PipelineErrorCode code)
    {
        Assert.False(UploadOptions.TryRead(new Dictionary<string, string> { [key] = value }, Rules, out _, out var error));
        Assert.Equal(code, error!.Code);
    }

    [Fact]
    public void Invalid_rules_are_reported()
    {
        var rules = new UploadRules { MinAge = 50, MaxAge = 10, DefaultModel = "X" };
        var problems = rules.Validate();
        Assert.Contains(problems, p => p.Contains("MinAge"));
        Assert.Contains(problems, p => p.Contains("DefaultModel"));
    }
}
