using AgingPipeline.Contracts;
using NetVips;

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
        if (SamplesPerSide(imageToCrop.Scale) >= PreShrinkFrom && Shrunk(image, imageToCrop, size) is { } shrunk)
        {
            SampleInto(shrunk.Pixels, shrunk.Width, shrunk.Height, 3, imageToCrop.After(shrunk.ToImage), size, destination);
            return;
        }
        SampleInto(image.Interleaved, image.Width, image.Height, image.Bands, imageToCrop, size, destination);
    }

    /// <summary>From this many samples per side on, the crop's footprint is first box-shrunk by libvips.</summary>
    /// <remarks>A 600-px face in a 64² crop needs ~13² bilinear samples per crop pixel (≈ 700 k in all, some tens of
    /// milliseconds); libvips' SIMD box shrink of just the footprint to about two image pixels per crop pixel, then
    /// 2² samples, is the same box filter within rounding at a fraction of the cost.</remarks>
    internal const int PreShrinkFrom = 4;

    private void SampleInto(byte[] pixels, int width, int height, int bands, SimilarityTransform imageToCrop, int size, Span<float> destination)
    {
        var plane = size * size;
        var n = SamplesPerSide(imageToCrop.Scale);
        var inverse = imageToCrop.Inverse();
        // One step of a sub-sample along the crop's x and y axes, in image coordinates.
        double stepXx = inverse.A / n, stepXy = inverse.B / n;
        double stepYx = -inverse.B / n, stepYy = inverse.A / n;
        var sampler = new Bilinear(pixels, width, height, bands, _background);
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

    /// <summary>The crop's footprint in the image (plus a margin), alpha flattened onto the background and box-shrunk
    /// by an integer factor to about two image pixels per crop pixel; null when the footprint misses the image.</summary>
    private ShrunkFootprint? Shrunk(DecodedImage image, SimilarityTransform imageToCrop, int size)
    {
        var factor = Math.Max(2, (int)Math.Floor(0.5 / imageToCrop.Scale));
        var inverse = imageToCrop.Inverse();
        double minX = double.MaxValue, minY = double.MaxValue, maxX = double.MinValue, maxY = double.MinValue;
        foreach (var (u, v) in new (double, double)[] { (0, 0), (size, 0), (0, size), (size, size) })
        {
            var (x, y) = inverse.Apply(u, v);
            (minX, minY, maxX, maxY) = (Math.Min(minX, x), Math.Min(minY, y), Math.Max(maxX, x), Math.Max(maxY, y));
        }
        // Whole blocks of the factor, aligned to the image origin, with a block of margin for the bilinear taps.
        var left = Math.Max(0, ((int)Math.Floor(minX / factor) - 1) * factor);
        var top = Math.Max(0, ((int)Math.Floor(minY / factor) - 1) * factor);
        var right = Math.Min(image.Width, ((int)Math.Ceiling(maxX / factor) + 1) * factor);
        var bottom = Math.Min(image.Height, ((int)Math.Ceiling(maxY / factor) + 1) * factor);
        if (right - left < factor || bottom - top < factor)
        {
            return null;
        }
        try
        {
            using var area = image.Pixels.ExtractArea(left, top, right - left, bottom - top);
            using var flat = area.Bands == 4 ? area.Flatten(background: [.. _background.Select(v => (double)v)]) : area.Copy();
            using var shrunk = flat.Shrink(factor, factor, ceil: true);
            using var bytes = shrunk.Cast(Enums.BandFormat.Uchar);
            var pixels = bytes.WriteToMemory<byte>();
            // Shrunk pixel u covers image [left + u·factor, left + (u + 1)·factor): image x = left + factor · u.
            return new ShrunkFootprint(pixels, bytes.Width, bytes.Height, SimilarityTransform.Create(factor, 0, left, top));
        }
        catch (VipsException e)
        {
            throw VipsErrors.Internal("shrinking a face crop's footprint", e);
        }
    }

    private sealed record ShrunkFootprint(byte[] Pixels, int Width, int Height, SimilarityTransform ToImage);

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
