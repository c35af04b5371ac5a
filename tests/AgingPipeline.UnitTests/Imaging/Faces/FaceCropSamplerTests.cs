using AgingPipeline.Contracts;
using AgingPipeline.Imaging;
using AgingPipeline.Imaging.Faces;

namespace AgingPipeline.UnitTests.Imaging.Faces;

public sealed class FaceCropSamplerTests
{
    private static readonly CropTemplate Template = FaceTestData.Template;
    private readonly ImageDecoder _decoder = new(FaceTestData.Options);
    private readonly FaceCropSampler _sampler = new(FaceTestData.Options);

    [Theory]
    [InlineData(200, 0.0, 300, 260)]
    [InlineData(120, 0.5, 420, 200)]
    [InlineData(40, -2.5, 100, 400)]
    [InlineData(560, 1.9, 300, 250)]
    public void The_eyes_and_mouth_land_on_the_template_points(double side, double angle, double x, double y)
    {
        // A white picture with a red dot on the left eye, a green one on the right eye and a blue one on the mouth,
        // placed by a turned and scaled template; each dot is about five crop pixels across.
        const int width = 600, height = 500;
        var cropToImage = FaceTestData.CropToImage(Template, side, angle, x, y);
        var face = FaceTestData.Face(Template, cropToImage);
        var radius = 2.5 * side / Template.Size;
        var pixels = new byte[width * height * 3];
        Array.Fill(pixels, (byte)255);
        Dot(pixels, width, height, face.LeftEye, radius, 0);
        Dot(pixels, width, height, face.RightEye, radius, 1);
        Dot(pixels, width, height, face.Mouth, radius, 2);
        using var decoded = _decoder.Decode(FaceTestData.Png(pixels, width, height, 3));
        var crop = new float[3 * Template.Size * Template.Size];

        _sampler.Sample(decoded, SimilarityTransform.ToTemplate(face, Template), Template, crop);

        var size = Template.Size;
        AssertNear(Template.LeftEye, Centroid(crop, size, (r, g, b) => r - g), size);
        AssertNear(Template.RightEye, Centroid(crop, size, (r, g, b) => g - b), size);
        AssertNear(Template.Mouth, Centroid(crop, size, (r, g, b) => b - r), size);
    }

    [Fact]
    public void An_identity_alignment_reproduces_the_whole_frame_packing_exactly()
    {
        // Crop pixel centres on image pixel centres: no interpolation, so the crop is the packed image itself.
        var size = Template.Size;
        var pixels = FaceTestData.RandomPixels(size, size, 3, seed: 5);
        using var decoded = _decoder.Decode(FaceTestData.Png(pixels, size, size, 3));
        var expected = new float[3 * size * size];
        TensorPacker.PackInterleaved(pixels, size, size, 3, expected);
        var crop = new float[expected.Length];

        _sampler.Sample(decoded, SimilarityTransform.Identity, Template, crop);

        Assert.Equal(expected, crop);
    }

