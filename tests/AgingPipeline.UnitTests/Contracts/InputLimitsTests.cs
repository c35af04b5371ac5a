using AgingPipeline.Contracts;

namespace AgingPipeline.UnitTests.Contracts;

public sealed class InputLimitsTests
{
    private static readonly InputLimits Limits = new();

    [Fact]
    public void Defaults_are_valid_and_are_the_one_set_every_entry_uses()
    {
        Assert.Empty(Limits.Validate());
        Assert.Equal(50L * 1024 * 1024, Limits.MaxBytes);
        Assert.Equal(40_000_000, Limits.MaxPixels);
        Assert.Equal((16, 12_000), (Limits.MinDimension, Limits.MaxDimension));
        Assert.Equal(1, Limits.MaxFrames);
        Assert.Equal([ImageFormat.Png, ImageFormat.Jpeg, ImageFormat.WebP], Limits.AcceptedFormats);
    }

    [Theory]
    [InlineData(8000, 6000, PipelineErrorCode.TooManyPixels, "The image is 8000 × 6000 pixels (48 megapixels); the limit is 40 megapixels.")]
    [InlineData(20_000, 20_000, PipelineErrorCode.TooManyPixels, "The image is 20000 × 20000 pixels (400 megapixels); the limit is 40 megapixels.")]
    [InlineData(13_000, 100, PipelineErrorCode.BadDimensions, "The image is 13000 × 100 pixels; no side may be longer than 12000 pixels.")]
    [InlineData(15, 400, PipelineErrorCode.BadDimensions, "The image is 15 × 400 pixels; each side must be at least 16 pixels.")]
    [InlineData(0, 400, PipelineErrorCode.BadDimensions, "The image declares an empty canvas (0 × 400 pixels).")]
    public void Sizes_outside_the_limits_are_refused_with_one_message_each(int width, int height, PipelineErrorCode code, string message)
    {
        var error = Limits.CheckSize(width, height);
        Assert.NotNull(error);
        Assert.Equal((code, message), (error.Code, error.Message));
    }

    [Fact]
    public void Sizes_within_the_limits_pass()
    {
        Assert.Null(Limits.CheckSize(4000, 3000));
        Assert.Null(Limits.CheckSize(16, 12_000));
    }

    /// <summary>The upload API refuses a streamed file as soon as it passes the limit, without knowing its size, so the
    /// message names only the limit: ingest, the runner and the CLI, which know the size, say the same words.</summary>
    [Fact]
    public void The_byte_refusal_does_not_depend_on_how_much_was_read()
    {
        var limits = new InputLimits { MaxBytes = 20L * 1024 * 1024 };
        Assert.Null(limits.CheckBytes(limits.MaxBytes));
        var justOver = limits.CheckBytes(limits.MaxBytes + 1)!;
        var far = limits.CheckBytes(30L * 1024 * 1024)!;
        Assert.Equal(PipelineErrorCode.ImageTooLarge, justOver.Code);
        Assert.Equal(justOver.Message, far.Message);
        Assert.Equal("The file is larger than 20 MiB, the most accepted.", far.Message);
    }

    [Fact]
    public void Animations_are_refused_by_default_and_up_to_the_limit_when_raised()
    {
        Assert.Null(Limits.CheckFrames(1));
        Assert.Equal("The image is an animation with 4 frames; only still images are accepted.", Limits.CheckFrames(4)!.Message);
        Assert.Null(new InputLimits { MaxFrames = 10 }.CheckFrames(4));
        Assert.Equal(PipelineErrorCode.TooManyFrames, new InputLimits { MaxFrames = 2 }.CheckFrames(4)!.Code);
    }

    [Fact]
    public void Invalid_limits_are_all_reported()
    {
        var problems = new InputLimits { MaxBytes = 0, MaxPixels = 0, MinDimension = 100, MaxDimension = 50, MaxFrames = 0, AcceptedFormats = [ImageFormat.Unknown] }.Validate();
        Assert.Equal(5, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("MaxBytes", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("AcceptedFormats", StringComparison.Ordinal));
    }
}
