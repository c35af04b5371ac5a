using AgingPipeline.Contracts;
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
            [new("input", TestImages.Png(a)), new("age 40", TestImages.Jpeg(b)), new("age 80", TestImages.WebP(c))],
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
    public void Refuses_tiles_that_are_not_acceptable_images()
    {
        var renderer = new ContactSheetRenderer(new ImagingOptions());
        var error = Assert.Throws<PipelineException>(() => renderer.Render([new("input", TestPaths.CorpusFile("hopper.gif"))], ImageFormat.Jpeg));
        Assert.Equal(PipelineErrorCode.UnsupportedFormat, error.Code);
    }
}
