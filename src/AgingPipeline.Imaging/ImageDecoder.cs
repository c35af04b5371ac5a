using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;
using Microsoft.Extensions.Logging;
using NetVips;

namespace AgingPipeline.Imaging;

/// <summary>Decodes vetted content: at full resolution for composing, or straight to a model tensor with
/// shrink-on-load.</summary>
/// <remarks>Both paths read the header and check the limits first (see <see cref="ImageHeaderReader"/>), then decode
/// through <c>vips_thumbnail</c> with <c>fail_on=error</c> so that truncated or corrupt data fails instead of
/// producing a grey half-image. Both apply the EXIF orientation and convert to 8-bit sRGB (ICC profiles, grey,
/// 16-bit and CMYK inputs included) in the same way, so the model sees exactly the pixels the residual is added to.
/// </remarks>
public sealed class ImageDecoder
{
    // Passed to the loader that vips_thumbnail picks: its own fail_on argument does not reach the loader.
    private const string LoaderOptions = "fail_on=error";

    private readonly ImageHeaderReader _headerReader;
    private readonly double[] _background;

    /// <summary>Creates a decoder that enforces the limits of <paramref name="headerReader"/>.</summary>
    public ImageDecoder(ImageHeaderReader headerReader)
    {
        ArgumentNullException.ThrowIfNull(headerReader);
        _headerReader = headerReader;
        _background = [.. headerReader.Options.FlattenBackground.Select(v => (double)v)];
    }

    /// <summary>Creates a decoder with its own header reader.</summary>
    public ImageDecoder(ImagingOptions options, ILoggerFactory? loggerFactory = null)
        : this(new ImageHeaderReader(options, loggerFactory))
    {
    }

    /// <summary>The options in force.</summary>
    public ImagingOptions Options => _headerReader.Options;

    /// <summary>The refusal text of content that claims <paramref name="format"/> but cannot be decoded: fixed per
    /// format, never libvips' own words, so that the same broken file gets the same text at every entry and on every
    /// run.</summary>
    public static string CorruptMessage(ImageFormat format) => VipsErrors.CorruptMessage(format);

    /// <summary>Decodes the whole image at full resolution into one interleaved byte array.</summary>
    /// <exception cref="PipelineException">Any limit or format error of <see cref="ImageHeaderReader.Read(ReadOnlyMemory{byte})"/>,
    /// or <see cref="PipelineErrorCode.CorruptImage"/> when the pixel data cannot be decoded.</exception>
    public DecodedImage Decode(ReadOnlyMemory<byte> data)
    {
        var header = _headerReader.Read(data);
        var bytes = VipsBuffers.AsArray(data);
        byte[] pixels;
        int width, height, bands;
        try
        {
            // A thumbnail box equal to the (oriented) size never resizes; it only orients and colour-manages,
            // exactly as the model path does.
            using var loaded = Image.ThumbnailBuffer(bytes, header.Width, LoaderOptions, header.Height, Enums.Size.Down);
            using var srgb = ToSrgb8(loaded);
            (width, height, bands) = (srgb.Width, srgb.Height, srgb.Bands);
            if (width != header.Width || height != header.Height)
            {
                throw new PipelineException(
                    PipelineErrorCode.CorruptImage,
                    $"The {ImageSniffer.FormatName(header.Format)} image declares {header.Width} × {header.Height} pixels but decodes to {width} × {height}.");
            }
            pixels = srgb.WriteToMemory<byte>();
        }
        catch (VipsException e)
        {
            throw VipsErrors.Corrupt(header.Format, e);
        }
        return new DecodedImage(pixels, width, height, bands, header);
    }

