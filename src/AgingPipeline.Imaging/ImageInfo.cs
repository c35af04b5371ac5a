using AgingPipeline.Contracts;

namespace AgingPipeline.Imaging;

/// <summary>What an image declares about itself, read without decoding its pixels.</summary>
/// <param name="Format">The sniffed format.</param>
/// <param name="Width">Width as displayed, i.e. after the EXIF orientation is applied.</param>
/// <param name="Height">Height as displayed, i.e. after the EXIF orientation is applied.</param>
/// <param name="Orientation">EXIF orientation 1–8 (1 when absent).</param>
/// <param name="Frames">Number of frames (pages); 1 for still images.</param>
/// <param name="Bands">Number of bands as stored (e.g. 1 grey, 3 RGB, 4 RGBA or CMYK).</param>
/// <param name="HasAlpha">True when the image carries an alpha channel.</param>
/// <param name="Interpretation">libvips' interpretation of the stored pixels (e.g. "srgb", "b-w", "cmyk").</param>
/// <param name="ByteLength">Size of the compressed content in bytes.</param>
/// <param name="ChromaSubsampling">A JPEG's chroma subsampling as libvips reports it (e.g. "4:2:0", "4:4:4"); null
/// for other formats or when unknown. JPEG outputs are written with the same.</param>
public sealed record ImageInfo(
    ImageFormat Format,
    int Width,
    int Height,
    int Orientation,
    int Frames,
    int Bands,
    bool HasAlpha,
    string Interpretation,
    long ByteLength,
    string? ChromaSubsampling = null)
{
    /// <summary>Width × height.</summary>
    public long Pixels => (long)Width * Height;

    /// <summary>True when the EXIF orientation swaps width and height (orientations 5–8).</summary>
    public bool SwapsAxes => Orientation is >= 5 and <= 8;

    /// <summary>True when the JPEG stores colour at full resolution (4:4:4), false when subsampled (4:2:0, 4:2:2, …),
    /// null when not a JPEG or unknown.</summary>
    public bool? FullResolutionChroma => ChromaSubsampling switch
    {
        null => null,
        var s => s.StartsWith("4:4:4", StringComparison.Ordinal),
    };
}
