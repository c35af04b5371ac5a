using AgingPipeline.Contracts;

namespace AgingPipeline.Imaging.Faces;

/// <summary>Samples one face's head crop out of the full-resolution input as the ager's input tensor.</summary>
/// <remarks>
/// <para>The tensor is what the whole-frame path gives the model (<see cref="ImageDecoder.DecodeForModel"/>,
/// <see cref="TensorPacker"/>): float32 planar RGB (3 × size × size), <c>v / 127.5 − 1</c> for an 8-bit sRGB value,
/// transparent pixels flattened onto <see cref="ImagingOptions.FlattenBackground"/>. Flattening is linear in the
/// premultiplied colour and the alpha, so flattening each source pixel and then interpolating gives what libvips'
/// premultiplied resampling followed by flattening gives; only the final rounding to 8 bits that the whole-frame path
/// does is left out (an interpolated value is not an 8-bit level anyway).</para>
/// <para>Crop pixel <c>(j, i)</c> is the image at <c>Inverse().Apply(j + 0.5, i + 0.5)</c> (see
/// <see cref="SimilarityTransform"/> for the conventions), read bilinearly with edge pixels replicated beyond the
/// image, so that a face at the border sees the border stretched rather than black.</para>
/// <para>When the face is larger in the picture than in the crop (<see cref="SimilarityTransform.Scale"/> &lt; 1),
/// each crop pixel is the mean of an n × n grid of bilinear samples spread evenly over its footprint, with
/// <c>n = ⌈1 / scale⌉</c>: samples at most one image pixel apart, i.e. an area average (box filter) over the
/// footprint, so a 1000-pixel face in a 64-pixel crop is not aliased. n is capped at <see cref="MaxSamplesPerSide"/>
/// (a 32² grid, for faces over 32 × the crop), where samples are a few pixels apart: still a box filter, only sparser.
/// </para>
/// </remarks>
public sealed class FaceCropSampler
{
    /// <summary>Most samples per side of one crop pixel's footprint.</summary>
    /// <remarks>Bounds the cost of one crop at 1024 bilinear samples per crop pixel (about 4 M for a 64² crop, some
    /// tens of milliseconds) however large the face is.</remarks>
    public const int MaxSamplesPerSide = 32;

    private readonly float[] _background;

    /// <summary>Creates a sampler that flattens transparency onto <see cref="ImagingOptions.FlattenBackground"/>.</summary>
    public FaceCropSampler(ImagingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        _background = [.. options.FlattenBackground.Select(v => (float)v)];
    }

    /// <summary>Samples the crop of the face that <paramref name="imageToCrop"/> aligns to <paramref name="template"/>
    /// into <paramref name="destination"/> (3 × size × size floats, planar RGB, [-1, 1]).</summary>
    /// <param name="image">The decoded full-resolution input.</param>
    /// <param name="imageToCrop">The face's transform from image to crop coordinates
    /// (<see cref="SimilarityTransform.ToTemplate"/>).</param>
    /// <param name="template">The ager's crop template; its <see cref="CropTemplate.Size"/> is the crop side.</param>
    /// <param name="destination">Where the tensor goes, e.g. one item's slice of a batch.</param>
    public void Sample(DecodedImage image, SimilarityTransform imageToCrop, CropTemplate template, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentOutOfRangeException.ThrowIfLessThan(template.Size, 1);
        var size = template.Size;
        var plane = size * size;
        if (destination.Length != 3 * plane)
        {
            throw new ArgumentException($"The destination must hold 3 × {size} × {size} floats, not {destination.Length}.", nameof(destination));
        }
        var n = SamplesPerSide(imageToCrop.Scale);
        var inverse = imageToCrop.Inverse();
        // One step of a sub-sample along the crop's x and y axes, in image coordinates.
        double stepXx = inverse.A / n, stepXy = inverse.B / n;
        double stepYx = -inverse.B / n, stepYy = inverse.A / n;
        var pixels = image.Interleaved;
        var sampler = new Bilinear(pixels, image.Width, image.Height, image.Bands, _background);
        float count = n * n;
        for (var i = 0; i < size; i++)
        {
            for (var j = 0; j < size; j++)
            {
                // The first sub-sample of crop pixel (j, i), at (j + 0.5 / n, i + 0.5 / n).
                var (x0, y0) = inverse.Apply(j + (0.5 / n), i + (0.5 / n));
                float r = 0, g = 0, b = 0;
                for (var k = 0; k < n; k++)
                {
                    var x = x0 + (k * stepYx);
                    var y = y0 + (k * stepYy);
                    for (var l = 0; l < n; l++, x += stepXx, y += stepXy)
                    {
                        var (sr, sg, sb) = sampler.At(x, y);
                        r += sr;
                        g += sg;
                        b += sb;
                    }
                }
                var o = (i * size) + j;
                // The same expression as TensorPacker's, so that an unscaled crop is bit for bit the packed pixels.
                destination[o] = (r / count / TensorPacker.PixelScale) - 1f;
                destination[plane + o] = (g / count / TensorPacker.PixelScale) - 1f;
                destination[(2 * plane) + o] = (b / count / TensorPacker.PixelScale) - 1f;
            }
        }
    }

