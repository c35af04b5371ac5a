using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;
using AgingPipeline.Imaging;
using AgingPipeline.Imaging.Faces;
using NetVips;

namespace AgingPipeline.UnitTests.Imaging.Faces;

public sealed class FaceComposerTests
{
    private static readonly CropTemplate Template = FaceTestData.Template;
    private readonly ImageDecoder _decoder = new(FaceTestData.Options);
    private readonly FaceComposer _composer = new(FaceTestData.Options);

    [Theory]
    [InlineData(17, 13, 12, 0.3, 8, 6)]
    [InlineData(301, 257, 180, -0.4, 150, 128)]
    [InlineData(301, 257, 200, 0.1, 10, 250)]
    [InlineData(300, 200, 260, 2.8, 290, 5)]
    [InlineData(2049, 1537, 900, 0.2, 1000, 760)]
    public void Every_pixel_outside_the_mask_is_the_input_bit_for_bit(int width, int height, double side, double angle, double x, double y)
    {
        var input = FaceTestData.RandomPixels(width, height, 3, seed: width + height);
        using var decoded = _decoder.Decode(FaceTestData.Png(input, width, height, 3));
        var face = FaceTestData.Aligned(side, angle, x, y);
        FaceResidual[] faces = [new(face, FaceTestData.RandomResidual(Template.Size, seed: 3))];

        var pixels = _composer.ComposePixels(decoded, faces, Template);
        var output = _composer.Compose(decoded, faces, Template);

        Assert.Equal((ImageFormat.Png, width, height), (output.Format, output.Width, output.Height));
        var changed = FaceTestData.AssertUnchangedOutside(input, pixels, width, height, 3, Template, [face]);
        Assert.True(changed > 0, "the residual changed nothing inside the mask");
        using var reloaded = _decoder.Decode(output.Content);
        Assert.Equal(pixels, reloaded.ToInterleavedBytes());
    }

    [Theory]
    [InlineData(ImageFormat.Jpeg, 6)]
    [InlineData(ImageFormat.Jpeg, 3)]
    [InlineData(ImageFormat.Png, 6)]
    [InlineData(ImageFormat.Png, 8)]
    public void Exif_rotated_inputs_are_unchanged_outside_the_mask(ImageFormat format, int orientation)
    {
        // Stored 240 × 160; orientations 6 and 8 display it 160 × 240.
        using var stored = TestImages.Gradient(240, 160);
        using var oriented = stored.Mutate(m => m.Set(GValue.GIntType, "orientation", orientation));
        var encoded = format == ImageFormat.Jpeg ? TestImages.Jpeg(oriented) : oriented.PngsaveBuffer();
        using var decoded = _decoder.Decode(encoded);
        Assert.Equal(orientation, decoded.Header.Orientation);
        var (width, height) = orientation == 3 ? (240, 160) : (160, 240);
        Assert.Equal((width, height), (decoded.Width, decoded.Height));
        var input = decoded.ToInterleavedBytes();
        var face = FaceTestData.Aligned(110, 0.2, width / 2.0, height / 2.0);
        FaceResidual[] faces = [new(face, FaceTestData.RandomResidual(Template.Size, seed: 7))];

        var pixels = _composer.ComposePixels(decoded, faces, Template);
        var output = _composer.Compose(decoded, faces, Template);

        Assert.True(FaceTestData.AssertUnchangedOutside(input, pixels, width, height, 3, Template, [face]) > 0);
        Assert.Equal((format, width, height), (output.Format, output.Width, output.Height));
        if (format == ImageFormat.Png)
        {
            using var reloaded = _decoder.Decode(output.Content);
            Assert.Equal(1, reloaded.Header.Orientation);
            Assert.Equal(pixels, reloaded.ToInterleavedBytes());
        }
    }

    [Fact]
    public void Rgba_inputs_keep_their_alpha_everywhere_and_their_colour_outside_the_mask()
    {
        const int width = 211, height = 173;
        var input = FaceTestData.RandomPixels(width, height, 4, seed: 11);
        using var decoded = _decoder.Decode(FaceTestData.Png(input, width, height, 4));
        Assert.True(decoded.HasAlpha);
        var face = FaceTestData.Aligned(150, -0.6, 100, 90);
        FaceResidual[] faces = [new(face, FaceTestData.RandomResidual(Template.Size, seed: 5))];

        var output = _composer.Compose(decoded, faces, Template);

        using var reloaded = _decoder.Decode(output.Content);
        Assert.Equal(4, reloaded.Bands);
        Assert.True(FaceTestData.AssertUnchangedOutside(input, reloaded.ToInterleavedBytes(), width, height, 4, Template, [face]) > 0);
    }

