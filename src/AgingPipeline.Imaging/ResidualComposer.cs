using AgingPipeline.Contracts;
using Microsoft.Extensions.Logging;
using NetVips;

namespace AgingPipeline.Imaging;

/// <summary>Adds a model-resolution residual to the full-resolution input and encodes the result in the input's
/// format.</summary>
/// <remarks>The model predicts what changes (the residual) at, say, 128 × 128; the input may be 4000 × 3000. The
/// residual is cropped to the content rectangle of <see cref="ModelInputGeometry"/>, upsampled bilinearly (pixel
/// centres aligned, edges replicated) to the full size, scaled by 127.5 to 8-bit units and added to the decoded input,
/// then clamped to [0, 255] and rounded. Every full-size step is a lazy libvips operation evaluated in strips while
/// encoding, so no full-size float image ever exists in managed or native memory. The original alpha channel is kept
/// unchanged; metadata is stripped.</remarks>
public sealed class ResidualComposer
{
    private readonly ImageEncoder _encoder;

    /// <summary>Creates a composer; initialises libvips for the process if nothing did yet.</summary>
    public ResidualComposer(ImagingOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        VipsRuntime.Initialize(options, loggerFactory);
        _encoder = new ImageEncoder(options);
    }

    /// <summary>Composes and encodes one aged image.</summary>
    /// <param name="input">The decoded full-resolution input.</param>
    /// <param name="residual">float32 CHW residual (3 × model height × model width) in [-1, 1] units.</param>
    /// <param name="geometry">The mapping returned when the model input was packed.</param>
    /// <returns>The aged image, same size and format as the input.</returns>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.Internal"/> when libvips fails.</exception>
    public EncodedImage Compose(DecodedImage input, ReadOnlySpan<float> residual, ModelInputGeometry geometry)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (residual.Length != geometry.TensorLength)
        {
            throw new ArgumentException($"The residual must hold {geometry.TensorLength} floats (3 × {geometry.ModelHeight} × {geometry.ModelWidth}), not {residual.Length}.", nameof(residual));
        }
        if (geometry.SourceWidth != input.Width || geometry.SourceHeight != input.Height)
        {
            throw new ArgumentException($"The geometry is for a {geometry.SourceWidth} × {geometry.SourceHeight} image, the input is {input.Width} × {input.Height}.", nameof(geometry));
        }
        if (geometry.ContentWidth < 1 || geometry.ContentHeight < 1
            || geometry.ContentX < 0 || geometry.ContentY < 0
            || geometry.ContentX + geometry.ContentWidth > geometry.ModelWidth
            || geometry.ContentY + geometry.ContentHeight > geometry.ModelHeight)
        {
            throw new ArgumentException("The content rectangle lies outside the model input.", nameof(geometry));
        }

        var interleaved = new float[residual.Length];
        TensorPacker.ToInterleaved(residual, geometry.ModelWidth, geometry.ModelHeight, 3, interleaved);
        try
        {
            using var aged = Apply(input, interleaved, geometry);
            return _encoder.Encode(aged, input.Format);
        }
        catch (VipsException e)
        {
            throw VipsErrors.Internal("composing the aged image", e);
        }
    }

    private static Image Apply(DecodedImage input, float[] interleavedResidual, ModelInputGeometry g)
    {
        using var residual = Image.NewFromMemoryCopy<float>(interleavedResidual, g.ModelWidth, g.ModelHeight, 3, Enums.BandFormat.Float);
        using var content = residual.ExtractArea(g.ContentX, g.ContentY, g.ContentWidth, g.ContentHeight);
        var scaleX = (double)input.Width / g.ContentWidth;
        var scaleY = (double)input.Height / g.ContentHeight;
        using var bilinear = Interpolate.NewFromName("bilinear");
        // Pixel centres: output X + 0.5 = scale × (input x + 0.5), i.e. X = scale × (x + 0.5) - 0.5.
        using var upsampled = content.Affine(
            [scaleX, 0, 0, scaleY],
            interpolate: bilinear,
            oarea: [0, 0, input.Width, input.Height],
            idx: 0.5,
            idy: 0.5,
            odx: -0.5,
            ody: -0.5,
            extend: Enums.Extend.Copy);
        // + 0.5 so that the truncating cast below rounds to nearest; the cast clamps to [0, 255].
        using var delta = upsampled.Linear([TensorPacker.PixelScale], [0.5]);
        using var colour = input.HasAlpha ? input.Pixels.ExtractBand(0, 3) : input.Pixels.Copy();
        using var sum = colour.Add(delta);
        using var clamped = sum.Cast(Enums.BandFormat.Uchar);
        if (input.HasAlpha)
        {
            using var alpha = input.Pixels.ExtractBand(3);
            using var joined = clamped.Bandjoin(alpha);
            return joined.Copy(interpretation: Enums.Interpretation.Srgb);
        }
        return clamped.Copy(interpretation: Enums.Interpretation.Srgb);
    }
}
