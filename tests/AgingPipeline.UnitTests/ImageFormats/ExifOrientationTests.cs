using System.Buffers.Binary;
using System.Text;
using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;
using AgingPipeline.Imaging;

namespace AgingPipeline.UnitTests.ImageFormats;

/// <summary>The managed EXIF orientation reader: built containers of each format, and agreement with libvips (which
/// the decoder uses) on every committed corpus file.</summary>
public sealed class ExifOrientationTests
{
    /// <summary>A TIFF block with one IFD holding the orientation (and an unrelated tag before it).</summary>
    private static byte[] Tiff(ushort orientation, bool little = true, ushort type = 3)
    {
        var t = new byte[8 + 2 + 24 + 4];
        void U16(int at, ushort v) { if (little) BinaryPrimitives.WriteUInt16LittleEndian(t.AsSpan(at), v); else BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(at), v); }
        void U32(int at, uint v) { if (little) BinaryPrimitives.WriteUInt32LittleEndian(t.AsSpan(at), v); else BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(at), v); }
        Encoding.ASCII.GetBytes(little ? "II" : "MM").CopyTo(t, 0);
        U16(2, 42);
        U32(4, 8);
        U16(8, 2);
        U16(10, 0x010F); // Make, ASCII: not the orientation
        U16(12, 2);
        U32(14, 4);
        U16(22, 0x0112);
        U16(24, type);
        U32(26, 1);
        U16(30, orientation);
        return t;
    }

    private static byte[] Jpeg(byte[] tiff)
    {
        var app0 = new byte[] { 0xFF, 0xE0, 0x00, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0 };
        var exif = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        var app1 = new byte[] { 0xFF, 0xE1, (byte)((exif.Length + 2) >> 8), (byte)(exif.Length + 2) }.Concat(exif);
        return new byte[] { 0xFF, 0xD8 }.Concat(app0).Concat(app1).Concat(new byte[] { 0xFF, 0xDA, 0, 2 }).ToArray();
    }

    private static byte[] Chunk(string type, byte[] data, bool bigEndianLength)
    {
        var length = new byte[4];
        if (bigEndianLength)
        {
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)data.Length);
            return length.Concat(Encoding.ASCII.GetBytes(type)).Concat(data).Concat(new byte[4]).ToArray(); // + CRC
        }
        BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)data.Length);
        return Encoding.ASCII.GetBytes(type).Concat(length).Concat(data).Concat(data.Length % 2 == 1 ? new byte[1] : []).ToArray();
    }

    private static byte[] Png(byte[] tiff) =>
        new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }
            .Concat(Chunk("IHDR", new byte[13], bigEndianLength: true))
            .Concat(Chunk("eXIf", tiff, bigEndianLength: true))
            .Concat(Chunk("IDAT", new byte[3], bigEndianLength: true)).ToArray();

    private static byte[] WebP(byte[] exifPayload) =>
        "RIFF"u8.ToArray().Concat(new byte[4]).Concat("WEBP"u8.ToArray())
            .Concat(Chunk("VP8X", new byte[10], bigEndianLength: false))
            .Concat(Chunk("EXIF", exifPayload, bigEndianLength: false)).ToArray();

    [Theory]
    [InlineData(1, true)]
    [InlineData(6, true)]
    [InlineData(8, false)]
    [InlineData(3, false)]
    public void Reads_the_orientation_of_each_container(int orientation, bool little)
    {
        var tiff = Tiff((ushort)orientation, little);
        Assert.Equal(orientation, ExifOrientation.Read(Jpeg(tiff), ImageFormat.Jpeg));
        Assert.Equal(orientation, ExifOrientation.Read(Png(tiff), ImageFormat.Png));
        Assert.Equal(orientation, ExifOrientation.Read(WebP(tiff), ImageFormat.WebP));
        Assert.Equal(orientation, ExifOrientation.Read(WebP("Exif\0\0"u8.ToArray().Concat(tiff).ToArray()), ImageFormat.WebP));
    }

    [Fact]
    public void Absent_malformed_or_out_of_range_orientations_read_as_1()
    {
        Assert.Equal(1, ExifOrientation.Read(Jpeg(Tiff(9)), ImageFormat.Jpeg));
        Assert.Equal(1, ExifOrientation.Read(Jpeg(Tiff(0)), ImageFormat.Jpeg));
        Assert.Equal(1, ExifOrientation.Read(Jpeg(Tiff(6, type: 4)), ImageFormat.Jpeg)); // LONG, not SHORT
        var broken = Tiff(6);
        broken[0] = (byte)'X';
        Assert.Equal(1, ExifOrientation.Read(Jpeg(broken), ImageFormat.Jpeg));
        var cut = Jpeg(Tiff(6));
        Assert.Equal(1, ExifOrientation.Read(cut.AsSpan(0, cut.Length - 20), ImageFormat.Jpeg));
        Assert.Equal(1, ExifOrientation.Read(TestImages.Png(8, 8), ImageFormat.Png));
        Assert.Equal(1, ExifOrientation.Read([], ImageFormat.Unknown));
    }

    [Fact]
    public void The_header_reports_the_size_as_shown()
    {
        var header = new ImageHeader(ImageFormat.Jpeg, 40, 20, Orientation: 6);
        Assert.Equal((20, 40), (header.DisplayWidth, header.DisplayHeight));
        Assert.Equal((40, 20), (header.Width, header.Height));
        header = header with { Orientation = 3 };
        Assert.Equal((40, 20), (header.DisplayWidth, header.DisplayHeight));
    }

    [Fact]
    public void Agrees_with_libvips_on_every_corpus_file_it_reads()
    {
        var reader = new ImageHeaderReader(new ImagingOptions());
        var compared = 0;
        var rotated = 0;
        foreach (var file in TestCorpus.Files)
        {
            var bytes = File.ReadAllBytes(file);
            var format = ImageSniffer.SniffFormat(bytes);
            if (format == ImageFormat.Unknown)
            {
                continue;
            }
            ImageInfo info;
            try
            {
                info = reader.Read(bytes);
            }
            catch (PipelineException)
            {
                continue; // refused by the header reader: no orientation to compare
            }
            var managed = ExifOrientation.Read(bytes.AsSpan(0, Math.Min(bytes.Length, InputLimits.PrefixBytes)), format);
            Assert.True(info.Orientation == managed, $"{Path.GetFileName(file)}: libvips {info.Orientation}, managed {managed}");
            compared++;
            rotated += managed == 1 ? 0 : 1;
        }
        Assert.True(compared >= 10, $"only {compared} files compared"); // 16 in the committed subset, more in the full corpus
        Assert.True(rotated >= 7, $"only {rotated} files with an orientation other than 1 (hopper_orientation_2…8 are committed)");
    }
}
