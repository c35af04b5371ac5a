using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace AgingPipeline.Testing;

// PNG, GIF and JPEG bytes written by hand, without libvips: valid small images, headers that claim any size, and
// files that are not what they say.
public static partial class TestImages
{
    /// <summary>A valid RGB PNG with a gradient.</summary>
    public static byte[] Png(int width = 32, int height = 32)
    {
        var raw = new byte[height * (1 + width * 3)];
        for (var y = 0; y < height; y++)
        {
            var row = y * (1 + width * 3);
            for (var x = 0; x < width; x++)
            {
                raw[row + 1 + x * 3] = (byte)(x * 255 / Math.Max(1, width - 1));
                raw[row + 2 + x * 3] = (byte)(y * 255 / Math.Max(1, height - 1));
                raw[row + 3 + x * 3] = 128;
            }
        }
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            zlib.Write(raw);
        }
        return PngWithHeader(width, height, compressed.ToArray());
    }

    /// <summary>A PNG whose IHDR claims <paramref name="width"/>×<paramref name="height"/> 8-bit RGB (the data does not
    /// match; only the header matters to header checks). Without <paramref name="idat"/>, the IDAT is an empty zlib
    /// stream.</summary>
    public static byte[] PngWithHeader(int width, int height, byte[]? idat = null)
    {
        using var output = new MemoryStream();
        output.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(0), width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // RGB
        WriteChunk(output, "IHDR", ihdr);
        WriteChunk(output, "IDAT", idat ?? [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    /// <summary>A syntactically valid PNG whose header declares <paramref name="width"/> × <paramref name="height"/>
    /// RGB pixels but whose data is a few bytes (one zero byte, deflated): a decompression bomb.</summary>
    public static byte[] PngWithDeclaredSize(uint width, uint height) =>
        PngWithHeader(unchecked((int)width), unchecked((int)height), [0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);

    /// <summary>PNG magic followed by garbage instead of an IHDR chunk.</summary>
    public static byte[] CorruptPng()
    {
        var bytes = Png();
        Encoding.ASCII.GetBytes("JUNK").CopyTo(bytes, 12);
        return bytes;
    }

    /// <summary>A 1×1 GIF written by hand: an image, but not an accepted one.</summary>
    public static byte[] Gif() => [.. "GIF89a"u8, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B];

    /// <summary>A JPEG with only SOI, an APP0 segment, SOF0 and EOI.</summary>
    public static byte[] JpegHeader(int width, int height)
    {
        var bytes = new List<byte> { 0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10 };
        bytes.AddRange("JFIF\0"u8.ToArray());
        bytes.AddRange(new byte[] { 1, 1, 0, 0, 1, 0, 1, 0, 0 });
        bytes.AddRange(new byte[] { 0xFF, 0xC0, 0x00, 0x11, 0x08, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, 0x03,
            1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1 });
        bytes.AddRange(new byte[] { 0xFF, 0xD9 });
        return [.. bytes];
    }

    private static void WriteChunk(Stream output, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        output.Write(length);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        output.Write(typeBytes);
        output.Write(data);
        var crc = Crc32([.. typeBytes, .. data]);
        Span<byte> crcBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crcBytes, crc);
        output.Write(crcBytes);
    }

    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }
        return ~crc;
    }
}