    [Fact]
    public void Transparency_is_flattened_as_the_whole_frame_path_flattens_it()
    {
        // Opaque red on the left, transparent black on the right, half-transparent blue in a middle band.
        var size = Template.Size;
        var pixels = new byte[size * size * 4];
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                var o = ((y * size) + x) * 4;
                (pixels[o], pixels[o + 1], pixels[o + 2], pixels[o + 3]) = x switch
                {
                    < 24 => ((byte)255, (byte)0, (byte)0, (byte)255),
                    < 40 => ((byte)0, (byte)0, (byte)255, (byte)128),
                    _ => ((byte)0, (byte)0, (byte)0, (byte)0),
                };
            }
        }
        var png = FaceTestData.Png(pixels, size, size, 4);
        using var decoded = _decoder.Decode(png);
        var wholeFrame = new float[3 * size * size];
        _decoder.DecodeForModel(png, size, size, wholeFrame);
        var crop = new float[wholeFrame.Length];

        _sampler.Sample(decoded, SimilarityTransform.Identity, Template, crop);

        var plane = size * size;
        Assert.Equal([1f, -1f, -1f], new[] { crop[10], crop[plane + 10], crop[(2 * plane) + 10] });
        Assert.Equal([1f, 1f, 1f], new[] { crop[60], crop[plane + 60], crop[(2 * plane) + 60] });
        for (var i = 0; i < crop.Length; i++)
        {
            Assert.True(Math.Abs(crop[i] - wholeFrame[i]) <= 1.01f / TensorPacker.PixelScale, $"value {i}: crop {crop[i]}, whole frame {wholeFrame[i]}");
        }
    }

    [Fact]
    public void Beyond_the_border_the_edge_pixels_repeat()
    {
        // A 100 × 100 picture whose left column is (10, 20, 30) and the rest mid-grey; the crop's left half lies
        // beyond the left edge.
        var pixels = new byte[100 * 100 * 3];
        Array.Fill(pixels, (byte)128);
        for (var y = 0; y < 100; y++)
        {
            (pixels[y * 300], pixels[(y * 300) + 1], pixels[(y * 300) + 2]) = (10, 20, 30);
        }
        using var decoded = _decoder.Decode(FaceTestData.Png(pixels, 100, 100, 3));
        var toCrop = SimilarityTransform.Create(1, 0, 32, 18);
        var crop = new float[3 * Template.Size * Template.Size];

        _sampler.Sample(decoded, toCrop, Template, crop);

        var plane = Template.Size * Template.Size;
        foreach (var (j, i) in new[] { (0, 0), (20, 40), (31, 63) })
        {
            var o = (i * Template.Size) + j;
            Assert.Equal([(10 / 127.5f) - 1, (20 / 127.5f) - 1, (30 / 127.5f) - 1], new[] { crop[o], crop[plane + o], crop[(2 * plane) + o] });
        }
        Assert.Equal((128 / 127.5f) - 1, crop[(10 * Template.Size) + 50], 1e-6);
    }

    [Fact]
    public void A_face_much_larger_than_the_crop_is_area_averaged_not_aliased()
    {
        // A one-pixel checkerboard of 0 and 255 averages to 127.5, i.e. 0 in model units; point sampling at pixel
        // centres would read pure black or white.
        const int side = 700;
        var pixels = new byte[side * side * 3];
        for (var y = 0; y < side; y++)
        {
            for (var x = 0; x < side; x++)
            {
                var v = (byte)(((x + y) & 1) == 0 ? 0 : 255);
                var o = ((y * side) + x) * 3;
                (pixels[o], pixels[o + 1], pixels[o + 2]) = (v, v, v);
            }
        }
        using var decoded = _decoder.Decode(FaceTestData.Png(pixels, side, side, 3));
        var toCrop = SimilarityTransform.ToTemplate(FaceTestData.Face(Template, FaceTestData.CropToImage(Template, 640, 0, 350, 350)), Template);
        Assert.Equal(10, FaceCropSampler.SamplesPerSide(toCrop.Scale));
        var crop = new float[3 * Template.Size * Template.Size];

        _sampler.Sample(decoded, toCrop, Template, crop);

        Assert.All(crop, v => Assert.InRange(v, -0.03f, 0.03f));
    }

    [Theory]
    [InlineData(640, 0.0)]
    [InlineData(900, 0.5)]
    [InlineData(300, -0.3)]
    public void A_large_face_sampled_through_the_shrunk_footprint_reads_the_image_where_the_transform_says(int faceSide, double angle)
    {
        // A linear ramp (red along x, green along y): a box average of it equals its value at the box's centre, so every
        // crop pixel must read the ramp at its own centre mapped back into the image, whatever path the sampler takes.
        const int side = 1200;
        var pixels = new byte[side * side * 3];
        for (var y = 0; y < side; y++)
        {
            for (var x = 0; x < side; x++)
            {
                var o = ((y * side) + x) * 3;
                (pixels[o], pixels[o + 1], pixels[o + 2]) = ((byte)(40 + (x * 170 / side)), (byte)(30 + (y * 190 / side)), 90);
            }
        }
        using var decoded = _decoder.Decode(FaceTestData.Png(pixels, side, side, 3));
        var toCrop = SimilarityTransform.ToTemplate(FaceTestData.Face(Template, FaceTestData.CropToImage(Template, faceSide, angle, 600, 600)), Template);
        Assert.True(FaceCropSampler.SamplesPerSide(toCrop.Scale) >= FaceCropSampler.PreShrinkFrom);
        var size = Template.Size;
        var crop = new float[3 * size * size];

        _sampler.Sample(decoded, toCrop, Template, crop);

        var inverse = toCrop.Inverse();
        var worst = 0.0;
        for (var i = 0; i < size; i++)
        {
            for (var j = 0; j < size; j++)
            {
                var (x, y) = inverse.Apply(j + 0.5, i + 0.5);
                // The ramp's value at continuous (x, y): pixel centres at index + 0.5, edges clamped.
                var px = Math.Clamp(x - 0.5, 0, side - 1);
                var py = Math.Clamp(y - 0.5, 0, side - 1);
                if (px < 20 || py < 20 || px > side - 21 || py > side - 21)
                {
                    continue;
                }
                var red = 40 + (px * 170 / side);
                var green = 30 + (py * 190 / side);
                var o = (i * size) + j;
                worst = Math.Max(worst, Math.Abs(((crop[o] + 1) * 127.5) - red));
                worst = Math.Max(worst, Math.Abs(((crop[(size * size) + o] + 1) * 127.5) - green));
            }
        }
        Assert.True(worst < 1.5, $"worst difference {worst:F2} levels");
    }

    [Theory]
    [InlineData(2.0, 1)]
    [InlineData(1.0, 1)]
    [InlineData(0.6, 2)]
    [InlineData(0.25, 4)]
    [InlineData(0.001, FaceCropSampler.MaxSamplesPerSide)]
    public void The_pre_filter_grows_with_the_reduction(double scale, int expected)
    {
        Assert.Equal(expected, FaceCropSampler.SamplesPerSide(scale));
    }

    [Fact]
    public void A_destination_of_the_wrong_length_is_refused()
    {
        using var image = TestImages.Solid(32, 32, 1, 2, 3);
        using var decoded = _decoder.Decode(TestImages.Png(image));
        Assert.Throws<ArgumentException>(() => _sampler.Sample(decoded, SimilarityTransform.Identity, Template, new float[10]));
    }

    /// <summary>Paints the pixels whose centres lie within <paramref name="radius"/> of <paramref name="centre"/>
    /// pure red, green or blue (<paramref name="channel"/> 0, 1, 2).</summary>
    private static void Dot(byte[] pixels, int width, int height, Point2 centre, double radius, int channel)
    {
        for (var y = Math.Max(0, (int)(centre.Y - radius - 1)); y < Math.Min(height, (int)(centre.Y + radius + 2)); y++)
        {
            for (var x = Math.Max(0, (int)(centre.X - radius - 1)); x < Math.Min(width, (int)(centre.X + radius + 2)); x++)
            {
                if (Math.Pow(x + 0.5 - centre.X, 2) + Math.Pow(y + 0.5 - centre.Y, 2) <= radius * radius)
                {
                    var o = ((y * width) + x) * 3;
                    for (var c = 0; c < 3; c++)
                    {
                        pixels[o + c] = (byte)(c == channel ? 255 : 0);
                    }
                }
            }
        }
    }

    /// <summary>The weighted centre, in template units, of the crop pixels where <paramref name="weight"/> is positive.</summary>
    private static Point2 Centroid(float[] crop, int size, Func<float, float, float, float> weight)
    {
        var plane = size * size;
        double sum = 0, sx = 0, sy = 0;
        for (var i = 0; i < size; i++)
        {
            for (var j = 0; j < size; j++)
            {
                var o = (i * size) + j;
                var w = Math.Max(0, weight(crop[o], crop[plane + o], crop[(2 * plane) + o]));
                sum += w;
                sx += w * (j + 0.5);
                sy += w * (i + 0.5);
            }
        }
        Assert.True(sum > 1, "the dot is missing from the crop");
        return new Point2((float)(sx / sum / size), (float)(sy / sum / size));
    }

    private static void AssertNear(Point2 expected, Point2 actual, int size)
    {
        var dx = (expected.X - actual.X) * size;
        var dy = (expected.Y - actual.Y) * size;
        var distance = Math.Sqrt((dx * dx) + (dy * dy));
        Assert.True(distance <= 1, $"found at ({actual.X * size:0.00}, {actual.Y * size:0.00}), expected ({expected.X * size:0.00}, {expected.Y * size:0.00}) crop pixels: {distance:0.00} px off");
    }
}