    /// <summary>Decodes straight to the model's input size with shrink-on-load and packs the pixels as float32 NCHW in
    /// [-1, 1] into <paramref name="destination"/> (3 × <paramref name="height"/> × <paramref name="width"/>).</summary>
    /// <remarks>JPEG and WebP decode at a fraction of their size here (DCT scaling), so a 40-megapixel photo costs
    /// little. Transparent pixels are flattened onto <see cref="ImagingOptions.FlattenBackground"/>; non-square
    /// images are mapped per <see cref="ImagingOptions.FitMode"/>.</remarks>
    /// <returns>Where the content sits in the model input, to map the residual back.</returns>
    /// <exception cref="PipelineException">As <see cref="Decode"/>.</exception>
    public ModelInputGeometry DecodeForModel(ReadOnlyMemory<byte> data, int width, int height, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (destination.Length != 3 * width * height)
        {
            throw new ArgumentException($"The destination must hold 3 × {height} × {width} floats.", nameof(destination));
        }
        var header = _headerReader.Read(data);
        var bytes = VipsBuffers.AsArray(data);
        try
        {
            var size = Options.FitMode == ModelFitMode.Stretch ? Enums.Size.Force : Enums.Size.Both;
            using var thumbnail = Image.ThumbnailBuffer(bytes, width, LoaderOptions, height, size);
            return PackForModel(thumbnail, header.Width, header.Height, width, height, destination);
        }
        catch (VipsException e)
        {
            throw VipsErrors.Corrupt(header.Format, e);
        }
    }

    /// <summary>Packs an already decoded full-resolution image for the model, like <see cref="DecodeForModel"/>.</summary>
    /// <remarks>Use it when the full-resolution image is decoded anyway and the content should not be decoded twice.</remarks>
    public ModelInputGeometry PackForModel(DecodedImage image, int width, int height, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (destination.Length != 3 * width * height)
        {
            throw new ArgumentException($"The destination must hold 3 × {height} × {width} floats.", nameof(destination));
        }
        try
        {
            var size = Options.FitMode == ModelFitMode.Stretch ? Enums.Size.Force : Enums.Size.Both;
            using var thumbnail = image.Pixels.ThumbnailImage(width, height, size);
            return PackForModel(thumbnail, image.Width, image.Height, width, height, destination);
        }
        catch (VipsException e)
        {
            throw VipsErrors.Internal("scaling the image for the model", e);
        }
    }

    /// <summary>Converts any decoded image to 8-bit sRGB with 3 bands, or 4 when it has alpha.</summary>
    internal static Image ToSrgb8(Image image)
    {
        using var srgb = image.Interpretation == Enums.Interpretation.Srgb && image.Format == Enums.BandFormat.Uchar
            ? image.Copy()
            : image.Colourspace(Enums.Interpretation.Srgb);
        using var uchar = srgb.Format == Enums.BandFormat.Uchar ? srgb.Copy() : srgb.Cast(Enums.BandFormat.Uchar);
        if (uchar.Bands == 3 || (uchar.Bands == 4 && uchar.HasAlpha()))
        {
            return uchar.Copy(interpretation: Enums.Interpretation.Srgb);
        }
        if (uchar.Bands > 4 && uchar.HasAlpha())
        {
            using var colour = uchar.ExtractBand(0, 3);
            using var alpha = uchar.ExtractBand(uchar.Bands - 1);
            using var joined = colour.Bandjoin(alpha);
            return joined.Copy(interpretation: Enums.Interpretation.Srgb);
        }
        if (uchar.Bands > 3)
        {
            using var colour = uchar.ExtractBand(0, 3);
            return colour.Copy(interpretation: Enums.Interpretation.Srgb);
        }
        using var grey = uchar.ExtractBand(0);
        using var rgb = grey.Bandjoin(grey, grey);
        return rgb.Copy(interpretation: Enums.Interpretation.Srgb);
    }

    private ModelInputGeometry PackForModel(Image thumbnail, int sourceWidth, int sourceHeight, int width, int height, Span<float> destination)
    {
        using var srgb = ToSrgb8(thumbnail);
        using var flat = srgb.Bands == 4 ? srgb.Flatten(_background) : srgb.Copy();
        using var rgb = flat.Format == Enums.BandFormat.Uchar ? flat.Copy() : flat.Cast(Enums.BandFormat.Uchar);
        var contentWidth = Math.Min(rgb.Width, width);
        var contentHeight = Math.Min(rgb.Height, height);
        var x = (width - contentWidth) / 2;
        var y = (height - contentHeight) / 2;
        using var cropped = rgb.Width > width || rgb.Height > height ? rgb.ExtractArea(0, 0, contentWidth, contentHeight) : rgb.Copy();
        using var placed = contentWidth == width && contentHeight == height
            ? cropped.Copy()
            : cropped.Embed(x, y, width, height, Enums.Extend.Copy);
        TensorPacker.PackImage(placed, destination);
        return new ModelInputGeometry(width, height, x, y, contentWidth, contentHeight, sourceWidth, sourceHeight);
    }
}
