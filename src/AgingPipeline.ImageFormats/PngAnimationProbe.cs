using System.Buffers.Binary;

namespace AgingPipeline.ImageFormats;

/// <summary>Finds the frame count of an animated PNG (APNG) from its chunk list.</summary>
/// <remarks>libvips decodes only the default image of an APNG and reports one page, so an animation would silently
/// become a still. The <c>acTL</c> chunk, which must precede the first <c>IDAT</c>, declares the frame count; only the
/// chunk headers are walked, never the compressed data. The door (<see cref="InputCheck"/>) refuses an animation from
/// the first bytes; Imaging's header reader counts the frames again on what libvips read.</remarks>
public static class PngAnimationProbe
{
    /// <summary>The number of frames an <c>acTL</c> chunk declares, or 1 when there is none before the image data
    /// (or the chunk list ends within <paramref name="png"/>).</summary>
    public static int CountFrames(ReadOnlySpan<byte> png)
    {
        var offset = 8;
        while (offset + 8 <= png.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(png[offset..]);
            var type = png.Slice(offset + 4, 4);
            if (type.SequenceEqual("IDAT"u8) || type.SequenceEqual("IEND"u8))
            {
                return 1;
            }
            if (type.SequenceEqual("acTL"u8))
            {
                if (length < 8 || offset + 16 > png.Length)
                {
                    return 1;
                }
                var frames = BinaryPrimitives.ReadUInt32BigEndian(png[(offset + 8)..]);
                return frames > int.MaxValue ? int.MaxValue : Math.Max(1, (int)frames);
            }
            var next = (long)offset + 12 + length;
            if (next > png.Length)
            {
                return 1;
            }
            offset = (int)next;
        }
        return 1;
    }
}
