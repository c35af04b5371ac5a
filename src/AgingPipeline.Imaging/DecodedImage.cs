using AgingPipeline.Contracts;
using NetVips;

namespace AgingPipeline.Imaging;

/// <summary>A fully decoded image at full resolution: EXIF orientation applied, 8-bit sRGB, 3 bands or 4 with alpha.</summary>
/// <remarks>Decoded once per job so that composing several ages does not decode the input again. The pixels are one
/// interleaved byte array (width × height × bands) that the composer reads directly and libvips reads in place
/// (pinned, not copied) for scaling. Dispose it as soon as the job's outputs are written.</remarks>
public sealed class DecodedImage : IDisposable
{
    internal DecodedImage(byte[] interleaved, int width, int height, int bands, ImageInfo header)
    {
        if (interleaved.Length != (long)width * height * bands)
        {
            throw new ArgumentException($"{width} × {height} × {bands} bytes expected, not {interleaved.Length}.", nameof(interleaved));
        }
        Interleaved = interleaved;
        Width = width;
        Height = height;
        Bands = bands;
        Header = header;
        using var view = Image.NewFromMemory(interleaved, width, height, bands, Enums.BandFormat.Uchar);
        Pixels = view.Copy(interpretation: Enums.Interpretation.Srgb);
    }

    /// <summary>What the header declared (format, size, orientation).</summary>
    public ImageInfo Header { get; }

    /// <summary>The input's format; outputs are written in the same format.</summary>
    public ImageFormat Format => Header.Format;

    /// <summary>Width in pixels (orientation applied).</summary>
    public int Width { get; }

    /// <summary>Height in pixels (orientation applied).</summary>
    public int Height { get; }

    /// <summary>3 (RGB) or 4 (RGBA).</summary>
    public int Bands { get; }

    /// <summary>True when the last band is alpha.</summary>
    public bool HasAlpha => Bands == 4;

    /// <summary>The pixels, row-major, <see cref="Bands"/> bytes per pixel. Not to be written to.</summary>
    internal byte[] Interleaved { get; }

    /// <summary>A libvips view of <see cref="Interleaved"/> (no copy).</summary>
    internal Image Pixels { get; }

    /// <summary>Copies the pixels out as interleaved bytes (row-major, <see cref="Bands"/> per pixel).</summary>
    /// <remarks>For tests and small images: the copy is width × height × bands bytes of managed memory.</remarks>
    public byte[] ToInterleavedBytes() => (byte[])Interleaved.Clone();

    /// <inheritdoc />
    public void Dispose() => Pixels.Dispose();
}
