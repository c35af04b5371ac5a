using AgingPipeline.Processing;

namespace AgingPipeline.UnitTests.Faces;

public sealed class FaceOptionsTests
{
    [Fact]
    public void The_defaults_are_valid_and_name_the_shipped_detectors_blazeface_first()
    {
        var options = new FaceOptions();

        Assert.Empty(options.Validate());
        Assert.Equal(["face-detector", "character-face-detector"], options.Detectors);
        Assert.Equal(0.5, options.MinScore);
        Assert.Equal(8, options.MaxFaces);
    }

    public static TheoryData<FaceOptions, string> BadOptions => new()
    {
        { new FaceOptions { Detectors = [] }, "must list at least one" },
        { new FaceOptions { Detectors = ["Face Detector"] }, "'Face Detector' is not a valid model name" },
        { new FaceOptions { Detectors = ["face-detector", "face-detector"] }, "lists a model twice" },
        { new FaceOptions { MinScore = 0 }, "MinScore must be above 0 and below 1" },
        { new FaceOptions { MinScore = 1 }, "MinScore must be above 0 and below 1" },
        { new FaceOptions { MaxFaces = 0 }, "MaxFaces must be from 1 to 64" },
        { new FaceOptions { MaxFaces = 65 }, "MaxFaces must be from 1 to 64" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Invalid_options_are_refused_with_the_reason(FaceOptions options, string expected)
    {
        Assert.Contains(options.Validate(), e => e.Contains(expected, StringComparison.Ordinal));
        Assert.False(new FaceOptionsValidator().Validate(null, options).Succeeded);
    }
}
