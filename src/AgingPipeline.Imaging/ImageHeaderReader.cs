using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;
using Microsoft.Extensions.Logging;
using NetVips;

namespace AgingPipeline.Imaging;

/// <summary>Sniffs content and reads its header, refusing anything outside <see cref="ImagingOptions"/> before a
/// single pixel is decoded.</summary>
/// <remarks>Order matters for safety: the door first (<see cref="InputCheck"/>: magic numbers, header fields, byte
/// length; the format-specific loader is chosen from the magic numbers, never from a name), then the header alone
/// through libvips (it opens images lazily; with sequential access nothing past the header is read), then the limits
/// on what only libvips could tell. Only content that passes all of them reaches a decoder.</remarks>
public sealed class ImageHeaderReader
{
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

    /// <summary>Checks complete content in memory at the door (<see cref="InputCheck"/>), reads its header with libvips,
    /// then checks what only the header tells (<see cref="ImageLimits"/>).</summary>
    /// <exception cref="PipelineException">UnsupportedFormat, CorruptImage, ImageTooLarge, TooManyPixels,
    /// BadDimensions or TooManyFrames.</exception>
    public ImageInfo Read(ReadOnlyMemory<byte> data)
    {
        var span = data.Span;
        var prefix = span[..Math.Min(span.Length, InputLimits.PrefixBytes)];
        var format = InputCheck.Inspect(prefix, data.Length, Options.Limits).Format;
        using var image = LoadHeader(VipsBuffers.AsArray(data), format);
        var header = Describe(image, format, data.Length, prefix);
        ImageLimits.Check(header, Options.Limits);
        return header;
    }

    /// <summary>Checks the content of a stream of <paramref name="length"/> bytes at the door and reads its header,
    /// reading only as far as the header, then checks it against the limits.</summary>
    /// <remarks>Use it to vet a large upload (e.g. a blob download stream) without reading all of it; the stream is
    /// read synchronously and is left positioned somewhere after the header.</remarks>
    /// <param name="stream">The content, positioned at its start.</param>
    /// <param name="length">The total length of the content in bytes (e.g. the blob's content length).</param>
    /// <exception cref="PipelineException">As <see cref="Read(ReadOnlyMemory{byte})"/>.</exception>
    public ImageInfo Read(Stream stream, long length)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var probe = new byte[(int)Math.Clamp(length, 0, InputLimits.PrefixBytes)];
        var read = stream.ReadAtLeast(probe, probe.Length, throwOnEndOfStream: false);
        var prefix = probe.AsMemory(0, read);
        var format = InputCheck.Inspect(prefix.Span, length, Options.Limits).Format;
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
            throw VipsErrors.Corrupt(format, e);
        }
        using (image)
        {
            var header = Describe(image, format, length, prefix.Span);
            ImageLimits.Check(header, Options.Limits);
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
            throw VipsErrors.Corrupt(format, e);
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
