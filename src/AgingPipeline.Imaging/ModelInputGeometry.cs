namespace AgingPipeline.Imaging;

/// <summary>Where an image sits inside the model's input square, so that the model's output can be mapped back.</summary>
/// <param name="ModelWidth">Model input width in pixels.</param>
/// <param name="ModelHeight">Model input height in pixels.</param>
/// <param name="ContentX">Left of the image content inside the model input.</param>
/// <param name="ContentY">Top of the image content inside the model input.</param>
/// <param name="ContentWidth">Width of the image content inside the model input.</param>
/// <param name="ContentHeight">Height of the image content inside the model input.</param>
/// <param name="SourceWidth">Full-resolution width (orientation applied).</param>
/// <param name="SourceHeight">Full-resolution height (orientation applied).</param>
/// <remarks>With <see cref="ModelFitMode.Stretch"/> the content fills the model input; with
/// <see cref="ModelFitMode.Pad"/> it is the centred, aspect-preserving rectangle and the rest is padding. The composer
/// crops this rectangle out of the residual and scales it to the source size: the exact inverse of the mapping.</remarks>
public readonly record struct ModelInputGeometry(
    int ModelWidth,
    int ModelHeight,
    int ContentX,
    int ContentY,
    int ContentWidth,
    int ContentHeight,
    int SourceWidth,
    int SourceHeight)
{
    /// <summary>Floats in one model input or residual (3 × height × width).</summary>
    public int TensorLength => 3 * ModelWidth * ModelHeight;
}