    [Fact]
    public void Sixteen_bit_inputs_round_trip_unchanged_outside_the_mask()
    {
        const int width = 160, height = 120;
        using var noise = TestImages.Noise(width, height, seed: 9);
        using var wide = noise.Cast(Enums.BandFormat.Ushort, shift: true);
        using var rgb16 = wide.Copy(interpretation: Enums.Interpretation.Rgb16);
        using var decoded = _decoder.Decode(rgb16.PngsaveBuffer());
        var input = decoded.ToInterleavedBytes();
        var face = FaceTestData.Aligned(100, 0.5, 80, 60);
        FaceResidual[] faces = [new(face, FaceTestData.RandomResidual(Template.Size, seed: 2))];

        var output = _composer.Compose(decoded, faces, Template);

        Assert.Equal(ImageFormat.Png, output.Format);
        using var reloaded = _decoder.Decode(output.Content);
        Assert.True(FaceTestData.AssertUnchangedOutside(input, reloaded.ToInterleavedBytes(), width, height, 3, Template, [face]) > 0);
    }

    [Theory]
    [InlineData(0.2f, 126)]
    [InlineData(-0.2f, 75)]
    [InlineData(1f, 228)]
    [InlineData(-1f, 0)]
    public void A_constant_residual_moves_the_inside_by_its_value_in_eight_bit_levels(float residual, int expected)
    {
        // Grey 100 plus residual × 127.5, rounded half up and clamped, as the whole-frame composer does.
        const int side = 400;
        var input = new byte[side * side * 3];
        Array.Fill(input, (byte)100);
        using var decoded = _decoder.Decode(FaceTestData.Png(input, side, side, 3));
        var face = FaceTestData.Aligned(300, 0.3, 200, 200);
        var toImage = face.Inverse();

        var pixels = _composer.ComposePixels(decoded, [new(face, FaceTestData.ConstantResidual(Template.Size, residual))], Template);

        foreach (var (u, v) in new[] { (0.5, 0.5), (0.38, 0.44), (0.5, 0.7), (0.3, 0.3) })
        {
            var (x, y) = toImage.Apply(u * Template.Size, v * Template.Size);
            var o = (((int)y * side) + (int)x) * 3;
            Assert.Equal([(byte)expected, (byte)expected, (byte)expected], pixels[o..(o + 3)]);
        }
        // Halfway through the feather on the horizontal axis the change is about half.
        var mask = Template.Mask;
        var (fx, fy) = toImage.Apply((mask.CentreX + mask.RadiusX - (mask.Feather / 2)) * Template.Size, mask.CentreY * Template.Size);
        var feathered = pixels[(((int)fy * side) + (int)fx) * 3];
        Assert.InRange(Math.Abs(feathered - 100), 0.3 * Math.Abs(expected - 100), 0.7 * Math.Abs(expected - 100));
    }

