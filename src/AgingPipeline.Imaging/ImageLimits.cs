using System.Globalization;
using AgingPipeline.Contracts;

namespace AgingPipeline.Imaging;

/// <summary>Checks sizes against <see cref="ImagingOptions"/>, with messages a person can act on.</summary>
/// <remarks>Every check here runs on numbers from the header, before decoding, so refusing a decompression bomb costs
/// nothing. The pixel budget is checked before the side lengths so that a bomb is reported as what it is.</remarks>
public static class ImageLimits
{
    /// <summary>Throws <see cref="PipelineErrorCode.ImageTooLarge"/> when the content has more bytes than allowed.</summary>
    public static void CheckByteLength(long byteLength, ImagingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (byteLength > options.MaxBytes)
        {
            throw new PipelineException(
                PipelineErrorCode.ImageTooLarge,
                $"The file is {FormatBytes(byteLength)}; the limit is {FormatBytes(options.MaxBytes)}.");
        }
    }

    /// <summary>Throws the matching <see cref="PipelineException"/> when the header is outside the limits.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.ImageTooLarge"/>,
    /// <see cref="PipelineErrorCode.TooManyPixels"/>, <see cref="PipelineErrorCode.BadDimensions"/> or
    /// <see cref="PipelineErrorCode.TooManyFrames"/>.</exception>
    public static void Check(ImageInfo header, ImagingOptions options)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(options);
        CheckByteLength(header.ByteLength, options);
        var size = $"{header.Width.ToString(CultureInfo.InvariantCulture)} × {header.Height.ToString(CultureInfo.InvariantCulture)}";
        if (header.Width < 1 || header.Height < 1)
        {
            throw new PipelineException(PipelineErrorCode.BadDimensions, $"The image declares an empty canvas ({size} pixels).");
        }
        if (header.Pixels > options.MaxPixels)
        {
            throw new PipelineException(
                PipelineErrorCode.TooManyPixels,
                $"The image is {size} pixels ({FormatMegapixels(header.Pixels)}); the limit is {FormatMegapixels(options.MaxPixels)}.");
        }
        var longest = Math.Max(header.Width, header.Height);
        var shortest = Math.Min(header.Width, header.Height);
        if (longest > options.MaxDimension)
        {
            throw new PipelineException(
                PipelineErrorCode.BadDimensions,
                $"The image is {size} pixels; no side may be longer than {options.MaxDimension.ToString(CultureInfo.InvariantCulture)} pixels.");
        }
        if (shortest < options.MinDimension)
        {
            throw new PipelineException(
                PipelineErrorCode.BadDimensions,
                $"The image is {size} pixels; each side must be at least {options.MinDimension.ToString(CultureInfo.InvariantCulture)} pixels.");
        }
        if (header.Frames > options.MaxFrames)
        {
            throw new PipelineException(
                PipelineErrorCode.TooManyFrames,
                options.MaxFrames == 1
                    ? $"The image is an animation with {header.Frames.ToString(CultureInfo.InvariantCulture)} frames; only still images are accepted."
                    : $"The image has {header.Frames.ToString(CultureInfo.InvariantCulture)} frames; the limit is {options.MaxFrames.ToString(CultureInfo.InvariantCulture)}.");
        }
    }

    private static string FormatMegapixels(long pixels) =>
        (pixels / 1_000_000.0).ToString(pixels < 10_000_000 ? "0.##" : "0.#", CultureInfo.InvariantCulture) + " megapixels";

    private static string FormatBytes(long bytes) => bytes switch
    {
        < 1024 => bytes.ToString(CultureInfo.InvariantCulture) + " bytes",
        < 1024 * 1024 => (bytes / 1024.0).ToString("0.#", CultureInfo.InvariantCulture) + " KiB",
        _ => (bytes / (1024.0 * 1024.0)).ToString("0.#", CultureInfo.InvariantCulture) + " MiB",
    };
}
