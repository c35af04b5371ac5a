using AgingPipeline.Contracts;
using Microsoft.Extensions.Logging;

namespace AgingPipeline.Imaging;

/// <summary>Adds a model-resolution residual to the full-resolution input and encodes the result in the input's
/// format.</summary>
/// <remarks>The model predicts what changes (the residual) at, say, 128 × 128; the input may be 4000 × 3000. The
/// residual is cropped to the content rectangle of <see cref="ModelInputGeometry"/>, upsampled bilinearly (pixel
/// centres aligned, edges replicated) to the full size, scaled by 127.5 to 8-bit units and added to the decoded input,
/// then rounded and clamped to [0, 255] — in one fused pass (<see cref="ResidualBlend"/>) that writes the 8-bit output
/// directly, so no full-size float image ever exists. libvips then encodes that buffer in place. The original alpha
/// channel is kept unchanged; metadata is stripped.</remarks>
public sealed class ResidualComposer
{
    private readonly AgedImageWriter _writer;

    /// <summary>Creates a composer; initialises libvips for the process if nothing did yet.</summary>
    public ResidualComposer(ImagingOptions options, ILoggerFactory? loggerFactory = null) =>
        _writer = new AgedImageWriter(options, loggerFactory);

    /// <summary>Composes and encodes one aged image.</summary>
    /// <param name="input">The decoded full-resolution input.</param>
    /// <param name="residual">float32 CHW residual (3 × model height × model width) in [-1, 1] units.</param>
    /// <param name="geometry">The mapping returned when the model input was packed.</param>
    /// <returns>The aged image, same size and format as the input.</returns>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.Internal"/> when libvips fails.</exception>
    public EncodedImage Compose(DecodedImage input, ReadOnlySpan<float> residual, ModelInputGeometry geometry) =>
        Compose(input, residual, geometry, inputPreview: null).Image;

    /// <summary>Composes and encodes one aged image and its contact-sheet preview.</summary>
    /// <remarks>The preview is the same arithmetic at preview size: the residual blended onto the input's preview
    /// (<see cref="Preview(DecodedImage)"/>), a fraction of a millisecond instead of scaling the full-size output down
    /// again. Scaling and adding a smooth residual commute up to rounding; only an input with transparency, whose
    /// preview is flattened, has its output scaled down instead.</remarks>
    /// <param name="input">The decoded full-resolution input.</param>
    /// <param name="residual">float32 CHW residual (3 × model height × model width) in [-1, 1] units.</param>
    /// <param name="geometry">The mapping returned when the model input was packed.</param>
    /// <param name="inputPreview">The input's own preview.</param>
    public (EncodedImage Image, ContactSheetPreview Preview) ComposeWithPreview(DecodedImage input, ReadOnlySpan<float> residual, ModelInputGeometry geometry, ContactSheetPreview inputPreview)
    {
        ArgumentNullException.ThrowIfNull(inputPreview);
        var (image, preview) = Compose(input, residual, geometry, inputPreview);
        return (image, preview!);
    }

    /// <summary>The contact-sheet preview of the input itself, from the pixels already decoded.</summary>
    public ContactSheetPreview Preview(DecodedImage input) => _writer.Preview(input);

    private (EncodedImage Image, ContactSheetPreview? Preview) Compose(DecodedImage input, ReadOnlySpan<float> residual, ModelInputGeometry geometry, ContactSheetPreview? inputPreview)
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

        var output = GC.AllocateUninitializedArray<byte>(input.Interleaved.Length);
        var residualArray = residual.ToArray();
        ResidualBlend.Apply(input.Interleaved, output, residualArray, geometry, input.Bands, _writer.Parallelism);
        ContactSheetPreview? preview = null;
        if (inputPreview is not null && !input.HasAlpha)
        {
            var pixels = GC.AllocateUninitializedArray<byte>(inputPreview.Pixels.Length);
            var small = geometry with { SourceWidth = inputPreview.Width, SourceHeight = inputPreview.Height };
            ResidualBlend.Apply(inputPreview.Pixels, pixels, residualArray, small, 3, 1);
            preview = new ContactSheetPreview(pixels, inputPreview.Width, inputPreview.Height);
        }
        return _writer.Encode(input, output, preview, previewWanted: inputPreview is not null);
    }
}