    /// <summary>Samples per side of a crop pixel's footprint at <paramref name="scale"/> crop pixels per image
    /// pixel: 1 when the crop is at least as fine as the image, else ⌈1 / scale⌉ up to
    /// <see cref="MaxSamplesPerSide"/>.</summary>
    public static int SamplesPerSide(double scale)
    {
        if (!(scale > 0) || !double.IsFinite(scale))
        {
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "The scale must be positive and finite.");
        }
        return scale >= 1 ? 1 : (int)Math.Min(MaxSamplesPerSide, Math.Ceiling((1 / scale) - 1e-9));
    }

    /// <summary>Bilinear reads of 8-bit interleaved pixels in 8-bit units, edges replicated, alpha flattened.</summary>
    private readonly ref struct Bilinear(byte[] pixels, int width, int height, int bands, float[] background)
    {
        private readonly byte[] _pixels = pixels;

        public (float R, float G, float B) At(double x, double y)
        {
            // Value index = coordinate − 0.5 (pixel centres at i + 0.5).
            var sx = Math.Clamp(x - 0.5, 0, width - 1);
            var sy = Math.Clamp(y - 0.5, 0, height - 1);
            var ix = (int)sx;
            var iy = (int)sy;
            var fx = (float)(sx - ix);
            var fy = (float)(sy - iy);
            var ix1 = Math.Min(ix + 1, width - 1);
            var iy1 = Math.Min(iy + 1, height - 1);
            var p00 = Read((iy * width) + ix);
            var p10 = Read((iy * width) + ix1);
            var p01 = Read((iy1 * width) + ix);
            var p11 = Read((iy1 * width) + ix1);
            return (
                Lerp(Lerp(p00.R, p10.R, fx), Lerp(p01.R, p11.R, fx), fy),
                Lerp(Lerp(p00.G, p10.G, fx), Lerp(p01.G, p11.G, fx), fy),
                Lerp(Lerp(p00.B, p10.B, fx), Lerp(p01.B, p11.B, fx), fy));
        }

        private (float R, float G, float B) Read(int pixel)
        {
            var o = pixel * bands;
            if (bands == 3)
            {
                return (_pixels[o], _pixels[o + 1], _pixels[o + 2]);
            }
            var alpha = _pixels[o + 3] / 255f;
            var rest = 1f - alpha;
            return (
                (_pixels[o] * alpha) + (background[0] * rest),
                (_pixels[o + 1] * alpha) + (background[1] * rest),
                (_pixels[o + 2] * alpha) + (background[2] * rest));
        }

        private static float Lerp(float a, float b, float t) => a + ((b - a) * t);
    }
}
