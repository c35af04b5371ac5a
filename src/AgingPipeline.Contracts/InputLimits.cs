using System.Globalization;

namespace AgingPipeline.Contracts;

/// <summary>The one definition of what input is accepted — formats, bytes, pixels, sides, frames — for every entry:
/// the upload API, OnImageUploaded, the runner and the CLI. Bound from the <c>Limits</c> configuration section by every
/// host; nothing else holds a limit.</summary>
/// <remarks>
/// <para>Issue 15: the limits used to be defined twice (<c>Uploads:MaxPixels</c> 40 MP for the API and ingest,
/// <c>Imaging:MaxPixels</c> 50 MP for the runner and the CLI, and two byte limits), so a 45 MP image was refused by the
/// function app and aged by <c>aging age</c>. One type, one section and one set of refusal messages make the same input
/// get the same code and the same words through every entry.</para>
/// <para>Every refusal message here depends only on the input's own bytes and on the limits, never on how much of the
/// input an entry has read: the upload API streams a file and refuses it as soon as it passes <see cref="MaxBytes"/>,
/// without knowing its full size, so the byte refusal names the limit, not the size.</para>
/// <para>The pixel limit is the decompression-bomb guard: decoded memory is width × height × bands, so 40 MP RGBA is
/// 160 MB of native memory while the file may be a few hundred bytes. It is checked from the header, before decoding.</para>
/// </remarks>
public sealed class InputLimits
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Limits";

    /// <summary>How many leading bytes every entry inspects before accepting content (64 KiB): the magic numbers,
    /// the frame header of almost every image and an APNG's <c>acTL</c> chunk.</summary>
    /// <remarks>A constant, not an option: an entry that looked at fewer bytes than another could answer differently
    /// for the same file (a JPEG whose frame header sits behind 40 KiB of EXIF).</remarks>
    public const int PrefixBytes = 64 * 1024;

    /// <summary>Largest accepted file in bytes (default 50 MiB).</summary>
    /// <remarks>Bounds storage cost, the runner's download time and the memory that holds the compressed bytes while
    /// it decodes. The function app's memory does not bound it: OnImageUploaded receives the BlobCreated event (a few
    /// hundred bytes) and reads only the first <see cref="PrefixBytes"/> of the blob, and the upload API stages a file
    /// in blocks; nothing holds a whole upload outside the runner.</remarks>
    public long MaxBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>Largest accepted width × height (default 40 megapixels).</summary>
    public long MaxPixels { get; set; } = 40_000_000;

    /// <summary>Longest accepted side in pixels (default 12,000).</summary>
    /// <remarks>Refuses degenerate strips (e.g. 1 × 40,000,000) that pass the pixel budget but make every tile of the
    /// pipeline pathological.</remarks>
    public int MaxDimension { get; set; } = 12_000;

    /// <summary>Shortest accepted side in pixels (default 16): smaller images carry no face to age.</summary>
    public int MinDimension { get; set; } = 16;

    /// <summary>Most frames (pages) an image may have (default 1: animations are refused).</summary>
    /// <remarks>The pipeline ages still images; with the default an animated WebP or APNG is refused with
    /// <see cref="PipelineErrorCode.TooManyFrames"/> rather than silently turned into a still. A higher limit accepts
    /// animations up to that many frames and ages their first frame only.</remarks>
    public int MaxFrames { get; set; } = 1;

    /// <summary>Formats accepted after content sniffing (default PNG, JPEG, WebP).</summary>
    /// <remarks>Only PNG, JPEG and WebP can be listed: their libvips loaders are the only ones left unblocked.</remarks>
    public ImageFormat[] AcceptedFormats { get; set; } = [ImageFormat.Png, ImageFormat.Jpeg, ImageFormat.WebP];

    /// <summary>Checks the limits themselves; returns the problems found (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (MaxBytes < 1)
        {
            problems.Add($"{nameof(MaxBytes)} must be positive (was {MaxBytes}).");
        }
        if (MaxPixels < 1)
        {
            problems.Add($"{nameof(MaxPixels)} must be positive (was {MaxPixels}).");
        }
        if (MinDimension < 1)
        {
            problems.Add($"{nameof(MinDimension)} must be at least 1 (was {MinDimension}).");
        }
        if (MaxDimension < MinDimension)
        {
            problems.Add($"{nameof(MaxDimension)} ({MaxDimension}) must not be below {nameof(MinDimension)} ({MinDimension}).");
        }
        if (MaxDimension > 100_000)
        {
            problems.Add($"{nameof(MaxDimension)} must be at most 100000 (was {MaxDimension}).");
        }
        if (MaxFrames < 1)
        {
            problems.Add($"{nameof(MaxFrames)} must be at least 1 (was {MaxFrames}).");
        }
        if (AcceptedFormats is null || AcceptedFormats.Length == 0)
        {
            problems.Add($"{nameof(AcceptedFormats)} must list at least one format.");
        }
        else if (AcceptedFormats.Any(f => f is not (ImageFormat.Png or ImageFormat.Jpeg or ImageFormat.WebP)))
        {
            problems.Add($"{nameof(AcceptedFormats)} may only contain Png, Jpeg and WebP (was {string.Join(", ", AcceptedFormats)}).");
        }
        return problems;
    }

    /// <summary>The refusal of content with more than <see cref="MaxBytes"/> bytes, or null.</summary>
    public PipelineException? CheckBytes(long byteLength) =>
        byteLength > MaxBytes ? new PipelineException(PipelineErrorCode.ImageTooLarge, TooLargeMessage) : null;

    /// <summary>The message of <see cref="CheckBytes"/>: the same whether the entry knows the full size (ingest, runner,
    /// CLI) or stopped reading at the limit (the upload API).</summary>
    public string TooLargeMessage => $"The file is larger than {FormatBytes(MaxBytes)}, the most accepted.";

    /// <summary>The refusal of an image of <paramref name="width"/> × <paramref name="height"/> pixels as stored (before
    /// any EXIF orientation), or null. The pixel budget is checked first, so that a bomb is reported as what it is.</summary>
    public PipelineException? CheckSize(long width, long height)
    {
        var size = string.Create(CultureInfo.InvariantCulture, $"{width} × {height}");
        if (width < 1 || height < 1)
        {
            return new PipelineException(PipelineErrorCode.BadDimensions, $"The image declares an empty canvas ({size} pixels).");
        }
        var pixels = width * height;
        if (pixels > MaxPixels)
        {
            return new PipelineException(PipelineErrorCode.TooManyPixels,
                $"The image is {size} pixels ({FormatMegapixels(pixels)}); the limit is {FormatMegapixels(MaxPixels)}.");
        }
        if (Math.Max(width, height) > MaxDimension)
        {
            return new PipelineException(PipelineErrorCode.BadDimensions,
                string.Create(CultureInfo.InvariantCulture, $"The image is {size} pixels; no side may be longer than {MaxDimension} pixels."));
        }
        if (Math.Min(width, height) < MinDimension)
        {
            return new PipelineException(PipelineErrorCode.BadDimensions,
                string.Create(CultureInfo.InvariantCulture, $"The image is {size} pixels; each side must be at least {MinDimension} pixels."));
        }
        return null;
    }

    /// <summary>The refusal of an image with more than <see cref="MaxFrames"/> frames, or null.</summary>
    public PipelineException? CheckFrames(int frames)
    {
        if (frames <= MaxFrames)
        {
            return null;
        }
        return new PipelineException(PipelineErrorCode.TooManyFrames, MaxFrames == 1
            ? string.Create(CultureInfo.InvariantCulture, $"The image is an animation with {frames} frames; only still images are accepted.")
            : string.Create(CultureInfo.InvariantCulture, $"The image has {frames} frames; the limit is {MaxFrames}."));
    }

    /// <summary>A byte count for people: "812 bytes", "3.4 KiB", "50 MiB".</summary>
    public static string FormatBytes(long bytes) => bytes switch
    {
        < 1024 => bytes.ToString(CultureInfo.InvariantCulture) + " bytes",
        < 1024 * 1024 => (bytes / 1024.0).ToString("0.#", CultureInfo.InvariantCulture) + " KiB",
        _ => (bytes / (1024.0 * 1024.0)).ToString("0.#", CultureInfo.InvariantCulture) + " MiB",
    };

    private static string FormatMegapixels(long pixels) =>
        (pixels / 1_000_000.0).ToString(pixels < 10_000_000 ? "0.##" : "0.#", CultureInfo.InvariantCulture) + " megapixels";
}
