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
/// <remarks>Every upload is untrusted. Its <see cref="Limits"/> are checked against the image <em>header</em> before a
/// single pixel is decoded, so that a small file that declares a huge canvas (a decompression bomb) is refused at the
/// cost of reading a few hundred bytes. They are options, not literals, so that an operator can tighten them per
/// deployment; <see cref="Validate"/> refuses nonsensical combinations at start-up.</remarks>
public sealed class ImagingOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Imaging";

    /// <summary>What input is accepted: formats, bytes, pixels, sides, frames.</summary>
    /// <remarks>Not bound from this section: every host fills it from the one <c>Limits</c> section
    /// (<see cref="InputLimits.SectionName"/>) that the function app and the CLI read too, so the decoder never holds a
    /// limit of its own (issue 15: it allowed 50 MP where the API allowed 40).</remarks>
    public InputLimits Limits { get; set; } = new();

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
        if (Limits is null)
        {
            errors.Add($"{nameof(Limits)} must be set.");
        }
        else
        {
            errors.AddRange(Limits.Validate().Select(e => $"{nameof(Limits)}: {e}"));
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
