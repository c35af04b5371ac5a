using AgingPipeline.Contracts;
using Microsoft.Extensions.Logging;
using NetVips;

namespace AgingPipeline.Imaging;

/// <summary>Sniffs content and reads its header, refusing anything outside <see cref="ImagingOptions"/> before a
/// single pixel is decoded.</summary>
/// <remarks>Order matters for safety: byte length first (free), then the magic numbers (the format-specific loader is
/// chosen from them, never from a name), then the header alone (libvips opens images lazily; with sequential access
/// nothing past the header is read), then the limits. Only content that passes all four reaches a decoder.</remarks>
public sealed class ImageHeaderReader
{
    private const int ProbeLength = 64 * 1024;

    /// <summary>Creates a reader; initialises libvips for the process if nothing did yet.</summary>
    public ImageHeaderReader(ImagingOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        VipsRuntime.Initialize(options, loggerFactory);
        Options = options;
    }

    /// <summary>The limits this reader enforces.</summary>
    public ImagingOptions Options { get; }

    /// <summary>Sniffs and reads the header of complete content in memory, then checks it against the limits.</summary>
    /// <exception cref="PipelineException">UnsupportedFormat, CorruptImage, ImageTooLarge, TooManyPixels,
    /// BadDimensions or TooManyFrames.</exception>
    public ImageInfo Read(ReadOnlyMemory<byte> data)
    {
        ImageLimits.CheckByteLength(data.Length, Options);
        var span = data.Span;
        var format = ImageSniffer.Sniff(span[..Math.Min(span.Length, ImageSniffer.HeaderLength)], Options.AcceptedFormats);
        using var image = LoadHeader(VipsBuffers.AsArray(data), format);
        var header = Describe(image, format, data.Length, span[..Math.Min(span.Length, ProbeLength)]);
        ImageLimits.Check(header, Options);
        return header;
    }

    /// <summary>Sniffs and reads the header from a stream of <paramref name="length"/> bytes, reading only as far as
    /// the header, then checks it against the limits.</summary>
    /// <remarks>Use it to vet a large upload (e.g. a blob download stream) without reading all of it; the stream is
    /// read synchronously and is left positioned somewhere after the header.</remarks>
    /// <param name="stream">The content, positioned at its start.</param>
    /// <param name="length">The total length of the content in bytes (e.g. the blob's content length).</param>
    /// <exception cref="PipelineException">As <see cref="Read(ReadOnlyMemory{byte})"/>.</exception>
    public ImageInfo Read(Stream stream, long length)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ImageLimits.CheckByteLength(length, Options);
        var probe = new byte[(int)Math.Min(ProbeLength, Math.Max(length, ImageSniffer.HeaderLength))];
        var read = stream.ReadAtLeast(probe, probe.Length, throwOnEndOfStream: false);
        var prefix = probe.AsMemory(0, read);
        var format = ImageSniffer.Sniff(prefix.Span[..Math.Min(read, ImageSniffer.HeaderLength)], Options.AcceptedFormats);
        using var replay = new PrefixedReadStream(prefix, stream);
        Image image;
        try
        {
            image = format switch
            {
                ImageFormat.Png => Image.PngloadStream(replay, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error),
                ImageFormat.Jpeg => Image.JpegloadStream(replay, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error),
                ImageFormat.WebP => Image.WebploadStream(replay, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error),
                _ => throw new ArgumentOutOfRangeException(nameof(stream), format, "Unexpected format."),
            };
        }
        catch (VipsException e)
        {
            throw VipsErrors.Corrupt(format, "reading the header", e);
        }
        using (image)
        {
            var header = Describe(image, format, length, prefix.Span);
            ImageLimits.Check(header, Options);
            return header;
        }
    }

    /// <summary>Opens the format's own loader on the header only (sequential, failing on errors).</summary>
    internal static Image LoadHeader(byte[] data, ImageFormat format)
    {
        try
        {
            return format switch
            {
                ImageFormat.Png => Image.PngloadBuffer(data, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error),
                ImageFormat.Jpeg => Image.JpegloadBuffer(data, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error),
                ImageFormat.WebP => Image.WebploadBuffer(data, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error),
                _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unexpected format."),
            };
        }
        catch (VipsException e)
        {
            throw VipsErrors.Corrupt(format, "reading the header", e);
        }
    }

    private static ImageInfo Describe(Image image, ImageFormat format, long byteLength, ReadOnlySpan<byte> prefix)
    {
        var orientation = image.Contains("orientation") ? Convert.ToInt32(image.Get("orientation")) : 1;
        if (orientation is < 1 or > 8)
        {
            orientation = 1;
        }
        var frames = image.Contains("n-pages") ? Math.Max(1, Convert.ToInt32(image.Get("n-pages"))) : 1;
        if (format == ImageFormat.Png)
        {
            frames = Math.Max(frames, PngAnimationProbe.CountFrames(prefix));
        }
        var swap = orientation is >= 5 and <= 8;
        return new ImageInfo(
            format,
            swap ? image.Height : image.Width,
            swap ? image.Width : image.Height,
            orientation,
            frames,
            image.Bands,
            image.HasAlpha(),
            image.Interpretation.ToString().ToLowerInvariant(),
            byteLength,
            format == ImageFormat.Jpeg && image.Contains("jpeg-chroma-subsample") ? image.Get("jpeg-chroma-subsample") as string : null);
    }
}
