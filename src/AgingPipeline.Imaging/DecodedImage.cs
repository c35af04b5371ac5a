using AgingPipeline.Contracts;
using NetVips;

namespace AgingPipeline.Imaging;

/// <summary>A fully decoded image at full resolution: EXIF orientation applied, 8-bit sRGB, 3 bands or 4 with alpha,
/// held in native memory by libvips.</summary>
/// <remarks>Decoded once per job so that composing several ages does not decode the input again; the pixels live in
/// native memory (width × height × bands bytes), never as a managed copy. Dispose it as soon as the job's outputs are
/// written.</remarks>
public sealed class DecodedImage : IDisposable
{
    internal DecodedImage(Image pixels, ImageInfo header)
    {
        Pixels = pixels;
        Header = header;
    }

    /// <summary>What the header declared (format, size, orientation).</summary>
    public ImageInfo Header { get; }

    /// <summary>The input's format; outputs are written in the same format.</summary>
    public ImageFormat Format => Header.Format;

    /// <summary>Width in pixels (orientation applied).</summary>
    public int Width => Pixels.Width;

    /// <summary>Height in pixels (orientation applied).</summary>
    public int Height => Pixels.Height;

    /// <summary>3 (RGB) or 4 (RGBA).</summary>
    public int Bands => Pixels.Bands;

    /// <summary>True when the last band is alpha.</summary>
    public bool HasAlpha => Pixels.Bands == 4;

    internal Image Pixels { get; }

    /// <summary>Copies the pixels out as interleaved bytes (row-major, <see cref="Bands"/> per pixel).</summary>
    /// <remarks>For tests and small images only: the copy is width × height × bands bytes of managed memory.</remarks>
    public byte[] ToInterleavedBytes() => Pixels.WriteToMemory<byte>();

    /// <inheritdoc />
    public void Dispose() => Pixels.Dispose();
}
