using AgingPipeline.Contracts;
using NetVips;

namespace AgingPipeline.Imaging.Faces;

/// <summary>Where a picture sits inside a face detector's square input, to map detections back to image pixels.</summary>
/// <param name="Size">Side of the detector input in pixels.</param>
/// <param name="ScaleX">Letterbox pixels per image pixel, horizontally.</param>
/// <param name="ScaleY">Letterbox pixels per image pixel, vertically (equal to <paramref name="ScaleX"/> up to the
/// rounding of the scaled size to whole pixels).</param>
/// <param name="OffsetX">Left edge of the picture inside the input, in input pixels.</param>
/// <param name="OffsetY">Top edge of the picture inside the input, in input pixels.</param>
public readonly record struct DetectorLetterbox(int Size, double ScaleX, double ScaleY, double OffsetX, double OffsetY)
{
    /// <summary>A point in normalised input coordinates ([0, 1]² over the input square) in image pixels.</summary>
    public Point2 ToImage(float u, float v) =>
        new((float)((u * Size - OffsetX) / ScaleX), (float)((v * Size - OffsetY) / ScaleY));
}

/// <summary>Prepares a decoded picture for a BlazeFace-style detector: a letterboxed NHWC float square in [-1, 1].</summary>
/// <remarks>
/// <para>The longer side is scaled to the detector's side and the rest is padded, centred, with a neutral grey: a
/// detector trained on undistorted faces misses or misplaces faces squeezed by a stretch. Transparent pixels are
/// composited onto the same grey first, so that a cut-out character on a transparent canvas looks to the detector
/// like one on a plain backdrop, not on black (the colour of fully transparent pixels is often arbitrary).</para>
/// <para>Grey 128 is the 8-bit value nearest to 0.0 in the network's [-1, 1] range: padding that says nothing.
/// Scaling is Lanczos-3 (libvips; <c>training/blazeface.py</c> uses Pillow's Lanczos for its fixtures). Values are
/// <c>v / 127.5 − 1</c>, as in MediaPipe.</para>
/// </remarks>
public static class DetectorInput
{
    /// <summary>Letterboxes <paramref name="image"/> into <paramref name="destination"/> (size × size × 3 floats,
    /// row-major, RGB interleaved).</summary>
    /// <param name="image">The decoded picture (orientation applied, 8-bit sRGB, 3 or 4 bands).</param>
    /// <param name="size">Side of the detector input.</param>
    /// <param name="padValue">The grey (0–255) used for the padding and under transparency.</param>
    /// <param name="destination">Receives the tensor.</param>
    /// <returns>The mapping from input coordinates back to image pixels.</returns>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.Internal"/> when libvips fails.</exception>
    public static DetectorLetterbox Letterbox(DecodedImage image, int size, int padValue, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padValue);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(padValue, 255);
        if (destination.Length != size * size * 3)
        {
            throw new ArgumentException($"The destination must hold {size} × {size} × 3 floats.", nameof(destination));
        }
        byte[] canvas;
        DetectorLetterbox box;
        try
        {
            double[] grey = [padValue, padValue, padValue];
            using var flat = image.HasAlpha ? image.Pixels.Flatten(grey) : image.Pixels.Copy();
            using var rgb = flat.Format == Enums.BandFormat.Uchar ? flat.Copy() : flat.Cast(Enums.BandFormat.Uchar);
            var scale = (double)size / Math.Max(image.Width, image.Height);
            var width = Math.Clamp((int)Math.Round(image.Width * scale, MidpointRounding.AwayFromZero), 1, size);
            var height = Math.Clamp((int)Math.Round(image.Height * scale, MidpointRounding.AwayFromZero), 1, size);
            using var resized = width == image.Width && height == image.Height
                ? rgb.Copy()
                : rgb.Resize((double)width / image.Width, Enums.Kernel.Lanczos3, vscale: (double)height / image.Height);
            // libvips rounds the scaled size itself; take what it made so that the mapping is exact.
            using var content = resized.Width > size || resized.Height > size
                ? resized.ExtractArea(0, 0, Math.Min(resized.Width, size), Math.Min(resized.Height, size))
                : resized.Copy();
            var x = (size - content.Width) / 2;
            var y = (size - content.Height) / 2;
            using var placed = content.Embed(x, y, size, size, Enums.Extend.Background, grey);
            canvas = placed.WriteToMemory<byte>();
            box = new DetectorLetterbox(size, (double)content.Width / image.Width, (double)content.Height / image.Height, x, y);
        }
        catch (VipsException e)
        {
            throw VipsErrors.Internal("preparing the face detector input", e);
        }
        if (canvas.Length != destination.Length)
        {
            throw new PipelineException(PipelineErrorCode.Internal, $"The face detector input has {canvas.Length} values, expected {destination.Length}.");
        }
        for (var i = 0; i < canvas.Length; i++)
        {
            destination[i] = canvas[i] / 127.5f - 1f;
        }
        return box;
    }
}
