using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;

namespace AgingPipeline.UnitTests.ImageFormats;

/// <summary>The door every entry uses (issue 15, one set of rules).</summary>
public sealed class InputCheckTests
{
    private static readonly InputLimits Limits = new() { MaxBytes = 100_000 };

    [Fact]
    public void An_accepted_image_gives_its_format_and_stored_size()
    {
        using var image = TestImages.Gradient(48, 32);
        var header = InputCheck.Inspect(TestImages.Png(image), 5000, Limits);
        Assert.Equal(new ImageHeader(ImageFormat.Png, 48, 32), header);
    }

    /// <summary>Empty, then the format, then the header, then the bytes: a file breaking several rules is refused for
    /// the first of them at every entry, whichever entry learns its size last.</summary>
    [Fact]
    public void Rules_are_checked_in_one_order()
    {
        var gif = TestCorpus.ReadFile("hopper.gif");
        var bomb = TestImages.PngWithDeclaredSize(20_000, 20_000);
        var animated = TestCorpus.ReadFile("apng/delay.png");

        Assert.Equal(PipelineErrorCode.UnsupportedFormat, InputCheck.Refusal([], 0, Limits)!.Code);
        Assert.Equal("The file is empty.", InputCheck.Refusal([], 0, Limits)!.Message);
        Assert.Equal(PipelineErrorCode.UnsupportedFormat, InputCheck.Refusal(gif, 10_000_000, Limits)!.Code);
        Assert.Equal(PipelineErrorCode.TooManyPixels, InputCheck.Refusal(bomb, 10_000_000, Limits)!.Code);
        Assert.Equal(PipelineErrorCode.TooManyFrames, InputCheck.Refusal(animated, 10_000_000, Limits)!.Code);
        Assert.Equal(PipelineErrorCode.ImageTooLarge, InputCheck.Refusal(TestCorpus.ReadFile("hopper.png"), 10_000_000, Limits)!.Code);
        Assert.Equal(PipelineErrorCode.CorruptImage, InputCheck.Refusal(TestCorpus.ReadFile("broken.png"), 10_000_000, Limits)!.Code);
    }

    /// <summary>Only the first <see cref="InputLimits.PrefixBytes"/> count, so that an entry that read more (the runner,
    /// with the whole file) answers like one that read exactly that much (ingest's ranged read).</summary>
    [Fact]
    public void Only_the_prefix_is_looked_at()
    {
        var far = JpegWithFrameHeaderAfter(InputLimits.PrefixBytes + 10, 64, 64);
        Assert.Equal(new ImageHeader(ImageFormat.Jpeg, null, null), InputCheck.Inspect(far, far.Length, Limits));
        var near = JpegWithFrameHeaderAfter(1000, 64, 64);
        Assert.Equal(new ImageHeader(ImageFormat.Jpeg, 64, 64), InputCheck.Inspect(near, near.Length, Limits));
    }

    /// <summary>SOI, APP15 segments holding <paramref name="padding"/> bytes, then a baseline frame header.</summary>
    private static byte[] JpegWithFrameHeaderAfter(int padding, int width, int height)
    {
        var bytes = new List<byte> { 0xFF, 0xD8 };
        while (padding > 0)
        {
            var payload = Math.Min(padding, 65_000);
            bytes.AddRange([0xFF, 0xEF, (byte)((payload + 2) >> 8), (byte)(payload + 2)]);
            bytes.AddRange(new byte[payload]);
            padding -= payload;
        }
        bytes.AddRange([0xFF, 0xC0, 0x00, 0x11, 0x08, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, 0x03,
            0x01, 0x11, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xFF, 0xD9]);
        return [.. bytes];
    }
}