    [Theory]
    [InlineData(640, 480, 500, 0.7, 300, 260)]
    [InlineData(333, 517, 260, -2.2, 20, 480)]
    [InlineData(1500, 1100, 1400, 0.05, 760, 540)]
    public void Every_pixel_inside_the_inner_ellipse_gets_the_full_residual_and_the_feather_a_part(int width, int height, double side, double angle, double x, double y)
    {
        // Grey 100 and +0.2 (+25.5 levels): the inner ellipse, computed here from the contract's numbers, must be 126
        // everywhere, so no row or column of the face is skipped; the feather lies in between.
        var input = new byte[width * height * 3];
        Array.Fill(input, (byte)100);
        using var decoded = _decoder.Decode(FaceTestData.Png(input, width, height, 3));
        var face = FaceTestData.Aligned(side, angle, x, y);
        var mask = Template.Mask;

        var pixels = _composer.ComposePixels(decoded, [new(face, FaceTestData.ConstantResidual(Template.Size, 0.2f))], Template);

        var inside = 0;
        for (var py = 0; py < height; py++)
        {
            for (var px = 0; px < width; px++)
            {
                var (u, v) = face.Apply(px + 0.5, py + 0.5);
                var dx = (u / Template.Size) - mask.CentreX;
                var dy = (v / Template.Size) - mask.CentreY;
                var innerX = mask.RadiusX - mask.Feather;
                var innerY = mask.RadiusY - mask.Feather;
                var value = pixels[((py * width) + px) * 3];
                if ((dx * dx / (innerX * innerX)) + (dy * dy / (innerY * innerY)) < 0.999)
                {
                    inside++;
                    Assert.Equal(126, value);
                }
                else
                {
                    Assert.InRange(value, (byte)100, (byte)126);
                }
            }
        }
        Assert.True(inside > 1000, "precondition: the inner ellipse covers part of the picture");
    }

    [Fact]
    public void Two_faces_side_by_side_are_both_aged_and_the_gap_between_them_is_untouched()
    {
        const int width = 500, height = 240;
        var input = FaceTestData.RandomPixels(width, height, 3, seed: 21);
        using var decoded = _decoder.Decode(FaceTestData.Png(input, width, height, 3));
        var left = FaceTestData.Aligned(200, 0.1, 120, 120);
        var right = FaceTestData.Aligned(180, -0.2, 380, 120);
        var residual = FaceTestData.ConstantResidual(Template.Size, 0.3f);

        var pixels = _composer.ComposePixels(decoded, [new(left, residual), new(right, residual)], Template);

        FaceTestData.AssertUnchangedOutside(input, pixels, width, height, 3, Template, [left, right]);
        Assert.True(Changed(input, pixels, width, 0, 230) > 1000, "the left face was not aged");
        Assert.True(Changed(input, pixels, width, 270, width) > 1000, "the right face was not aged");
        Assert.Equal(0, Changed(input, pixels, width, 240, 260));
    }

    [Fact]
    public void Overlapping_faces_with_the_same_residual_add_it_once()
    {
        const int side = 300;
        var input = FaceTestData.RandomPixels(side, side, 3, seed: 4);
        using var decoded = _decoder.Decode(FaceTestData.Png(input, side, side, 3));
        var face = FaceTestData.Aligned(200, 0.25, 150, 150);
        var residual = FaceTestData.RandomResidual(Template.Size, seed: 8);

        var once = _composer.ComposePixels(decoded, [new(face, residual)], Template);
        var twice = _composer.ComposePixels(decoded, [new(face, residual), new(face, residual)], Template);

        Assert.Equal(once, twice);
        Assert.NotEqual(input, once);
    }

    [Fact]
    public void Partly_overlapping_faces_never_change_a_pixel_more_than_the_stronger_face_alone()
    {
        // +0.2 is +25.5 levels from one face; two faces whose feathers and insides overlap must not exceed it.
        const int width = 400, height = 300;
        var input = new byte[width * height * 3];
        Array.Fill(input, (byte)100);
        using var decoded = _decoder.Decode(FaceTestData.Png(input, width, height, 3));
        var residual = FaceTestData.ConstantResidual(Template.Size, 0.2f);
        var first = FaceTestData.Aligned(220, 0, 160, 150);
        var second = FaceTestData.Aligned(220, 0, 240, 150);

        var alone = _composer.ComposePixels(decoded, [new(first, residual)], Template);
        var other = _composer.ComposePixels(decoded, [new(second, residual)], Template);

        var both = _composer.ComposePixels(decoded, [new(first, residual), new(second, residual)], Template);

        for (var i = 0; i < both.Length; i++)
        {
            Assert.InRange(both[i], (byte)100, Math.Max(alone[i], other[i]));
        }
        Assert.Equal(126, both[((150 * width) + 200) * 3]);
    }

    [Fact]
    public void Without_faces_the_output_is_the_input()
    {
        var input = FaceTestData.RandomPixels(64, 48, 3, seed: 1);
        using var decoded = _decoder.Decode(FaceTestData.Png(input, 64, 48, 3));

        var output = _composer.Compose(decoded, [], Template);

        using var reloaded = _decoder.Decode(output.Content);
        Assert.Equal(input, reloaded.ToInterleavedBytes());
    }

