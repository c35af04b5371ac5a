using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;

namespace AgingPipeline.UnitTests.ImageFormats;

public sealed class ImageSnifferTests
{
    private static readonly ImageFormat[] s_all = [ImageFormat.Png, ImageFormat.Jpeg, ImageFormat.WebP];

    [Fact]
    public void Detects_png_jpeg_and_webp_from_their_magic_numbers()
    {
        using var image = TestImages.Gradient(20, 20);
        Assert.Equal(ImageFormat.Png, ImageSniffer.Sniff(TestImages.Png(image), s_all));
        Assert.Equal(ImageFormat.Jpeg, ImageSniffer.Sniff(TestImages.Jpeg(image), s_all));
        Assert.Equal(ImageFormat.WebP, ImageSniffer.Sniff(TestImages.WebPLossless(image), s_all));
    }

    [Theory]
    [InlineData("hopper.gif", "GIF image")]
    [InlineData("hopper.bmp", "BMP image")]
    [InlineData("hopper.tif", "TIFF image")]
    [InlineData("hopper_bigtiff.tif", "TIFF image")]
    public void Refuses_other_formats_and_names_what_they_look_like(string file, string description)
    {
        var bytes = TestCorpus.ReadFile(file);

        Assert.Equal(ImageFormat.Unknown, ImageSniffer.Detect(bytes).Format);
        var error = Assert.Throws<PipelineException>(() => ImageSniffer.Sniff(bytes, s_all));
        Assert.Equal(PipelineErrorCode.UnsupportedFormat, error.Code);
        Assert.Contains(description, error.Message, StringComparison.Ordinal);
        Assert.Contains("PNG, JPEG, WebP", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 0x25, 0x50, 0x44, 0x46, 0x2D, 0x31 }, "PDF document")]
    [InlineData(new byte[] { 0x3C, 0x73, 0x76, 0x67, 0x20 }, "SVG")]
    [InlineData(new byte[] { 0x00, 0x00, 0x00, 0x1C, 0x66, 0x74, 0x79, 0x70, 0x61, 0x76, 0x69, 0x66 }, "AVIF image")]
    [InlineData(new byte[] { 0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x41, 0x56, 0x45 }, "not WebP")]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, "unrecognised")]
    [InlineData(new byte[] { 0xFF, 0xD8 }, "unrecognised")]
    public void Describes_refused_content(byte[] header, string expected)
    {
        var error = Assert.Throws<PipelineException>(() => ImageSniffer.Sniff(header, s_all));
        Assert.Equal(PipelineErrorCode.UnsupportedFormat, error.Code);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_content_is_refused_as_empty()
    {
        var error = Assert.Throws<PipelineException>(() => ImageSniffer.Sniff([], s_all));
        Assert.Equal(PipelineErrorCode.UnsupportedFormat, error.Code);
        Assert.Contains("empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_format_left_out_of_the_accepted_list_is_refused()
    {
        using var image = TestImages.Gradient(20, 20);
        var error = Assert.Throws<PipelineException>(() => ImageSniffer.Sniff(TestImages.Jpeg(image), [ImageFormat.Png]));
        Assert.Equal(PipelineErrorCode.UnsupportedFormat, error.Code);
        Assert.StartsWith("JPEG images are not accepted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_format_alone_needs_only_the_magic_numbers()
    {
        Assert.Equal(ImageFormat.Png, ImageSniffer.SniffFormat([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]));
        Assert.Equal(ImageFormat.Jpeg, ImageSniffer.SniffFormat([0xFF, 0xD8, 0xFF]));
        Assert.Equal(ImageFormat.WebP, ImageSniffer.SniffFormat("RIFF\0\0\0\0WEBP"u8));
        Assert.Equal(ImageFormat.Unknown, ImageSniffer.SniffFormat("RIFF\0\0\0\0WAVE"u8));
        Assert.Equal(ImageFormat.Unknown, ImageSniffer.SniffFormat([]));
    }

    /// <summary>The header probe and the door decide the format here, so they cannot disagree with
    /// <see cref="ImageSniffer.Detect"/>.</summary>
    [Theory]
    [InlineData("hopper.png")]
    [InlineData("hopper.jpg")]
    [InlineData("hopper.webp")]
    [InlineData("hopper.gif")]
    public void Detect_the_header_probe_and_the_door_name_the_same_format(string file)
    {
        var bytes = TestCorpus.ReadFile(file);
        var format = ImageSniffer.Detect(bytes).Format;
        Assert.Equal(format, ImageSniffer.SniffFormat(bytes));
        Assert.Equal(format, ImageHeaderProbe.Probe(bytes.AsSpan(0, Math.Min(bytes.Length, InputLimits.PrefixBytes))).Format);
        if (format != ImageFormat.Unknown)
        {
            Assert.Equal(format, InputCheck.Inspect(bytes, bytes.Length, new InputLimits()).Format);
        }
    }

    [Fact]
    public void Content_types_and_names()
    {
        Assert.Equal("image/png", ImageSniffer.ContentType(ImageFormat.Png));
        Assert.Equal("image/jpeg", ImageSniffer.ContentType(ImageFormat.Jpeg));
        Assert.Equal("image/webp", ImageSniffer.ContentType(ImageFormat.WebP));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageSniffer.ContentType(ImageFormat.Unknown));
        Assert.Equal(["PNG", "JPEG", "WebP"], s_all.Select(ImageSniffer.FormatName));
    }
}
