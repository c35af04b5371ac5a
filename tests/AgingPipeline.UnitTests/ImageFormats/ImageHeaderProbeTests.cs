using System.Buffers.Binary;
using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;

namespace AgingPipeline.UnitTests.ImageFormats;

/// <summary>Dimensions from the header fields, and broken headers behind a good magic number.</summary>
public sealed class ImageHeaderProbeTests
{
    private static byte[] Png(uint width, uint height)
    {
        var bytes = new byte[33];
        new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13 }.CopyTo(bytes, 0);
        "IHDR"u8.CopyTo(bytes.AsSpan(12));
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(16), width);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(20), height);
        return bytes;
    }

    private static byte[] Jpeg(int width, int height, int exifBytes = 0)
    {
        var list = new List<byte> { 0xFF, 0xD8 };
        if (exifBytes > 0)
        {
            list.AddRange(new byte[] { 0xFF, 0xE1, (byte)((exifBytes + 2) >> 8), (byte)(exifBytes + 2) });
            list.AddRange(new byte[exifBytes]);
        }
        list.AddRange(new byte[] { 0xFF, 0xC2, 0x00, 0x11, 0x08, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1 });
        return [.. list];
    }

    private static byte[] WebP(string chunk, byte[] payload)
    {
        var bytes = new byte[20 + payload.Length];
        "RIFF"u8.CopyTo(bytes);
        "WEBP"u8.CopyTo(bytes.AsSpan(8));
        System.Text.Encoding.ASCII.GetBytes(chunk).CopyTo(bytes, 12);
        payload.CopyTo(bytes, 20);
        return bytes;
    }

    [Fact]
    public void Png_dimensions_come_from_IHDR()
    {
        var header = ImageHeaderProbe.Probe(Png(640, 480));
        Assert.Equal(new ImageHeader(ImageFormat.Png, 640, 480), header);
        Assert.Equal(307_200, header.PixelCount);
    }

    [Fact]
    public void Jpeg_dimensions_come_from_the_frame_header_even_after_a_large_exif_segment()
    {
        Assert.Equal(new ImageHeader(ImageFormat.Jpeg, 1920, 1080), ImageHeaderProbe.Probe(Jpeg(1920, 1080, exifBytes: 30_000)));
    }

    [Fact]
    public void A_jpeg_frame_header_beyond_the_prefix_gives_unknown_dimensions()
    {
        var full = Jpeg(100, 100, exifBytes: 30_000);
        var header = ImageHeaderProbe.Probe(full.AsSpan(0, 1024));
        Assert.Equal(ImageFormat.Jpeg, header.Format);
        Assert.False(header.HasDimensions);
        Assert.Null(header.PixelCount);
    }

    [Fact]
    public void WebP_lossy_lossless_and_extended_headers()
    {
        var vp8 = new byte[10] { 0, 0, 0, 0x9D, 0x01, 0x2A, 0, 0, 0, 0 };
        BinaryPrimitives.WriteUInt16LittleEndian(vp8.AsSpan(6), 300);
        BinaryPrimitives.WriteUInt16LittleEndian(vp8.AsSpan(8), 200);
        Assert.Equal(new ImageHeader(ImageFormat.WebP, 300, 200), ImageHeaderProbe.Probe(WebP("VP8 ", vp8)));

        var vp8l = new byte[10];
        vp8l[0] = 0x2F;
        BinaryPrimitives.WriteUInt32LittleEndian(vp8l.AsSpan(1), (uint)(299 | (199 << 14)));
        Assert.Equal(new ImageHeader(ImageFormat.WebP, 300, 200), ImageHeaderProbe.Probe(WebP("VP8L", vp8l)));

        var vp8x = new byte[10];
        vp8x[4] = 0x2B; vp8x[5] = 0x01; // 299 → 300
        vp8x[7] = 0xC7; // 199 → 200
        Assert.Equal(new ImageHeader(ImageFormat.WebP, 300, 200), ImageHeaderProbe.Probe(WebP("VP8X", vp8x)));
    }

    [Theory]
    [InlineData(new byte[] { 0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { 0x25, 0x50, 0x44, 0x46 })]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0xFF, 0xD8 })]
    public void Anything_else_is_unknown(byte[] bytes)
    {
        Assert.Equal(ImageFormat.Unknown, ImageHeaderProbe.Probe(bytes).Format);
    }

    [Fact]
    public void Broken_headers_behind_a_good_magic_number_are_CorruptImage()
    {
        var zero = Assert.Throws<PipelineException>(() => ImageHeaderProbe.Probe(Png(0, 10)));
        Assert.Equal(PipelineErrorCode.CorruptImage, zero.Code);
        var notIhdr = Png(10, 10);
        "JUNK"u8.CopyTo(notIhdr.AsSpan(12));
        Assert.Equal(PipelineErrorCode.CorruptImage, Assert.Throws<PipelineException>(() => ImageHeaderProbe.Probe(notIhdr)).Code);
        Assert.Equal(PipelineErrorCode.CorruptImage, Assert.Throws<PipelineException>(() => ImageHeaderProbe.Probe(WebP("ABCD", new byte[10]))).Code);
        byte[] scanFirst = [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x08, 0, 0, 0, 0, 0, 0];
        Assert.Equal(PipelineErrorCode.CorruptImage, Assert.Throws<PipelineException>(() => ImageHeaderProbe.Probe(scanFirst)).Code);
    }
}
