using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;

namespace AgingPipeline.Imaging;

/// <summary>Checks what libvips read from a header against <see cref="InputLimits"/>, with the messages every entry
/// gives (<see cref="InputLimits.CheckSize"/>, <see cref="InputLimits.CheckFrames"/>).</summary>
/// <remarks>Runs after <see cref="InputCheck"/>, for what the first bytes could not tell (a JPEG frame header behind a
/// large EXIF segment, a WebP animation's frame count). Every check runs on numbers from the header, before decoding,
/// so refusing a decompression bomb costs nothing. Sizes are reported as stored (before the EXIF orientation), as the
/// door reports them, so that the message does not depend on which of the two caught the image.</remarks>
public static class ImageLimits
{
    /// <summary>Throws the matching <see cref="PipelineException"/> when the header is outside the limits.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.TooManyPixels"/>,
    /// <see cref="PipelineErrorCode.BadDimensions"/> or <see cref="PipelineErrorCode.TooManyFrames"/>.</exception>
    public static void Check(ImageInfo header, InputLimits limits)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(limits);
        var (storedWidth, storedHeight) = header.SwapsAxes ? (header.Height, header.Width) : (header.Width, header.Height);
        if ((limits.CheckSize(storedWidth, storedHeight) ?? limits.CheckFrames(header.Frames)) is { } refusal)
        {
            throw refusal;
        }
    }
}
