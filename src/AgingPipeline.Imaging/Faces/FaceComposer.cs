using AgingPipeline.Contracts;
using Microsoft.Extensions.Logging;

namespace AgingPipeline.Imaging.Faces;

/// <summary>One aged face: where its crop sits in the picture and what the ager predicted for it.</summary>
/// <param name="ImageToCrop">The face's transform from image to crop coordinates
/// (<see cref="SimilarityTransform.ToTemplate"/>), the one its crop was sampled with.</param>
/// <param name="Residual">float32 CHW residual of the crop (3 × size × size) in the model's [-1, 1] units; a slice of
/// a batch output will do.</param>
public sealed record FaceResidual(SimilarityTransform ImageToCrop, ReadOnlyMemory<float> Residual);

/// <summary>Adds the aged residuals of head crops back to the full-resolution input through the template's feathered
/// mask and encodes the result in the input's format: the face-aware counterpart of <see cref="ResidualComposer"/>.</summary>
/// <remarks>
/// <para>Each face's residual is read through its transform at full resolution (no whole-frame upsampling): only the
/// pixels inside the image-space bounding box of a face's outer mask ellipse are visited, so a 1 MP picture with one
/// face costs about what that box holds. Every pixel no mask reaches is the input byte for byte; the alpha band is
/// copied unchanged everywhere. Overlapping faces blend by weight and never add twice (see <see cref="FaceBlend"/>).
/// The result is rounded and clamped as the whole-frame path does and written through the same encoder (same format,
/// JPEG chroma subsampling of the input, metadata stripped).</para>
/// <para>The conventions of the template and the transforms are those of <see cref="SimilarityTransform"/>.</para>
/// </remarks>
public sealed class FaceComposer
{
    private readonly AgedImageWriter _writer;

    /// <summary>Creates a composer; initialises libvips for the process if nothing did yet.</summary>
    public FaceComposer(ImagingOptions options, ILoggerFactory? loggerFactory = null) =>
        _writer = new AgedImageWriter(options, loggerFactory);

    /// <summary>Composes and encodes one aged image.</summary>
    /// <param name="input">The decoded full-resolution input.</param>
    /// <param name="faces">The aged faces (none leaves the picture unchanged).</param>
    /// <param name="template">The ager's crop template the faces were aligned to.</param>
    /// <returns>The aged image, same size and format as the input.</returns>
    /// <exception cref="ArgumentException">A residual is not 3 × size × size floats, or the template's mask is
    /// invalid.</exception>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.Internal"/> when libvips fails.</exception>
    public EncodedImage Compose(DecodedImage input, IReadOnlyList<FaceResidual> faces, CropTemplate template) =>
        Compose(input, faces, template, inputPreview: null).Image;

    /// <summary>Composes and encodes one aged image and its contact-sheet preview.</summary>
    /// <remarks>As <see cref="ResidualComposer.ComposeWithPreview"/>: the same blend is run on the input's preview,
    /// with each face's transform composed with the preview's scaling (the mask's feather shrinks with it), instead of
    /// scaling the full-size output down again; an input with transparency, whose preview is flattened, has its output
    /// scaled down instead.</remarks>
    /// <param name="input">The decoded full-resolution input.</param>
    /// <param name="faces">The aged faces.</param>
    /// <param name="template">The ager's crop template.</param>
    /// <param name="inputPreview">The input's own preview (<see cref="Preview"/> or
    /// <see cref="ResidualComposer.Preview"/>; they are the same).</param>
    public (EncodedImage Image, ContactSheetPreview Preview) ComposeWithPreview(DecodedImage input, IReadOnlyList<FaceResidual> faces, CropTemplate template, ContactSheetPreview inputPreview)
    {
        ArgumentNullException.ThrowIfNull(inputPreview);
        var (image, preview) = Compose(input, faces, template, inputPreview);
        return (image, preview!);
    }

    /// <summary>The contact-sheet preview of the input itself, from the pixels already decoded.</summary>
    public ContactSheetPreview Preview(DecodedImage input) => _writer.Preview(input);

    /// <summary>The composed pixels before encoding (interleaved, <see cref="DecodedImage.Bands"/> per pixel).</summary>
    /// <remarks>For tests of the bit-exact invariant, which a lossy encoder would hide.</remarks>
    internal byte[] ComposePixels(DecodedImage input, IReadOnlyList<FaceResidual> faces, CropTemplate template)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = GC.AllocateUninitializedArray<byte>(input.Interleaved.Length);
        FaceBlend.Apply(input.Interleaved, output, input.Width, input.Height, input.Bands, Faces(faces, 1, 1), template.Size, Mask(template), _writer.Parallelism);
        return output;
    }

    private (EncodedImage Image, ContactSheetPreview? Preview) Compose(DecodedImage input, IReadOnlyList<FaceResidual> faces, CropTemplate template, ContactSheetPreview? inputPreview)
    {
        ArgumentNullException.ThrowIfNull(input);
        var mask = Mask(template);
        var output = GC.AllocateUninitializedArray<byte>(input.Interleaved.Length);
        FaceBlend.Apply(input.Interleaved, output, input.Width, input.Height, input.Bands, Faces(faces, 1, 1), template.Size, mask, _writer.Parallelism);
        ContactSheetPreview? preview = null;
        if (inputPreview is not null && !input.HasAlpha)
        {
            var pixels = GC.AllocateUninitializedArray<byte>(inputPreview.Pixels.Length);
            var scaled = Faces(faces, (double)inputPreview.Width / input.Width, (double)inputPreview.Height / input.Height);
            FaceBlend.Apply(inputPreview.Pixels, pixels, inputPreview.Width, inputPreview.Height, 3, scaled, template.Size, mask, 1);
            preview = new ContactSheetPreview(pixels, inputPreview.Width, inputPreview.Height);
        }
        return _writer.Encode(input, output, preview, previewWanted: inputPreview is not null);
    }

    private static CropMaskShape Mask(CropTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentOutOfRangeException.ThrowIfLessThan(template.Size, 1);
        return new CropMaskShape(template.Mask, template.Size);
    }

    /// <summary>The faces for a picture scaled by (<paramref name="scaleX"/>, <paramref name="scaleY"/>) from the
    /// input.</summary>
    private static FaceBlend.Face[] Faces(IReadOnlyList<FaceResidual> faces, double scaleX, double scaleY)
    {
        ArgumentNullException.ThrowIfNull(faces);
        var result = new FaceBlend.Face[faces.Count];
        for (var i = 0; i < faces.Count; i++)
        {
            var face = faces[i] ?? throw new ArgumentException("A face is null.", nameof(faces));
            result[i] = new FaceBlend.Face(CropMap.Of(face.ImageToCrop).FromScaled(scaleX, scaleY), face.Residual);
        }
        return result;
    }
}
