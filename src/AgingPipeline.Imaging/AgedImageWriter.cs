using Microsoft.Extensions.Logging;
using NetVips;

namespace AgingPipeline.Imaging;

/// <summary>The shared tail of <see cref="ResidualComposer"/> and <see cref="Faces.FaceComposer"/>: encodes composed
/// 8-bit pixels in the input's format, and makes the contact-sheet previews.</summary>
/// <remarks>One home for how an aged buffer becomes an output (sRGB, the input's format and JPEG chroma subsampling,
/// metadata stripped) so that the whole-frame and the face-aware path cannot drift apart.</remarks>
internal sealed class AgedImageWriter
{
    private readonly ImageEncoder _encoder;
    private readonly int _tileHeight;
    private readonly double[] _background;

    /// <summary>Creates a writer; initialises libvips for the process if nothing did yet.</summary>
    public AgedImageWriter(ImagingOptions options, ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        VipsRuntime.Initialize(options, loggerFactory);
        _encoder = new ImageEncoder(options);
        Parallelism = options.VipsConcurrency > 0 ? options.VipsConcurrency : Environment.ProcessorCount;
        _tileHeight = options.ContactSheetTileHeight;
        _background = [.. options.FlattenBackground.Select(v => (double)v)];
    }

    /// <summary>Threads a composer may use for one image's pixels.</summary>
    public int Parallelism { get; }

    /// <summary>The contact-sheet preview of <paramref name="input"/>, from the pixels already decoded.</summary>
    public ContactSheetPreview Preview(DecodedImage input)
    {
        ArgumentNullException.ThrowIfNull(input);
        try
        {
            return ContactSheetPreview.Create(input.Pixels, _tileHeight, _background);
        }
        catch (VipsException e)
        {
            throw VipsErrors.Internal("scaling a contact sheet tile", e);
        }
    }

    /// <summary>Encodes <paramref name="output"/> (interleaved, the input's size and bands) in the input's format.</summary>
    /// <param name="input">The decoded input the pixels were composed from.</param>
    /// <param name="output">The composed pixels.</param>
    /// <param name="preview">The preview the composer made at preview size, if it could.</param>
    /// <param name="previewWanted">Scale the output down for a preview when <paramref name="preview"/> is null.</param>
    public (EncodedImage Image, ContactSheetPreview? Preview) Encode(DecodedImage input, byte[] output, ContactSheetPreview? preview, bool previewWanted)
    {
        try
        {
            using var aged = Image.NewFromMemory(output, input.Width, input.Height, input.Bands, Enums.BandFormat.Uchar);
            using var srgb = aged.Copy(interpretation: Enums.Interpretation.Srgb);
            var encoded = _encoder.Encode(srgb, input.Format, input.Header.FullResolutionChroma);
            if (previewWanted && preview is null)
            {
                preview = ContactSheetPreview.Create(srgb, _tileHeight, _background);
            }
            return (encoded, preview);
        }
        catch (VipsException e)
        {
            throw VipsErrors.Internal("encoding the aged image", e);
        }
    }
}
