using NetVips;

namespace AgingPipeline.Imaging;

/// <summary>The one place where pixels become model tensors and model tensors become pixels.</summary>
/// <remarks>Layout is NCHW (planar: all reds, then all greens, then all blues), float32, value
/// <c>v / 127.5 - 1</c> for an 8-bit sRGB value <c>v</c>, i.e. [0, 255] maps to [-1, 1] as the model manifest
/// (<c>input.range</c>) says. A residual in the same units becomes <c>residual × 127.5</c> in 8-bit units.
/// libvips works on interleaved pixels (HWC), hence the transposes here. Tensors are model-sized (a few hundred KB),
/// so these managed copies are cheap; full-resolution arithmetic stays inside libvips.</remarks>
public static class TensorPacker
{
    /// <summary>8-bit units per unit of the [-1, 1] model range.</summary>
    public const float PixelScale = 127.5f;

    /// <summary>Packs interleaved 8-bit pixels (HWC, <paramref name="channels"/> per pixel) into planar float32
    /// (CHW) in [-1, 1].</summary>
    public static void PackInterleaved(ReadOnlySpan<byte> pixels, int width, int height, int channels, Span<float> destination)
    {
        var plane = CheckedPlane(width, height, channels);
        if (pixels.Length != plane * channels)
        {
            throw new ArgumentException($"Expected {plane * channels} bytes for {width}×{height}×{channels}, got {pixels.Length}.", nameof(pixels));
        }
        if (destination.Length != plane * channels)
        {
            throw new ArgumentException($"The destination must hold exactly {plane * channels} floats, not {destination.Length}.", nameof(destination));
        }
        for (var c = 0; c < channels; c++)
        {
            var target = destination.Slice(c * plane, plane);
            for (int i = 0, src = c; i < plane; i++, src += channels)
            {
                target[i] = pixels[src] / PixelScale - 1f;
            }
        }
    }

    /// <summary>Transposes a planar tensor (CHW) to interleaved (HWC), keeping the values.</summary>
    public static void ToInterleaved(ReadOnlySpan<float> planar, int width, int height, int channels, Span<float> destination)
    {
        var plane = CheckedPlane(width, height, channels);
        if (planar.Length != plane * channels)
        {
            throw new ArgumentException($"Expected {plane * channels} floats for {channels}×{height}×{width}, got {planar.Length}.", nameof(planar));
        }
        if (destination.Length != plane * channels)
        {
            throw new ArgumentException($"The destination must hold exactly {plane * channels} floats, not {destination.Length}.", nameof(destination));
        }
        for (var c = 0; c < channels; c++)
        {
            var source = planar.Slice(c * plane, plane);
            for (int i = 0, dst = c; i < plane; i++, dst += channels)
            {
                destination[dst] = source[i];
            }
        }
    }

    /// <summary>Turns the output of an image-producing model (<c>output.kind = "image"</c>) into a residual against
    /// the packed input: <c>residual = output - input</c>.</summary>
    /// <remarks>Adding that residual to the full-resolution input keeps the input's detail, where upsampling the
    /// model-resolution image itself would blur it.</remarks>
    public static void OutputImageToResidual(ReadOnlySpan<float> output, ReadOnlySpan<float> input, Span<float> residual)
    {
        if (output.Length != input.Length || residual.Length != input.Length)
        {
            throw new ArgumentException("Output, input and residual must have the same length.");
        }
        for (var i = 0; i < input.Length; i++)
        {
            residual[i] = output[i] - input[i];
        }
    }

    /// <summary>Packs a 3-band 8-bit libvips image into <paramref name="destination"/>.</summary>
    internal static void PackImage(Image rgb, Span<float> destination)
    {
        if (rgb.Bands != 3 || rgb.Format != Enums.BandFormat.Uchar)
        {
            throw new ArgumentException($"Expected a 3-band 8-bit image, got {rgb.Bands} bands of {rgb.Format}.", nameof(rgb));
        }
        var pixels = rgb.WriteToMemory<byte>();
        PackInterleaved(pixels, rgb.Width, rgb.Height, 3, destination);
    }

    private static int CheckedPlane(int width, int height, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        return checked(width * height);
    }
}
