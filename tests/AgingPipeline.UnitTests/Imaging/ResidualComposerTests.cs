using System.Text;
using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;
using AgingPipeline.Imaging;

namespace AgingPipeline.UnitTests.Imaging;

public sealed class ResidualComposerTests
{
    private const int ModelSize = 32;
    private readonly ImageDecoder _decoder = new(new ImagingOptions());
    private readonly ResidualComposer _composer = new(new ImagingOptions());

    [Theory]
    [InlineData(ImageFormat.Png)]
    [InlineData(ImageFormat.Jpeg)]
    [InlineData(ImageFormat.WebP)]
    public void Keeps_the_input_size_and_format(ImageFormat format)
    {
        using var image = TestImages.Gradient(300, 200);
        var encoded = format switch
        {
            ImageFormat.Png => TestImages.Png(image),
            ImageFormat.Jpeg => TestImages.Jpeg(image),
            _ => TestImages.WebPLossless(image),
        };

        var output = Age(encoded, 0.1f);

        Assert.Equal(format, output.Format);
        Assert.Equal(format, ImageSniffer.Detect(output.Content).Format);
        Assert.Equal((300, 200), (output.Width, output.Height));
        using var reloaded = TestImages.Load(output.Content);
        Assert.Equal((300, 200), (reloaded.Width, reloaded.Height));
    }

    [Theory]
    [InlineData(NetVips.Enums.ForeignSubsample.On, "4:2:0")]
    [InlineData(NetVips.Enums.ForeignSubsample.Off, "4:4:4")]
    public void Jpeg_outputs_keep_the_chroma_subsampling_of_the_input(NetVips.Enums.ForeignSubsample mode, string expected)
    {
        using var image = TestImages.Gradient(300, 200);
        var jpeg = image.JpegsaveBuffer(q: 95, subsampleMode: mode);

        var output = Age(jpeg, 0.1f);

        using var reloaded = TestImages.Load(output.Content);
        Assert.Equal(expected, ((string)reloaded.Get("jpeg-chroma-subsample"))[..5]);
        Assert.Equal(expected, new ImageHeaderReader(new ImagingOptions()).Read(jpeg).ChromaSubsampling?[..5]);
    }

