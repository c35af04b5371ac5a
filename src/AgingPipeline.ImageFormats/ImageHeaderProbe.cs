using System.Buffers.Binary;
using AgingPipeline.Contracts;

namespace AgingPipeline.ImageFormats;

/// <summary>Reads the dimensions of an image from its header when the prefix holds it, without decoding anything; the
/// format comes from <see cref="ImageSniffer"/>.</summary>
/// <remarks>
/// <para>Pure managed code with no native dependency, so that the function app can refuse an upload from a small
/// ranged read of the blob before any job exists, and the runner and CLI read headers the same way.</para>
/// <para>Dimensions come from the PNG <c>IHDR</c> chunk, the first JPEG <c>SOFn</c> marker, or the WebP
/// <c>VP8 </c>/<c>VP8L</c>/<c>VP8X</c> chunk. A JPEG whose EXIF or ICC segments push the frame header past the
/// prefix yields unknown dimensions rather than a guess: the runner enforces the pixel limits again with the real
/// decoder (decompression bombs are caught there at the latest).</para>
/// </remarks>
public static class ImageHeaderProbe
{
    /// <summary>Sniffs the format, reads the dimensions when the prefix holds the frame header, and the EXIF
    /// orientation when it holds that.</summary>
    /// <param name="prefix">The first bytes of the file (64 KiB is plenty for almost every image).</param>
    /// <returns>The header; dimensions are null when not found in the prefix.</returns>
    /// <exception cref="PipelineException">With <see cref="PipelineErrorCode.CorruptImage"/> when the magic
    /// number is right but the header that follows is impossible (zero sizes, broken chunk layout).</exception>
    public static ImageHeader Probe(ReadOnlySpan<byte> prefix)
    {
        var format = ImageSniffer.SniffFormat(prefix);
        var header = format switch
        {
            ImageFormat.Png => ProbePng(prefix),
            ImageFormat.Jpeg => ProbeJpeg(prefix),
            ImageFormat.WebP => ProbeWebP(prefix),
            _ => new ImageHeader(ImageFormat.Unknown, null, null),
        };
        return header with { Orientation = ExifOrientation.Read(prefix, format) };
    }

    private static ImageHeader ProbePng(ReadOnlySpan<byte> data)
    {
        // Signature (8) + length (4) + "IHDR" (4) + width (4) + height (4).
        if (data.Length < 24)
        {
            return new ImageHeader(ImageFormat.Png, null, null);
        }
        if (!data[12..16].SequenceEqual("IHDR"u8))
        {
            throw Corrupt(ImageFormat.Png, "the first chunk is not IHDR");
        }
        var width = BinaryPrimitives.ReadUInt32BigEndian(data[16..20]);
        var height = BinaryPrimitives.ReadUInt32BigEndian(data[20..24]);
        return Sized(ImageFormat.Png, width, height);
    }

    private static ImageHeader ProbeJpeg(ReadOnlySpan<byte> data)
    {
        var segments = new JpegSegments(data);
        while (true)
        {
            switch (segments.Next())
            {
                case JpegStep.NotAMarker:
                    throw Corrupt(ImageFormat.Jpeg, $"expected a marker at byte {segments.Position}");
                case JpegStep.ScanStart:
                    throw Corrupt(ImageFormat.Jpeg, "the image data starts before any frame header");
                case JpegStep.BadLength:
                    throw Corrupt(ImageFormat.Jpeg, $"segment length {segments.Length} at byte {segments.Position}");
                case JpegStep.Segment when IsStartOfFrame(segments.Marker):
                    // Length (2), precision (1), height (2), width (2).
                    var frame = segments.Payload;
                    if (frame.Length < 5)
                    {
                        return new ImageHeader(ImageFormat.Jpeg, null, null);
                    }
                    return Sized(ImageFormat.Jpeg, BinaryPrimitives.ReadUInt16BigEndian(frame[3..]), BinaryPrimitives.ReadUInt16BigEndian(frame[1..]));
                case JpegStep.Segment:
                    continue;
                default:
                    return new ImageHeader(ImageFormat.Jpeg, null, null);
            }
        }
    }

    private static bool IsStartOfFrame(byte marker) =>
        marker is >= 0xC0 and <= 0xCF && marker is not (0xC4 or 0xC8 or 0xCC);

    private static ImageHeader ProbeWebP(ReadOnlySpan<byte> data)
    {
        // RIFF (4) size (4) WEBP (4), then the first chunk: fourcc (4) size (4) payload.
        if (data.Length < 30)
        {
            return new ImageHeader(ImageFormat.WebP, null, null);
        }
        var chunk = data[12..16];
        var payload = data[20..];
        if (chunk.SequenceEqual("VP8X"u8))
        {
            // flags (1) reserved (3) canvas width-1 (3, LE) canvas height-1 (3, LE).
            var width = 1u + ReadUInt24LittleEndian(payload[4..7]);
            var height = 1u + ReadUInt24LittleEndian(payload[7..10]);
            return Sized(ImageFormat.WebP, width, height);
        }
        if (chunk.SequenceEqual("VP8L"u8))
        {
            if (payload[0] != 0x2F)
            {
                throw Corrupt(ImageFormat.WebP, "the lossless bitstream signature is missing");
            }
            var bits = BinaryPrimitives.ReadUInt32LittleEndian(payload[1..5]);
            var width = 1u + (bits & 0x3FFF);
            var height = 1u + ((bits >> 14) & 0x3FFF);
            return Sized(ImageFormat.WebP, width, height);
        }
        if (chunk.SequenceEqual("VP8 "u8))
        {
            // frame tag (3), start code 9D 01 2A, width (14 bits LE), height (14 bits LE).
            if (payload[3] != 0x9D || payload[4] != 0x01 || payload[5] != 0x2A)
            {
                throw Corrupt(ImageFormat.WebP, "the lossy frame start code is missing");
            }
            var width = (uint)(BinaryPrimitives.ReadUInt16LittleEndian(payload[6..8]) & 0x3FFF);
            var height = (uint)(BinaryPrimitives.ReadUInt16LittleEndian(payload[8..10]) & 0x3FFF);
            return Sized(ImageFormat.WebP, width, height);
        }
        throw Corrupt(ImageFormat.WebP, "the first chunk is neither VP8, VP8L nor VP8X");
    }

    private static uint ReadUInt24LittleEndian(ReadOnlySpan<byte> bytes) => bytes[0] | ((uint)bytes[1] << 8) | ((uint)bytes[2] << 16);

    private static ImageHeader Sized(ImageFormat format, uint width, uint height)
    {
        if (width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue)
        {
            throw Corrupt(format, $"the header declares {width}×{height} pixels");
        }
        return new ImageHeader(format, (int)width, (int)height);
    }

    private static PipelineException Corrupt(ImageFormat format, string detail) =>
        new(PipelineErrorCode.CorruptImage, $"The file looks like {ImageSniffer.FormatName(format)} but its header is broken: {detail}.");
}
