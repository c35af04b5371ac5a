using AgingPipeline.Contracts;

namespace AgingPipeline.ImageFormats;

/// <summary>What the first bytes of some content look like.</summary>
/// <param name="Format">The accepted format, or <see cref="ImageFormat.Unknown"/> for anything else.</param>
/// <param name="Description">A human name for what was recognised, e.g. "PNG image", "GIF image", "PDF document".</param>
public readonly record struct SniffResult(ImageFormat Format, string Description);

/// <summary>Decides the format of content from its magic numbers, never from a name or a content type.</summary>
/// <remarks>File names and <c>Content-Type</c> headers are chosen by the uploader and mean nothing. Only the first
/// bytes decide which (if any) libvips loader may see the content; unknown and unaccepted formats are refused before
/// any parser runs. Formats that are recognised but refused are named, so that the person uploading a GIF learns that
/// it is a GIF. The one home of the accepted formats' magic numbers, names and content types: the header probe
/// (<see cref="ImageHeaderProbe"/>), the door (<see cref="InputCheck"/>), the upload API, ingest, the runner and the
/// CLI all ask here.</remarks>
public static class ImageSniffer
{
    /// <summary>How many leading bytes <see cref="Detect"/> looks at; fewer are fine for short content.</summary>
    public const int HeaderLength = 32;

    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Recognises the content's format from its first bytes.</summary>
    /// <param name="header">The first bytes of the content (at least <see cref="HeaderLength"/> when available; more is
    /// ignored).</param>
    public static SniffResult Detect(ReadOnlySpan<byte> header)
    {
        header = header[..Math.Min(header.Length, HeaderLength)];
        var format = SniffFormat(header);
        return format != ImageFormat.Unknown
            ? new(format, FormatName(format) + " image")
            : new(ImageFormat.Unknown, header.IsEmpty ? "empty content" : DescribeOther(header));
    }

    /// <summary>The accepted format the magic numbers name, or <see cref="ImageFormat.Unknown"/>; nothing else is
    /// looked at.</summary>
    /// <param name="header">The first bytes of the content: 8 decide a PNG, 3 a JPEG, 12 a WebP.</param>
    public static ImageFormat SniffFormat(ReadOnlySpan<byte> header)
    {
        if (header.StartsWith(PngSignature))
        {
            return ImageFormat.Png;
        }
        if (header.Length >= 3 && header[0] == 0xFF && header[1] == 0xD8 && header[2] == 0xFF)
        {
            return ImageFormat.Jpeg;
        }
        if (header.Length >= 12 && header.StartsWith("RIFF"u8) && header[8..12].SequenceEqual("WEBP"u8))
        {
            return ImageFormat.WebP;
        }
        return ImageFormat.Unknown;
    }

    /// <summary>Returns the format of the content when it is one of <paramref name="accepted"/>; throws otherwise.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.UnsupportedFormat"/>, naming what the content
    /// looks like.</exception>
    public static ImageFormat Sniff(ReadOnlySpan<byte> header, IReadOnlyCollection<ImageFormat> accepted)
    {
        ArgumentNullException.ThrowIfNull(accepted);
        var result = Detect(header);
        var acceptedList = string.Join(", ", accepted.Select(FormatName));
        if (header.IsEmpty)
        {
            throw EmptyContent();
        }
        if (result.Format == ImageFormat.Unknown)
        {
            throw new PipelineException(
                PipelineErrorCode.UnsupportedFormat,
                $"The content is not an accepted image: it looks like {WithArticle(result.Description)}. Accepted formats: {acceptedList}.");
        }
        if (!accepted.Contains(result.Format))
        {
            throw new PipelineException(
                PipelineErrorCode.UnsupportedFormat,
                $"{FormatName(result.Format)} images are not accepted here. Accepted formats: {acceptedList}.");
        }
        return result.Format;
    }

    /// <summary>The message of the refusal of an empty file.</summary>
    public const string EmptyContentMessage = "The file is empty.";

    /// <summary>The refusal of an empty file: <see cref="PipelineErrorCode.UnsupportedFormat"/>, "The file is empty."</summary>
    /// <remarks>The one definition of how an empty file is refused, used by <see cref="Sniff"/> (runner, CLI), the upload
    /// API and the ingest function, so that the same empty input gets the same code through every entry (issue 15:
    /// it was InvalidRequest through the API, CorruptImage through ingest and UnsupportedFormat through the CLI).
    /// UnsupportedFormat, because zero bytes carry no format at all; it is not a damaged image of a known format
    /// (CorruptImage) and the request around it is well formed (InvalidRequest).</remarks>
    public static PipelineException EmptyContent() => new(PipelineErrorCode.UnsupportedFormat, EmptyContentMessage);

    /// <summary>The short display name of an accepted format ("PNG", "JPEG", "WebP").</summary>
    public static string FormatName(ImageFormat format) => format switch
    {
        ImageFormat.Png => "PNG",
        ImageFormat.Jpeg => "JPEG",
        ImageFormat.WebP => "WebP",
        _ => "unknown",
    };

