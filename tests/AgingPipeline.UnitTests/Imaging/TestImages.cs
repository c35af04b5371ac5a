using System.Buffers.Binary;
using AgingPipeline.Imaging;
using NetVips;

namespace AgingPipeline.UnitTests.Imaging;

/// <summary>Builds small test images in memory with libvips (after the pipeline's own libvips set-up).</summary>
internal static class TestImages
{
    static TestImages()
    {
        VipsRuntime.Initialize(new ImagingOptions());
    }

    /// <summary>A solid-colour image.</summary>
    public static Image Solid(int width, int height, params double[] colour)
    {
        using var black = Image.Black(width, height, colour.Length);
        using var filled = black.Linear(Enumerable.Repeat(0.0, colour.Length).ToArray(), colour);
        using var cast = filled.Cast(Enums.BandFormat.Uchar);
        return cast.Copy(interpretation: colour.Length >= 3 ? Enums.Interpretation.Srgb : Enums.Interpretation.Bw);
    }

    /// <summary>An image from interleaved 8-bit pixels.</summary>
    public static Image FromPixels(byte[] pixels, int width, int height, int bands)
    {
        using var image = Image.NewFromMemoryCopy<byte>(pixels, width, height, bands, Enums.BandFormat.Uchar);
        return image.Copy(interpretation: bands >= 3 ? Enums.Interpretation.Srgb : Enums.Interpretation.Bw);
    }

    /// <summary>A deterministic pseudo-random RGB image (noise compresses badly, so truncation hits pixel data).</summary>
    public static Image Noise(int width, int height, int seed = 1)
    {
        var random = new Random(seed);
        var pixels = new byte[width * height * 3];
        random.NextBytes(pixels);
        return FromPixels(pixels, width, height, 3);
    }

    /// <summary>A horizontal gradient, smooth enough to survive JPEG.</summary>
    public static Image Gradient(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = (y * width + x) * 3;
                pixels[i] = (byte)(255 * x / Math.Max(1, width - 1));
                pixels[i + 1] = (byte)(255 * y / Math.Max(1, height - 1));
                pixels[i + 2] = 128;
            }
        }
        return FromPixels(pixels, width, height, 3);
    }

    public static byte[] Png(Image image) => image.PngsaveBuffer();

    public static byte[] Jpeg(Image image, int quality = 95) => image.JpegsaveBuffer(q: quality);

    public static byte[] WebP(Image image) => image.WebpsaveBuffer(lossless: true);

    /// <summary>A syntactically valid PNG whose header declares <paramref name="width"/> × <paramref name="height"/>
    /// RGB pixels but whose data is a few bytes: a decompression bomb.</summary>
    public static byte[] PngWithDeclaredSize(uint width, uint height)
    {
        using var stream = new MemoryStream();
        stream.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // RGB
        WriteChunk(stream, "IHDR"u8, ihdr);
        WriteChunk(stream, "IDAT"u8, [0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);
        WriteChunk(stream, "IEND"u8, []);
        return stream.ToArray();
    }

    /// <summary>Reads a PNG/JPEG/WebP back with libvips (for assertions on outputs).</summary>
    public static Image Load(byte[] encoded) => Image.NewFromBuffer(encoded, access: Enums.Access.Random, failOn: Enums.FailOn.Error);

    /// <summary>The value of band <paramref name="band"/> at (x, y).</summary>
    public static double Pixel(Image image, int x, int y, int band) => image.Getpoint(x, y)[band];

    private static void WriteChunk(Stream stream, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)data.Length);
        stream.Write(length);
        stream.Write(type);
        stream.Write(data);
        var crc = Crc32(0xFFFFFFFFu, type);
        crc = Crc32(crc, data) ^ 0xFFFFFFFFu;
        Span<byte> sum = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(sum, crc);
        stream.Write(sum);
    }

    private static uint Crc32(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }
        return crc;
    }
}
