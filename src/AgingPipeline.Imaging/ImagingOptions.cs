using AgingPipeline.Contracts;

namespace AgingPipeline.Imaging;

/// <summary>How a non-square image is mapped onto the square model input.</summary>
public enum ModelFitMode
{
    /// <summary>Scale the whole image to fit inside the model square, keeping its aspect ratio, and pad the rest by
    /// repeating the edge pixels. The residual of the padded band is discarded.</summary>
    Pad,

    /// <summary>Scale the whole image to the model square, ignoring its aspect ratio.</summary>
    Stretch,
}

/// <summary>Limits and encoder settings of the imaging layer, bound from the <c>Imaging</c> configuration section.</summary>
/// <remarks>Every upload is untrusted. These limits are checked against the image <em>header</em> before a single
/// pixel is decoded, so that a small file that declares a huge canvas (a decompression bomb) is refused at the cost of
/// reading a few hundred bytes. They are options, not literals, so that an operator can tighten them per deployment;
/// <see cref="Validate"/> refuses nonsensical combinations at start-up.</remarks>
public sealed class ImagingOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Imaging";

    /// <summary>Largest accepted upload in bytes (default 50 MiB).</summary>
    /// <remarks>Bounds download time and the memory that holds the compressed bytes.</remarks>
    public long MaxBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>Largest accepted width × height (default 50 megapixels).</summary>
    /// <remarks>The decompression-bomb guard: decoded memory is width × height × bands, so 50 MP RGBA is 200 MB of
    /// native memory while the file may be a few hundred bytes.</remarks>
    public long MaxPixels { get; set; } = 50_000_000;

    /// <summary>Longest accepted side in pixels (default 12000).</summary>
    /// <remarks>Refuses degenerate strips (e.g. 1 × 40000000) that pass the pixel budget but make every tile of
    /// the pipeline pathological.</remarks>
    public int MaxDimension { get; set; } = 12000;

    /// <summary>Shortest accepted side in pixels (default 16).</summary>
    /// <remarks>Below this there is no face to age; the model would only see upsampled blur.</remarks>
    public int MinDimension { get; set; } = 16;

    /// <summary>Most frames (pages) an image may have (default 1: animations are refused).</summary>
    /// <remarks>The pipeline ages still images. With the default an animated WebP or APNG is refused with
    /// <see cref="PipelineErrorCode.TooManyFrames"/> rather than silently turned into a still. Raising the limit
    /// accepts animations up to that many frames and ages their first frame only.</remarks>
    public int MaxFrames { get; set; } = 1;

    /// <summary>Formats accepted after content sniffing (default PNG, JPEG, WebP).</summary>
    /// <remarks>Only formats whose libvips loaders are left unblocked can be listed; everything else is refused
    /// before libvips sees the bytes.</remarks>
    public ImageFormat[] AcceptedFormats { get; set; } = [ImageFormat.Png, ImageFormat.Jpeg, ImageFormat.WebP];

    /// <summary>How non-square images map onto the square model input (default <see cref="ModelFitMode.Pad"/>).</summary>
    /// <remarks>Padding keeps the proportions the model judges age by (head to body, eye size); stretching would
    /// distort them. Either way the mapping is inverted exactly when the residual is brought back to full size.</remarks>
    public ModelFitMode FitMode { get; set; } = ModelFitMode.Pad;

    /// <summary>Background (sRGB, 0–255, three values) that transparent pixels are flattened onto for the model and
    /// for the contact sheet (default white).</summary>
    /// <remarks>The model takes RGB only. Outputs keep the original alpha channel.</remarks>
    public int[] FlattenBackground { get; set; } = [255, 255, 255];

    /// <summary>JPEG output quality, 1–100 (default 90).</summary>
    public int JpegQuality { get; set; } = 90;

    /// <summary>Whether JPEG outputs get optimised Huffman tables (default false).</summary>
    /// <remarks>Two-pass Huffman coding makes files a few per cent smaller and, measured with libvips 8.18 on the build
    /// machine, encodes a 1 MP image in about 2–3 × the time (≈ 35–45 ms against 12–15 ms), which was the largest single
    /// cost of a job (BENCHMARKS.md). Turn it on where storage or egress costs more than runner time.</remarks>
    public bool JpegOptimizeCoding { get; set; }

    /// <summary>WebP output quality, 1–100 (default 90).</summary>
    public int WebpQuality { get; set; } = 90;

    /// <summary>PNG zlib compression level, 0–9 (default 6).</summary>
    public int PngCompression { get; set; } = 6;

    /// <summary>Height of each tile of the contact sheet in pixels (default 384).</summary>
    public int ContactSheetTileHeight { get; set; } = 384;

    /// <summary>libvips worker threads per image pipeline; 0 keeps the libvips default (one per core).</summary>
    public int VipsConcurrency { get; set; }

    /// <summary>Most operations the libvips operation cache keeps (default 50).</summary>
    /// <remarks>Inputs are unique untrusted images; a large cache would only pin their memory.</remarks>
    public int VipsCacheMaxOperations { get; set; } = 50;

    /// <summary>Most memory the libvips operation cache keeps, in bytes (default 32 MiB).</summary>
    public long VipsCacheMaxMemoryBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>Returns every problem of these options; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MaxBytes < 1)
        {
            errors.Add($"{nameof(MaxBytes)} must be positive (was {MaxBytes}).");
        }
        if (MaxPixels < 1)
        {
            errors.Add($"{nameof(MaxPixels)} must be positive (was {MaxPixels}).");
        }
        if (MinDimension < 1)
        {
            errors.Add($"{nameof(MinDimension)} must be at least 1 (was {MinDimension}).");
        }
        if (MaxDimension < MinDimension)
        {
            errors.Add($"{nameof(MaxDimension)} ({MaxDimension}) must not be below {nameof(MinDimension)} ({MinDimension}).");
        }
        if (MaxDimension > 100_000)
        {
            errors.Add($"{nameof(MaxDimension)} must be at most 100000 (was {MaxDimension}).");
        }
        if (MaxFrames < 1)
        {
            errors.Add($"{nameof(MaxFrames)} must be at least 1 (was {MaxFrames}).");
        }
        if (AcceptedFormats is null || AcceptedFormats.Length == 0)
        {
            errors.Add($"{nameof(AcceptedFormats)} must list at least one format.");
        }
        else if (AcceptedFormats.Any(f => f is not (ImageFormat.Png or ImageFormat.Jpeg or ImageFormat.WebP)))
        {
            errors.Add($"{nameof(AcceptedFormats)} may only contain Png, Jpeg and WebP (was {string.Join(", ", AcceptedFormats)}).");
        }
        if (!Enum.IsDefined(FitMode))
        {
            errors.Add($"{nameof(FitMode)} must be Pad or Stretch (was {FitMode}).");
        }
        if (FlattenBackground is null || FlattenBackground.Length != 3 || FlattenBackground.Any(v => v is < 0 or > 255))
        {
            errors.Add($"{nameof(FlattenBackground)} must be three values from 0 to 255.");
        }
        if (JpegQuality is < 1 or > 100)
        {
            errors.Add($"{nameof(JpegQuality)} must be from 1 to 100 (was {JpegQuality}).");
        }
        if (WebpQuality is < 1 or > 100)
        {
            errors.Add($"{nameof(WebpQuality)} must be from 1 to 100 (was {WebpQuality}).");
        }
        if (PngCompression is < 0 or > 9)
        {
            errors.Add($"{nameof(PngCompression)} must be from 0 to 9 (was {PngCompression}).");
        }
        if (ContactSheetTileHeight is < 32 or > 2048)
        {
            errors.Add($"{nameof(ContactSheetTileHeight)} must be from 32 to 2048 (was {ContactSheetTileHeight}).");
        }
        if (VipsConcurrency < 0)
        {
            errors.Add($"{nameof(VipsConcurrency)} must not be negative (was {VipsConcurrency}).");
        }
        if (VipsCacheMaxOperations < 0)
        {
            errors.Add($"{nameof(VipsCacheMaxOperations)} must not be negative (was {VipsCacheMaxOperations}).");
        }
        if (VipsCacheMaxMemoryBytes < 0)
        {
            errors.Add($"{nameof(VipsCacheMaxMemoryBytes)} must not be negative (was {VipsCacheMaxMemoryBytes}).");
        }
        return errors;
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem, if there is any.</summary>
    public void EnsureValid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid imaging options: " + string.Join(" ", errors));
        }
    }
}