    [Fact]
    public void Adds_the_residual_in_eight_bit_units_and_clamps()
    {
        // Left half 100, right half 250; +0.2 in [-1, 1] units is +25.5, rounded.
        var pixels = new byte[64 * 64 * 3];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)((i / 3 % 64) < 32 ? 100 : 250);
        }
        using var image = TestImages.FromPixels(pixels, 64, 64, 3);

        var output = Age(TestImages.Png(image), 0.2f);

        using var aged = TestImages.Load(output.Content);
        Assert.Equal(126, TestImages.Pixel(aged, 5, 5, 0));
        Assert.Equal(255, TestImages.Pixel(aged, 60, 5, 1));

        var darker = Age(TestImages.Png(image), -1f);
        using var black = TestImages.Load(darker.Content);
        Assert.Equal(0, TestImages.Pixel(black, 5, 5, 2));
    }

    [Fact]
    public void Keeps_the_original_alpha_channel()
    {
        var pixels = new byte[80 * 40 * 4];
        for (var y = 0; y < 40; y++)
        {
            for (var x = 0; x < 80; x++)
            {
                var i = (y * 80 + x) * 4;
                pixels[i] = pixels[i + 1] = pixels[i + 2] = 120;
                pixels[i + 3] = (byte)(x * 3);
            }
        }
        using var image = TestImages.FromPixels(pixels, 80, 40, 4);

        var output = Age(TestImages.Png(image), 0.3f);

        using var aged = TestImages.Load(output.Content);
        Assert.Equal(4, aged.Bands);
        for (var x = 0; x < 80; x += 7)
        {
            Assert.Equal(x * 3, TestImages.Pixel(aged, x, 20, 3));
        }
        Assert.NotEqual(120, TestImages.Pixel(aged, 40, 20, 0));
    }

    [Fact]
    public void Strips_exif_gps_xmp_and_icc_metadata()
    {
        var input = TestCorpus.ReadFile("exif_gps.jpg");
        using (var original = TestImages.Load(input))
        {
            Assert.True(original.Contains("exif-data"), "precondition: the corpus file carries EXIF");
        }
        var options = new ImagingOptions { Limits = new InputLimits { MinDimension = 1 } };
        var decoder = new ImageDecoder(options);
        var composer = new ResidualComposer(options);
        using var decoded = decoder.Decode(input);
        var residual = new float[3 * ModelSize * ModelSize];
        var geometry = decoder.PackForModel(decoded, ModelSize, ModelSize, residual);

        var output = composer.Compose(decoded, residual, geometry);

        using var aged = TestImages.Load(output.Content);
        Assert.False(aged.Contains("exif-data"));
        Assert.False(aged.Contains("xmp-data"));
        Assert.False(aged.Contains("iptc-data"));
        Assert.False(aged.Contains("icc-profile-data"));
        Assert.DoesNotContain("Exif", Encoding.Latin1.GetString(output.Content), StringComparison.Ordinal);
    }

    [Fact]
    public void Maps_the_residual_back_through_the_padding()
    {
        // A 200 × 100 image sits in rows 8–23 of the 32 × 32 model input. A residual that is +1 in the padding and
        // 0 on the content must leave the image unchanged.
        using var image = TestImages.Solid(200, 100, 90, 90, 90);
        var png = TestImages.Png(image);
        using var decoded = _decoder.Decode(png);
        var tensor = new float[3 * ModelSize * ModelSize];
        var geometry = _decoder.DecodeForModel(png, ModelSize, ModelSize, tensor);
        Assert.Equal((0, 8, 32, 16), (geometry.ContentX, geometry.ContentY, geometry.ContentWidth, geometry.ContentHeight));
        var residual = new float[tensor.Length];
        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < ModelSize; y++)
            {
                var inContent = y >= 8 && y < 24;
                residual.AsSpan((c * ModelSize + y) * ModelSize, ModelSize).Fill(inContent ? 0f : 1f);
            }
        }

        var output = _composer.Compose(decoded, residual, geometry);

        using var aged = TestImages.Load(output.Content);
        Assert.Equal(90, TestImages.Pixel(aged, 0, 0, 0));
        Assert.Equal(90, TestImages.Pixel(aged, 199, 99, 2));
        Assert.Equal(90, TestImages.Pixel(aged, 100, 50, 1));
    }

    [Fact]
    public void Upsamples_the_residual_smoothly_with_the_sides_in_place()
    {
        // Left half of the residual +0.4, right half -0.4, on a mid-grey 320 × 320 image.
        using var image = TestImages.Solid(320, 320, 128, 128, 128);
        var png = TestImages.Png(image);
        using var decoded = _decoder.Decode(png);
        var tensor = new float[3 * ModelSize * ModelSize];
        var geometry = _decoder.DecodeForModel(png, ModelSize, ModelSize, tensor);
        var residual = new float[tensor.Length];
        for (var i = 0; i < residual.Length; i++)
        {
            residual[i] = i % ModelSize < ModelSize / 2 ? 0.4f : -0.4f;
        }

        var output = _composer.Compose(decoded, residual, geometry);

        using var aged = TestImages.Load(output.Content);
        Assert.Equal(179, TestImages.Pixel(aged, 10, 160, 0));
        Assert.Equal(77, TestImages.Pixel(aged, 310, 160, 0));
        var middle = TestImages.Pixel(aged, 160, 160, 0);
        Assert.InRange(middle, 78, 178);
    }

    [Fact]
    public void Refuses_a_residual_of_the_wrong_size()
    {
        using var image = TestImages.Solid(64, 64, 1, 2, 3);
        using var decoded = _decoder.Decode(TestImages.Png(image));
        var geometry = new ModelInputGeometry(ModelSize, ModelSize, 0, 0, ModelSize, ModelSize, 64, 64);
        Assert.Throws<ArgumentException>(() => _composer.Compose(decoded, new float[10], geometry));
        Assert.Throws<ArgumentException>(() => _composer.Compose(decoded, new float[geometry.TensorLength], geometry with { SourceWidth = 65 }));
    }

    private EncodedImage Age(byte[] input, float residualValue)
    {
        using var decoded = _decoder.Decode(input);
        var tensor = new float[3 * ModelSize * ModelSize];
        var geometry = _decoder.DecodeForModel(input, ModelSize, ModelSize, tensor);
        var residual = Enumerable.Repeat(residualValue, tensor.Length).ToArray();
        return _composer.Compose(decoded, residual, geometry);
    }
}
