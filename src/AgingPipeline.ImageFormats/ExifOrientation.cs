using System.Buffers.Binary;
using AgingPipeline.Contracts;

namespace AgingPipeline.ImageFormats;

/// <summary>The EXIF orientation (TIFF tag 0x0112) from an image's first bytes, without decoding: a JPEG's APP1
/// <c>Exif</c> segment, a PNG's <c>eXIf</c> chunk or a WebP's <c>EXIF</c> chunk.</summary>
/// <remarks>Only what the prefix holds is read; an orientation that is absent, out of the prefix, malformed or not 1–8
/// reads as 1 (as shot), which is also what the decoder assumes for such values.</remarks>
public static class ExifOrientation
{
    private const ushort OrientationTag = 0x0112;
    private const ushort ShortType = 3;

    /// <summary>The orientation, 1–8 (1 when absent or unreadable).</summary>
    /// <param name="prefix">The first bytes of the file.</param>
    /// <param name="format">Its format (<see cref="ImageSniffer.SniffFormat"/>).</param>
    public static int Read(ReadOnlySpan<byte> prefix, ImageFormat format)
    {
        var tiff = format switch
        {
            ImageFormat.Jpeg => JpegExif(prefix),
            ImageFormat.Png => PngExif(prefix),
            ImageFormat.WebP => WebPExif(prefix),
            _ => [],
        };
        return FromTiff(tiff);
    }

    /// <summary>True when the orientation turns the picture by a quarter (5–8), so that it is shown with width and
    /// height swapped.</summary>
    public static bool SwapsAxes(int orientation) => orientation is >= 5 and <= 8;

    private static ReadOnlySpan<byte> JpegExif(ReadOnlySpan<byte> data)
    {
        var segments = new JpegSegments(data);
        while (segments.Next() == JpegStep.Segment)
        {
            if (segments.Marker == 0xE1 && segments.Payload.StartsWith("Exif\0\0"u8))
            {
                return segments.Payload[6..];
            }
        }
        return [];
    }

    private static ReadOnlySpan<byte> PngExif(ReadOnlySpan<byte> data)
    {
        var pos = 8;
        while (pos + 8 <= data.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(data[pos..]);
            var type = data.Slice(pos + 4, 4);
            if (type.SequenceEqual("eXIf"u8))
            {
                return data[(pos + 8)..(int)Math.Min(data.Length, pos + 8 + (long)length)];
            }
            if (type.SequenceEqual("IDAT"u8) || length > int.MaxValue - 12)
            {
                break;
            }
            pos += 12 + (int)length;
        }
        return [];
    }

    private static ReadOnlySpan<byte> WebPExif(ReadOnlySpan<byte> data)
    {
        var pos = 12;
        while (pos + 8 <= data.Length)
        {
            var length = BinaryPrimitives.ReadUInt32LittleEndian(data[(pos + 4)..]);
            if (data.Slice(pos, 4).SequenceEqual("EXIF"u8))
            {
                var payload = data[(pos + 8)..(int)Math.Min(data.Length, pos + 8 + (long)length)];
                // Some writers keep the JPEG APP1 header in front of the TIFF data.
                return payload.StartsWith("Exif\0\0"u8) ? payload[6..] : payload;
            }
            if (length > int.MaxValue - 9)
            {
                break;
            }
            pos += 8 + (int)length + (int)(length & 1);
        }
        return [];
    }

    private static int FromTiff(ReadOnlySpan<byte> tiff)
    {
        if (tiff.Length < 8)
        {
            return 1;
        }
        bool little;
        if (tiff.StartsWith("II*\0"u8))
        {
            little = true;
        }
        else if (tiff.StartsWith("MM\0*"u8))
        {
            little = false;
        }
        else
        {
            return 1;
        }
        var ifd = U32(tiff[4..], little);
        if (ifd < 8 || ifd > (uint)tiff.Length - 2)
        {
            return 1;
        }
        var count = U16(tiff[(int)ifd..], little);
        for (var i = 0; i < count; i++)
        {
            var entry = (int)ifd + 2 + (i * 12);
            if (entry + 12 > tiff.Length)
            {
                break;
            }
            if (U16(tiff[entry..], little) == OrientationTag && U16(tiff[(entry + 2)..], little) == ShortType)
            {
                var value = U16(tiff[(entry + 8)..], little);
                return value is >= 1 and <= 8 ? value : 1;
            }
        }
        return 1;
    }

    private static ushort U16(ReadOnlySpan<byte> data, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(data) : BinaryPrimitives.ReadUInt16BigEndian(data);

    private static uint U32(ReadOnlySpan<byte> data, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(data) : BinaryPrimitives.ReadUInt32BigEndian(data);
}
