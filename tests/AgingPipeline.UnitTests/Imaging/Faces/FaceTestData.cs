using AgingPipeline.Contracts;
using AgingPipeline.Imaging;
using AgingPipeline.Imaging.Faces;

namespace AgingPipeline.UnitTests.Imaging.Faces;

/// <summary>Faces placed at known positions, and an independent reading of the mask for assertions.</summary>
internal static class FaceTestData
{
    /// <summary>The template of character-ager 3.</summary>
    public static CropTemplate Template { get; } = CropTemplate.Default(64);

    /// <summary>Options that accept tiny test images.</summary>
    public static ImagingOptions Options { get; } = new() { Limits = new InputLimits { MinDimension = 1 } };

    /// <summary>The crop-to-image similarity that puts a crop of side <paramref name="side"/> image pixels, turned by
    /// <paramref name="angle"/> radians, with its centre at (<paramref name="centreX"/>, <paramref name="centreY"/>).</summary>
    public static SimilarityTransform CropToImage(CropTemplate template, double side, double angle, double centreX, double centreY)
    {
        var scale = side / template.Size;
        var rotation = SimilarityTransform.Create(scale, angle, 0, 0);
        var (cx, cy) = rotation.Apply(template.Size / 2.0, template.Size / 2.0);
        return SimilarityTransform.Create(scale, angle, centreX - cx, centreY - cy);
    }

    /// <summary>A detected face whose eyes and mouth are the template's points carried into the image by
    /// <paramref name="cropToImage"/>.</summary>
    public static DetectedFace Face(CropTemplate template, SimilarityTransform cropToImage)
    {
        Point2 Map(Point2 p) => cropToImage.Apply(new Point2(p.X * template.Size, p.Y * template.Size));
        var left = Map(template.LeftEye);
        var right = Map(template.RightEye);
        var mouth = Map(template.Mouth);
        var nose = new Point2((left.X + right.X + mouth.X) / 3, (left.Y + right.Y + mouth.Y) / 3);
        return new DetectedFace(new FaceBox(left.X, left.Y, 1, 1), 0.9f, left, right, nose, mouth, left, right, "test");
    }

    /// <summary>The image-to-crop transform of a face at the given place, as the pipeline would fit it.</summary>
    public static SimilarityTransform Aligned(double side, double angle, double centreX, double centreY) =>
        SimilarityTransform.ToTemplate(Face(Template, CropToImage(Template, side, angle, centreX, centreY)), Template);

    /// <summary>True when the centre of pixel (x, y) lies on or beyond the outer mask ellipse of every face: computed
    /// here from the contract's numbers, not with the blend's own mask code.</summary>
    public static bool OutsideEveryMask(int x, int y, CropTemplate template, IEnumerable<SimilarityTransform> faces)
    {
        var mask = template.Mask;
        foreach (var face in faces)
        {
            var (u, v) = face.Apply(x + 0.5, y + 0.5);
            var dx = (u / template.Size) - mask.CentreX;
            var dy = (v / template.Size) - mask.CentreY;
            if ((dx * dx / (mask.RadiusX * (double)mask.RadiusX)) + (dy * dy / (mask.RadiusY * (double)mask.RadiusY)) < 1)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A residual of random values in [-<paramref name="amplitude"/>, <paramref name="amplitude"/>].</summary>
    public static float[] RandomResidual(int size, int seed, float amplitude = 0.6f)
    {
        var random = new Random(seed);
        var residual = new float[3 * size * size];
        for (var i = 0; i < residual.Length; i++)
        {
            residual[i] = (float)(((random.NextDouble() * 2) - 1) * amplitude);
        }
        return residual;
    }

    /// <summary>A residual of one value everywhere.</summary>
    public static float[] ConstantResidual(int size, float value) => Enumerable.Repeat(value, 3 * size * size).ToArray();

    /// <summary>Random interleaved pixels.</summary>
    public static byte[] RandomPixels(int width, int height, int bands, int seed)
    {
        var pixels = new byte[width * height * bands];
        new Random(seed).NextBytes(pixels);
        return pixels;
    }

    /// <summary>A PNG of <paramref name="pixels"/>.</summary>
    public static byte[] Png(byte[] pixels, int width, int height, int bands)
    {
        using var image = TestImages.FromPixels(pixels, width, height, bands);
        return image.PngsaveBuffer(compression: 1);
    }

    /// <summary>Asserts that every pixel outside the masks equals the input in every band, that the alpha band (when
    /// there is one) equals it everywhere, and returns how many colour bytes inside changed.</summary>
    public static int AssertUnchangedOutside(byte[] input, byte[] output, int width, int height, int bands, CropTemplate template, IReadOnlyList<SimilarityTransform> faces)
    {
        Assert.Equal(input.Length, output.Length);
        var changedInside = 0;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var o = ((y * width) + x) * bands;
                var outside = OutsideEveryMask(x, y, template, faces);
                for (var c = 0; c < bands; c++)
                {
                    if (outside || c == 3)
                    {
                        if (input[o + c] != output[o + c])
                        {
                            Assert.Fail($"Pixel ({x}, {y}) band {c} changed from {input[o + c]} to {output[o + c]} though {(c == 3 ? "it is alpha" : "no mask reaches it")}.");
                        }
                    }
                    else if (input[o + c] != output[o + c])
                    {
                        changedInside++;
                    }
                }
            }
        }
        return changedInside;
    }
}
