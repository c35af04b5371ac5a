using AgingPipeline.Contracts;

namespace AgingPipeline.ImageFormats;

/// <summary>The door every input goes through first, at every entry: the upload API (on the first block of each file),
/// OnImageUploaded (on a ranged read of the blob), the runner and the CLI (on the first bytes of the file, before it is
/// read whole). Nothing here decodes: it reads magic numbers and header fields only.</summary>
/// <remarks>
/// <para>Order, and why: empty content, then the format (magic numbers), then the header (sizes, then for PNG an
/// animation's frame count), then the byte length. The byte length comes last because the upload API streams a file and
/// learns that it is too large only after reading <see cref="InputLimits.MaxBytes"/> of it, while it knows the format and
/// header from the first block; with the same order at every entry, a file that breaks two rules is refused for the same
/// one everywhere.</para>
/// <para>Only the first <see cref="InputLimits.PrefixBytes"/> bytes are looked at, at every entry, so that the answer
/// never depends on how much an entry happened to read. What the prefix cannot tell (a JPEG frame header behind a large
/// EXIF segment, a WebP animation) is checked by the decoder, which every accepted input reaches.</para>
/// </remarks>
public static class InputCheck
{
    /// <summary>Checks the first bytes and the length of some content.</summary>
    /// <param name="prefix">The content's first bytes: all of it, or at least <see cref="InputLimits.PrefixBytes"/>
    /// (more is ignored).</param>
    /// <param name="length">The content's total length in bytes.</param>
    /// <param name="limits">The limits.</param>
    /// <returns>The format and, when the prefix holds them, the stored dimensions.</returns>
    /// <exception cref="PipelineException">UnsupportedFormat, CorruptImage, TooManyFrames, TooManyPixels, BadDimensions
    /// or ImageTooLarge.</exception>
    public static ImageHeader Inspect(ReadOnlySpan<byte> prefix, long length, InputLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var header = InspectPrefix(length == 0 ? [] : prefix, limits);
        if (limits.CheckBytes(length) is { } tooLarge)
        {
            throw tooLarge;
        }
        return header;
    }

    /// <summary>Checks the first bytes of content whose length is not known yet (a file being streamed); the caller
    /// checks <see cref="InputLimits.CheckBytes"/> as it reads on.</summary>
    /// <param name="prefix">The first <see cref="InputLimits.PrefixBytes"/> bytes, or all of a shorter content.</param>
    /// <param name="limits">The limits.</param>
    /// <exception cref="PipelineException">As <see cref="Inspect"/>, except ImageTooLarge.</exception>
    public static ImageHeader InspectPrefix(ReadOnlySpan<byte> prefix, InputLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        prefix = prefix[..Math.Min(prefix.Length, InputLimits.PrefixBytes)];
        var format = ImageSniffer.Sniff(prefix, limits.AcceptedFormats);
        var header = ImageHeaderProbe.Probe(prefix);
        if (header.HasDimensions && limits.CheckSize(header.Width!.Value, header.Height!.Value) is { } badSize)
        {
            throw badSize;
        }
        if (format == ImageFormat.Png && limits.CheckFrames(PngAnimationProbe.CountFrames(prefix)) is { } animated)
        {
            throw animated;
        }
        return header;
    }

    /// <summary>Returns the refusal of <see cref="Inspect"/> instead of throwing it.</summary>
    public static PipelineException? Refusal(ReadOnlySpan<byte> prefix, long length, InputLimits limits)
    {
        try
        {
            Inspect(prefix, length, limits);
            return null;
        }
        catch (PipelineException e)
        {
            return e;
        }
    }
}
