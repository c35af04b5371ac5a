using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;

namespace AgingPipeline.Imaging;

/// <summary>Encoded output bytes with what a writer needs to store them.</summary>
/// <param name="Content">The encoded file.</param>
/// <param name="Format">Its format.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
public sealed record EncodedImage(byte[] Content, ImageFormat Format, int Width, int Height)
{
    /// <summary>The MIME type, e.g. <c>image/png</c>.</summary>
    public string ContentType => ImageSniffer.ContentType(Format);

    /// <summary>The file extension without dot, e.g. <c>png</c>.</summary>
    public string Extension => BlobNames.ExtensionFor(Format);
}
