using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;
using AgingPipeline.Imaging;

namespace AgingPipeline.UnitTests.Imaging;

public sealed class ImageHeaderReaderTests
{
    private readonly ImageHeaderReader _reader = new(new ImagingOptions());

    [Fact]
    public void A_tiny_png_declaring_a_huge_canvas_is_refused_from_its_header()
    {
        var bomb = TestImages.PngWithDeclaredSize(100_000, 100_000);
        Assert.True(bomb.Length < 100, "the bomb itself is tiny");

        var error = Assert.Throws<PipelineException>(() => _reader.Read(bomb));

        // Decoding would need 30 GB and fail with an out-of-memory error, not this code.
        Assert.Equal(PipelineErrorCode.TooManyPixels, error.Code);
        Assert.Contains("100000 × 100000", error.Message, StringComparison.Ordinal);
        Assert.Contains("10000 megapixels", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_decoder_refuses_the_bomb_before_decoding()
    {
        var decoder = new ImageDecoder(new ImagingOptions());
        var error = Assert.Throws<PipelineException>(() => decoder.Decode(TestImages.PngWithDeclaredSize(30_000, 30_000)));
        Assert.Equal(PipelineErrorCode.TooManyPixels, error.Code);
        var tensor = new float[3 * 32 * 32];
        error = Assert.Throws<PipelineException>(() => decoder.DecodeForModel(TestImages.PngWithDeclaredSize(30_000, 30_000), 32, 32, tensor));
        Assert.Equal(PipelineErrorCode.TooManyPixels, error.Code);
    }

    [Theory]
    [InlineData(13_000u, 20u, "no side may be longer than 12000")]
    [InlineData(20u, 13_000u, "no side may be longer than 12000")]
    [InlineData(8u, 400u, "at least 16 pixels")]
    public void Refuses_bad_dimensions_from_the_header(uint width, uint height, string expected)
    {
        var error = Assert.Throws<PipelineException>(() => _reader.Read(TestImages.PngWithDeclaredSize(width, height)));
        Assert.Equal(PipelineErrorCode.BadDimensions, error.Code);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    /// <summary>Issue 15: the byte limit is checked after the format and the header, at every entry, because the upload
    /// API learns that a streamed file is too large only after reading the limit, while it knows the format from the
    /// first block; so a file that breaks two rules is refused for the same one everywhere. The message names the limit,
    /// not the size, which a streaming entry does not know.</summary>
    [Fact]
    public void Refuses_content_over_the_byte_limit_after_the_format_and_header_checks()
    {
        var reader = new ImageHeaderReader(new ImagingOptions { Limits = new InputLimits { MaxBytes = 1000 } });
        using var small = TestImages.Gradient(32, 32);
        var png = TestImages.Png(small);
        var padded = new byte[5000];
        png.CopyTo(padded, 0);

        var tooLarge = Assert.Throws<PipelineException>(() => reader.Read(padded));
        Assert.Equal(PipelineErrorCode.ImageTooLarge, tooLarge.Code);
        Assert.Equal("The file is larger than 1000 bytes, the most accepted.", tooLarge.Message);

        var notAnImage = Assert.Throws<PipelineException>(() => reader.Read(new byte[5000]));
        Assert.Equal(PipelineErrorCode.UnsupportedFormat, notAnImage.Code);
        byte[] bomb = [.. TestImages.PngWithDeclaredSize(20_000, 20_000), .. new byte[5000]];
        var hugeCanvas = Assert.Throws<PipelineException>(() => reader.Read(bomb));
        Assert.Equal(PipelineErrorCode.TooManyPixels, hugeCanvas.Code);
    }

    [Fact]
    public void Reads_format_size_and_bands()
    {
        using var image = TestImages.Solid(48, 24, 10, 20, 30, 255);
        var header = _reader.Read(TestImages.Png(image));
        Assert.Equal(ImageFormat.Png, header.Format);
        Assert.Equal(48, header.Width);
        Assert.Equal(24, header.Height);
        Assert.Equal(4, header.Bands);
        Assert.True(header.HasAlpha);
        Assert.Equal(1, header.Frames);
        Assert.Equal(1, header.Orientation);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(6)]
    [InlineData(8)]
    public void Reads_the_exif_orientation(int orientation)
    {
        var file = orientation == 1 ? "hopper.jpg" : $"hopper_orientation_{orientation}.jpg";
        var header = _reader.Read(TestCorpus.ReadFile(file));
        Assert.Equal(orientation, header.Orientation);
    }

    [Fact]
    public void Refuses_an_animated_webp()
    {
        var error = Assert.Throws<PipelineException>(() => _reader.Read(TestCorpus.ReadFile("iss634.webp")));
        Assert.Equal(PipelineErrorCode.TooManyFrames, error.Code);
        Assert.Contains("42 frames", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_an_animated_png_that_libvips_alone_would_read_as_a_still()
    {
        var error = Assert.Throws<PipelineException>(() => _reader.Read(TestCorpus.ReadFile("apng/delay.png")));
        Assert.Equal(PipelineErrorCode.TooManyFrames, error.Code);
        Assert.Contains("4 frames", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Accepts_an_animation_when_frames_are_allowed_and_decodes_its_first_frame()
    {
        var decoder = new ImageDecoder(new ImagingOptions { Limits = new InputLimits { MaxFrames = 100 } });
        using var decoded = decoder.Decode(TestCorpus.ReadFile("iss634.webp"));
        Assert.Equal(42, decoded.Header.Frames);
        Assert.Equal((245, 245), (decoded.Width, decoded.Height));
    }

    [Fact]
    public void Reading_from_a_stream_gives_the_same_header_as_from_memory()
    {
        var bytes = TestCorpus.ReadFile("hopper_orientation_6.jpg");
        using var stream = new NonSeekableStream(bytes);
        var fromStream = _reader.Read(stream, bytes.Length);
        Assert.Equal(_reader.Read(bytes), fromStream);
    }

    [Fact]
    public void Reading_a_bomb_from_a_stream_reads_only_its_first_bytes()
    {
        var bomb = TestImages.PngWithDeclaredSize(100_000, 100_000);
        using var stream = new NonSeekableStream(bomb);
        var error = Assert.Throws<PipelineException>(() => _reader.Read(stream, 10L * 1024 * 1024));
        Assert.Equal(PipelineErrorCode.TooManyPixels, error.Code);
    }

    /// <summary>The door (<see cref="InputCheck"/>) finds the broken header before libvips is asked, and says so in the
    /// words ingest and the upload API use for the same file.</summary>
    [Fact]
    public void A_broken_png_header_is_corrupt()
    {
        var broken = TestCorpus.ReadFile("broken.png");
        var error = Assert.Throws<PipelineException>(() => _reader.Read(broken));
        Assert.Equal(PipelineErrorCode.CorruptImage, error.Code);
        Assert.StartsWith("The file looks like PNG but its header is broken", error.Message, StringComparison.Ordinal);
        Assert.Equal(error.Message, InputCheck.Refusal(broken, broken.Length, new InputLimits())!.Message);
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;

        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }

    [Fact]
    public void A_gif_renamed_to_png_is_refused_by_the_header_reader_too()
    {
        var reader = new ImageHeaderReader(new ImagingOptions());
        var error = Assert.Throws<PipelineException>(() => reader.Read(TestCorpus.ReadFile("hopper.gif")));
        Assert.Equal(PipelineErrorCode.UnsupportedFormat, error.Code);
    }

    [Fact]
    public void A_png_named_jpg_is_read_as_png()
    {
        using var image = TestImages.Gradient(40, 30);
        var path = Path.Combine(Path.GetTempPath(), $"sniff-{Guid.NewGuid():N}.jpg");
        File.WriteAllBytes(path, TestImages.Png(image));
        try
        {
            var bytes = File.ReadAllBytes(path);
            var header = new ImageHeaderReader(new ImagingOptions()).Read(bytes);
            Assert.Equal(ImageFormat.Png, header.Format);
            Assert.Equal((40, 30), (header.Width, header.Height));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
