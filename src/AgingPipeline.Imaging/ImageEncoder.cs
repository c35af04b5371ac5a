using AgingPipeline.Contracts;
using NetVips;

namespace AgingPipeline.Imaging;

/// <summary>Encodes libvips images as PNG, JPEG or WebP with every piece of metadata stripped.</summary>
/// <remarks><c>keep=none</c> drops EXIF (GPS position, camera serials, thumbnails of the original), XMP, IPTC and ICC
/// data: outputs are published through links and must not leak what the uploader's camera recorded. Pixels are
/// already converted to sRGB, which is what a viewer assumes without a profile. JPEG has no alpha, so an image with
/// alpha is flattened onto <see cref="ImagingOptions.FlattenBackground"/> for JPEG only.</remarks>
internal sealed class ImageEncoder(ImagingOptions options)
{
    private readonly double[] _background = [.. options.FlattenBackground.Select(v => (double)v)];

    /// <summary>Encodes <paramref name="image"/> (8-bit sRGB, 3 or 4 bands); evaluating it runs the whole lazy
    /// pipeline behind it.</summary>
    /// <param name="image">The pixels.</param>
    /// <param name="format">The output format.</param>
    /// <param name="fullResolutionChroma">JPEG only: true writes 4:4:4, false 4:2:0, null lets libvips choose (4:4:4
    /// from quality 90). Aged outputs pass their input's choice: a 4:2:0 upload gains nothing from a 4:4:4 output,
    /// which encodes about a third slower and is about a quarter larger.</param>
    public EncodedImage Encode(Image image, ImageFormat format, bool? fullResolutionChroma = null)
    {
        var subsample = fullResolutionChroma switch
        {
            true => Enums.ForeignSubsample.Off,
            false => Enums.ForeignSubsample.On,
            null => Enums.ForeignSubsample.Auto,
        };
        byte[] content;
        switch (format)
        {
            case ImageFormat.Png:
                content = image.PngsaveBuffer(compression: options.PngCompression, interlace: false, keep: Enums.ForeignKeep.None);
                break;
            case ImageFormat.Jpeg:
                if (image.Bands == 4)
                {
                    using var flat = image.Flatten(_background);
                    content = flat.JpegsaveBuffer(q: options.JpegQuality, optimizeCoding: options.JpegOptimizeCoding, subsampleMode: subsample, interlace: false, keep: Enums.ForeignKeep.None);
                }
                else
                {
                    content = image.JpegsaveBuffer(q: options.JpegQuality, optimizeCoding: options.JpegOptimizeCoding, subsampleMode: subsample, interlace: false, keep: Enums.ForeignKeep.None);
                }
                break;
            case ImageFormat.WebP:
                content = image.WebpsaveBuffer(q: options.WebpQuality, keep: Enums.ForeignKeep.None);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "Only PNG, JPEG and WebP are written.");
        }
        return new EncodedImage(content, format, image.Width, image.Height);
    }
}