    [Theory]
    [InlineData(ImageFormat.Jpeg)]
    [InlineData(ImageFormat.WebP)]
    public void Writes_the_input_format_without_metadata(ImageFormat format)
    {
        using var image = TestImages.Gradient(300, 200);
        using var tagged = image.Mutate(m => m.Set(GValue.GIntType, "orientation", 1));
        var encoded = format == ImageFormat.Jpeg ? TestImages.Jpeg(tagged) : TestImages.WebPLossless(tagged);
        using var decoded = _decoder.Decode(encoded);

        var output = _composer.Compose(decoded, [new(FaceTestData.Aligned(150, 0, 150, 100), FaceTestData.ConstantResidual(Template.Size, 0.3f))], Template);

        Assert.Equal(format, ImageSniffer.Detect(output.Content).Format);
        using var reloaded = TestImages.Load(output.Content);
        Assert.Equal((300, 200), (reloaded.Width, reloaded.Height));
        Assert.False(reloaded.Contains("exif-data"));
        Assert.True(TestImages.Pixel(reloaded, 150, 100, 2) > 150, "the face was not aged");
    }

    [Fact]
    public void The_preview_shows_the_aged_face_and_leaves_the_rest_as_the_input_preview()
    {
        const int width = 1200, height = 900;
        var input = new byte[width * height * 3];
        Array.Fill(input, (byte)100);
        using var decoded = _decoder.Decode(FaceTestData.Png(input, width, height, 3));
        var inputPreview = _composer.Preview(decoded);
        var face = FaceTestData.Aligned(500, 0.1, 600, 450);

        var (image, preview) = _composer.ComposeWithPreview(decoded, [new(face, FaceTestData.ConstantResidual(Template.Size, 0.2f))], Template, inputPreview);

        Assert.Equal((inputPreview.Width, inputPreview.Height), (preview.Width, preview.Height));
        Assert.True(inputPreview.Width < width);
        var centre = (((preview.Height / 2) * preview.Width) + (preview.Width / 2)) * 3;
        Assert.Equal(126, preview.Pixels[centre]);
        Assert.Equal(inputPreview.Pixels[..(preview.Width * 3)], preview.Pixels[..(preview.Width * 3)]);
        using var reloaded = TestImages.Load(image.Content);
        Assert.Equal(126, TestImages.Pixel(reloaded, 600, 450, 0));
    }

    [Fact]
    public void An_rgba_preview_is_scaled_from_the_aged_output()
    {
        var input = new byte[300 * 200 * 4];
        for (var i = 0; i < input.Length; i += 4)
        {
            (input[i], input[i + 1], input[i + 2], input[i + 3]) = (100, 100, 100, 255);
        }
        using var decoded = _decoder.Decode(FaceTestData.Png(input, 300, 200, 4));
        var inputPreview = _composer.Preview(decoded);

        var (_, preview) = _composer.ComposeWithPreview(decoded, [new(FaceTestData.Aligned(150, 0, 150, 100), FaceTestData.ConstantResidual(Template.Size, 0.2f))], Template, inputPreview);

        var centre = (((preview.Height / 2) * preview.Width) + (preview.Width / 2)) * 3;
        Assert.InRange(preview.Pixels[centre], (byte)124, (byte)128);
        Assert.Equal(100, preview.Pixels[0]);
    }

    [Fact]
    public void A_residual_of_the_wrong_size_is_refused()
    {
        using var image = TestImages.Solid(64, 64, 1, 2, 3);
        using var decoded = _decoder.Decode(TestImages.Png(image));
        Assert.Throws<ArgumentException>(() => _composer.Compose(decoded, [new(SimilarityTransform.Identity, new float[10])], Template));
    }

    /// <summary>Colour bytes that differ in the columns [<paramref name="from"/>, <paramref name="to"/>).</summary>
    private static int Changed(byte[] input, byte[] output, int width, int from, int to)
    {
        var count = 0;
        for (var i = 0; i < input.Length; i++)
        {
            var x = i / 3 % width;
            if (x >= from && x < to && input[i] != output[i])
            {
                count++;
            }
        }
        return count;
    }
}