    /// <summary>The MIME type written for an accepted format.</summary>
    public static string ContentType(ImageFormat format) => format switch
    {
        ImageFormat.Png => "image/png",
        ImageFormat.Jpeg => "image/jpeg",
        ImageFormat.WebP => "image/webp",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "No content type for this format."),
    };

    private static string DescribeOther(ReadOnlySpan<byte> h)
    {
        if (h.StartsWith("GIF87a"u8) || h.StartsWith("GIF89a"u8))
        {
            return "GIF image";
        }
        if (h.StartsWith("BM"u8) && h.Length >= 14)
        {
            return "BMP image";
        }
        if (h.StartsWith("II*\0"u8) || h.StartsWith("MM\0*"u8) || h.StartsWith("II+\0"u8) || h.StartsWith("MM\0+"u8))
        {
            return "TIFF image";
        }
        if (h.Length >= 12 && h[4..8].SequenceEqual("ftyp"u8))
        {
            var brand = h[8..12];
            if (brand.SequenceEqual("avif"u8) || brand.SequenceEqual("avis"u8))
            {
                return "AVIF image";
            }
            if (brand.SequenceEqual("heic"u8) || brand.SequenceEqual("heix"u8) || brand.SequenceEqual("mif1"u8) || brand.SequenceEqual("msf1"u8) || brand.SequenceEqual("hevc"u8))
            {
                return "HEIF image";
            }
            if (brand.SequenceEqual("jp2 "u8))
            {
                return "JPEG 2000 image";
            }
            return "ISO media file (video or HEIF-like)";
        }
        if (Has(h, [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20]) || Has(h, [0xFF, 0x4F, 0xFF, 0x51]))
        {
            return "JPEG 2000 image";
        }
        if (Has(h, [0xFF, 0x0A]) || Has(h, [0x00, 0x00, 0x00, 0x0C, 0x4A, 0x58, 0x4C, 0x20]))
        {
            return "JPEG XL image";
        }
        if (Has(h, [0x00, 0x00, 0x01, 0x00]) || Has(h, [0x00, 0x00, 0x02, 0x00]))
        {
            return "ICO/CUR icon";
        }
        if (h.StartsWith("8BPS"u8))
        {
            return "Photoshop document";
        }
        if (h.StartsWith("%PDF"u8))
        {
            return "PDF document";
        }
        if (h.StartsWith("qoif"u8))
        {
            return "QOI image";
        }
        if (h.StartsWith("DDS "u8))
        {
            return "DDS texture";
        }
        if (Has(h, [0x76, 0x2F, 0x31, 0x01]))
        {
            return "OpenEXR image";
        }
        if (h.StartsWith("SIMPLE  ="u8))
        {
            return "FITS image";
        }
        if (Has(h, [0x08, 0xF2, 0xA6, 0xB6]) || Has(h, [0xB6, 0xA6, 0xF2, 0x08]))
        {
            return "libvips native image";
        }
        if (h.StartsWith("RIFF"u8))
        {
            return "RIFF container that is not WebP (e.g. WAV or AVI)";
        }
        if (h.StartsWith("PK\x03\x04"u8))
        {
            return "ZIP archive";
        }
        if (Has(h, [0x1F, 0x8B]))
        {
            return "gzip archive";
        }
        if (h.Length >= 2 && h[0] == (byte)'P' && h[1] is >= (byte)'1' and <= (byte)'7')
        {
            return "PNM/PAM image";
        }
        if (Has(h, [0x00, 0x00]) && h.Length >= 4 && h[2] is 0x02 or 0x0A)
        {
            return "TGA image";
        }
        var text = TrimStartWhitespace(h);
        if (text.StartsWith("<?xml"u8) || text.StartsWith("<svg"u8) || text.StartsWith("<!DOCTYPE svg"u8))
        {
            return "SVG/XML document";
        }
        if (text.StartsWith("<"u8))
        {
            return "HTML/XML document";
        }
        if (IsMostlyText(h))
        {
            return "text file";
        }
        return $"unrecognised binary content (first bytes {Convert.ToHexString(h[..Math.Min(h.Length, 8)])})";
    }

    private static bool Has(ReadOnlySpan<byte> header, ReadOnlySpan<byte> magic) => header.StartsWith(magic);

    private static ReadOnlySpan<byte> TrimStartWhitespace(ReadOnlySpan<byte> h)
    {
        if (Has(h, [0xEF, 0xBB, 0xBF]))
        {
            h = h[3..];
        }
        var i = 0;
        while (i < h.Length && h[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            i++;
        }
        return h[i..];
    }

    private static bool IsMostlyText(ReadOnlySpan<byte> h)
    {
        var printable = 0;
        foreach (var b in h)
        {
            if (b is >= 0x20 and < 0x7F or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                printable++;
            }
        }
        return printable == h.Length;
    }

    private static string WithArticle(string description) =>
        description.Length > 0 && "aeiouAEIOU".Contains(description[0]) && !description.StartsWith("uni", StringComparison.Ordinal)
            ? "an " + description
            : description.StartsWith("empty", StringComparison.Ordinal) || description.StartsWith("unrecognised", StringComparison.Ordinal)
                ? description
                : "a " + description;
}
