using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;
using AgingPipeline.Imaging;

namespace AgingPipeline.UnitTests.Imaging;

public sealed class ContactSheetRendererTests
{
    [Fact]
    public void Renders_every_tile_side_by_side_with_a_caption()
    {
        var options = new ImagingOptions { ContactSheetTileHeight = 96 };
        var renderer = new ContactSheetRenderer(options);
        using var a = TestImages.Solid(200, 100, 255, 0, 0);
        using var b = TestImages.Solid(200, 100, 0, 255, 0);
        using var c = TestImages.Solid(200, 100, 0, 0, 255);

        var sheet = renderer.Render(
            [new("input", TestImages.Png(a)), new("age 40", TestImages.Jpeg(b)), new("age 80", TestImages.WebPLossless(c))],
            ImageFormat.Png);

        Assert.Equal(ImageFormat.Png, ImageSniffer.Detect(sheet.Content).Format);
        // Tiles of 192 × 96, a 20-pixel caption strip (96 / 8, at least 20), 8-pixel gaps and margins.
        Assert.Equal(8 + 192 + 8 + 192 + 8 + 192 + 8, sheet.Width);
        Assert.Equal(8 + 96 + 20 + 8, sheet.Height);
        using var image = TestImages.Load(sheet.Content);
        Assert.True(TestImages.Pixel(image, 8 + 96, 8 + 48, 0) > 200, "the first tile is red");
        Assert.True(TestImages.Pixel(image, 8 + 200 + 96, 8 + 48, 1) > 200, "the second tile is green");
        Assert.True(TestImages.Pixel(image, 8 + 400 + 96, 8 + 48, 2) > 200, "the third tile is blue");
        using var caption = image.ExtractArea(8, 8 + 96, 192, 20);
        Assert.True(caption.Min() < 100, "the caption has dark text on it");
        Assert.True(caption.Max() > 250, "the caption strip is white around the text");
    }

    [Fact]
    public void Previews_made_while_composing_give_the_sheet_the_decoded_tiles_would()
    {
        // An RGBA input (alpha flattened in the sheet) composed with a zero residual: the previews the composer makes
        // must render the same sheet as decoding the encoded input and output again.
        var options = new ImagingOptions { ContactSheetTileHeight = 64 };
        var decoder = new ImageDecoder(options);
        var composer = new ResidualComposer(options);
        var renderer = new ContactSheetRenderer(options);
        var pixels = new byte[180 * 120 * 4];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)(i % 4 == 3 ? (i / 4 % 180 < 90 ? 255 : 0) : i * 7 % 251);
        }
        using var source = TestImages.FromPixels(pixels, 180, 120, 4);
        var png = TestImages.Png(source);
        using var decoded = decoder.Decode(png);
        var tensor = new float[3 * 32 * 32];
        var geometry = decoder.DecodeForModel(png, 32, 32, tensor);

        var inputPreview = composer.Preview(decoded);
        var (aged, preview) = composer.ComposeWithPreview(decoded, new float[tensor.Length], geometry, inputPreview);
        Assert.Equal((96, 64), (preview.Width, preview.Height));
        Assert.Equal(96 * 64 * 3, preview.Pixels.Length);

        var fromPreviews = renderer.Render([new("input", png, inputPreview), new("age 40", aged.Content, preview)], ImageFormat.Png);
        var decodedAgain = renderer.Render([new("input", png), new("age 40", aged.Content)], ImageFormat.Png);
        Assert.Equal((decodedAgain.Width, decodedAgain.Height), (fromPreviews.Width, fromPreviews.Height));
        using var a = TestImages.Load(fromPreviews.Content);
        using var b = TestImages.Load(decodedAgain.Content);
        using var difference = (a - b).Abs();
        Assert.True(difference.Max() <= 2, $"the sheets differ by up to {difference.Max()} levels");
    }

    [Fact]
    public void An_output_preview_blended_at_preview_size_matches_the_scaled_down_output()
    {
        // RGB input and a smooth, non-zero residual: the preview is the residual blended onto the input's preview,
        // which must look like scaling the full-size output down.
        var options = new ImagingOptions { ContactSheetTileHeight = 96 };
        var decoder = new ImageDecoder(options);
        var composer = new ResidualComposer(options);
        using var source = TestImages.Gradient(600, 400);
        var png = TestImages.Png(source);
        using var decoded = decoder.Decode(png);
        var tensor = new float[3 * 32 * 32];
        var geometry = decoder.DecodeForModel(png, 32, 32, tensor);
        var residual = new float[tensor.Length];
        for (var i = 0; i < residual.Length; i++)
        {
            residual[i] = 0.3f * MathF.Sin(i % 32 * 0.2f) * MathF.Cos(i / 32 % 32 * 0.15f + (i / 1024));
        }

        var (aged, preview) = composer.ComposeWithPreview(decoded, residual, geometry, composer.Preview(decoded));

        Assert.Equal((144, 96), (preview.Width, preview.Height));
        using var scaled = NetVips.Image.ThumbnailBuffer(aged.Content, 144 * 4, height: 96);
        var expected = scaled.WriteToMemory<byte>();
        Assert.Equal(expected.Length, preview.Pixels.Length);
        var differences = expected.Zip(preview.Pixels, (a, b) => Math.Abs(a - b)).ToArray();
        Assert.True(differences.Average() < 1.0, $"mean difference {differences.Average():F2} levels");
        Assert.True(differences.Max() <= 6, $"largest difference {differences.Max()} levels");
    }

    [Fact]
    public void Refuses_tiles_that_are_not_acceptable_images()
    {
        var renderer = new ContactSheetRenderer(new ImagingOptions());
        var error = Assert.Throws<PipelineException>(() => renderer.Render([new("input", TestCorpus.ReadFile("hopper.gif"))], ImageFormat.Jpeg));
        Assert.Equal(PipelineErrorCode.UnsupportedFormat, error.Code);
    }
}
