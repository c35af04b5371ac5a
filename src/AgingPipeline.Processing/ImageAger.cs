using System.Diagnostics;
using System.Globalization;
using AgingPipeline.Contracts;
using AgingPipeline.Imaging;
using AgingPipeline.Inference;

namespace AgingPipeline.Processing;

/// <summary>One aged output.</summary>
/// <param name="Age">Target age in years.</param>
/// <param name="Image">The encoded image, same size and format as the input.</param>
public sealed record AgedImage(int Age, EncodedImage Image)
{
    /// <summary>The image scaled for a contact sheet, when the caller asked for previews.</summary>
    public ContactSheetPreview? Preview { get; init; }
}

/// <summary>The outputs of one input.</summary>
/// <param name="Input">What the input's header declared.</param>
/// <param name="Outputs">One image per target age, in the order asked.</param>
public sealed record AgingResult(ImageInfo Input, IReadOnlyList<AgedImage> Outputs)
{
    /// <summary>Where the time of this result went (decode, waiting for inference, compose and encode).</summary>
    public AgingTimings Timings { get; init; } = AgingTimings.Zero;

    /// <summary>The input scaled for a contact sheet, when the caller asked for previews.</summary>
    public ContactSheetPreview? InputPreview { get; init; }

    /// <summary>Which part of the picture was aged: the faces found (boxes, keypoints, scores) or the whole frame and
    /// why.</summary>
    public required RegionOutcome Region { get; init; }

    /// <summary>The tiles of this result's contact sheet: the input, then every output in order (with the previews
    /// made while the pixels were at hand, when there are any).</summary>
    /// <param name="input">The encoded input the result was made from.</param>
    public IReadOnlyList<ContactSheetTile> ContactSheetTiles(ReadOnlyMemory<byte> input)
    {
        var tiles = ImageAger.ContactSheetTiles(input, Outputs.Select(o => (o.Age, (ReadOnlyMemory<byte>)o.Image.Content)));
        return [tiles[0] with { Preview = InputPreview }, .. tiles.Skip(1).Select((t, i) => t with { Preview = Outputs[i].Preview })];
    }
}

/// <summary>Time spent in the steps of one <see cref="ImageAger.AgeAsync"/> call.</summary>
/// <param name="Decode">Header checks, the shrink-on-load model input and the full-resolution decode (and the
/// source-age estimate when the model needs one).</param>
/// <param name="Infer">Waiting for the model's batches (queueing in the batcher included).</param>
/// <param name="Compose">Residual upsampling, addition and encoding of every age (libvips evaluates the composition
/// lazily while encoding, so the two cannot be told apart).</param>
public sealed record AgingTimings(TimeSpan Decode, TimeSpan Infer, TimeSpan Compose)
{
    /// <summary>No time at all.</summary>
    public static AgingTimings Zero { get; } = new(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
}

/// <summary>Ages one image at several target ages: decode under the limits, pack, infer through the model's batcher,
/// compose at full resolution, encode. No storage here, so the same path serves the runner, the <c>aging</c> CLI, tests
/// and tools.</summary>
/// <remarks>The model input is decoded with shrink-on-load; the full-resolution input is decoded once and shared by
/// every age. All ages of an image are queued on the batcher at once, so they (and other jobs' ages) share batches.
/// Composition is CPU-bound libvips work and runs one age at a time per job so that concurrent jobs, not one job,
/// use the cores.</remarks>
public sealed class ImageAger(ImageDecoder decoder, ResidualComposer composer, ModelRepository models)
{
    /// <summary>Ages <paramref name="input"/> with the ager <paramref name="model"/>.</summary>
    /// <exception cref="PipelineException">Input errors (UnsupportedFormat, CorruptImage, ImageTooLarge, TooManyPixels,
    /// BadDimensions, TooManyFrames), InvalidAges, ModelNotFound (a source-age model without an estimator),
    /// ModelFailed, Internal.</exception>
    /// <param name="input">The encoded upload.</param>
    /// <param name="ages">Target ages in years.</param>
    /// <param name="model">The served ager.</param>
    /// <param name="region">Faces, the whole frame, or faces when found (the default).</param>
    /// <param name="contactSheetPreviews">Also scale the input and every output for a contact sheet while their
    /// pixels are in memory (<see cref="AgingResult.ContactSheetTiles"/> then decodes nothing).</param>
    /// <param name="cancellationToken">Cancels waiting for the model.</param>
    public async Task<AgingResult> AgeAsync(ReadOnlyMemory<byte> input, IReadOnlyList<int> ages, ServedModel model, AgingRegion region = AgingRegion.Auto, bool contactSheetPreviews = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ages);
        ArgumentNullException.ThrowIfNull(model);
        var ager = model.Ager ?? throw new PipelineException(
            PipelineErrorCode.ModelNotFound, $"Model {model.Name}/{model.Version} is an {model.Kind}, not an image ager.");
        if (ages.Count == 0)
        {
            throw new PipelineException(PipelineErrorCode.InvalidAges, "No target ages were given.");
        }

        var started = Stopwatch.GetTimestamp();
        var tensor = new float[ager.ImageLength];
        var geometry = decoder.DecodeForModel(input, ager.Width, ager.Height, tensor);
        double? sourceAge = ager.SourceAge is null ? null : await EstimateSourceAgeAsync(input, cancellationToken).ConfigureAwait(false);
        var conditions = ages.Select(age => ager.EncodeConditions(age, sourceAge)).ToList();

        using var decoded = decoder.Decode(input);
        var decodeTime = Stopwatch.GetElapsedTime(started);
        var pending = conditions.Select(c => model.Batcher.InferAsync(tensor, c, cancellationToken)).ToList();
        var inputPreview = contactSheetPreviews ? composer.Preview(decoded) : null;
        var outputs = new List<AgedImage>(ages.Count);
        var inferTime = TimeSpan.Zero;
        var composeTime = TimeSpan.Zero;
        for (var i = 0; i < ages.Count; i++)
        {
            var waiting = Stopwatch.GetTimestamp();
            var output = await pending[i].ConfigureAwait(false);
            inferTime += Stopwatch.GetElapsedTime(waiting);
            cancellationToken.ThrowIfCancellationRequested();
            var composing = Stopwatch.GetTimestamp();
            float[] residual;
            if (ager.OutputIsResidual)
            {
                residual = output;
            }
            else
            {
                residual = new float[output.Length];
                TensorPacker.OutputImageToResidual(output, tensor, residual);
            }
            if (inputPreview is not null)
            {
                var (image, preview) = composer.ComposeWithPreview(decoded, residual, geometry, inputPreview);
                outputs.Add(new AgedImage(ages[i], image) { Preview = preview });
            }
            else
            {
                outputs.Add(new AgedImage(ages[i], composer.Compose(decoded, residual, geometry)));
            }
            composeTime += Stopwatch.GetElapsedTime(composing);
        }
        return new AgingResult(decoded.Header, outputs)
        {
            Timings = new AgingTimings(decodeTime, inferTime, composeTime),
            InputPreview = inputPreview,
            Region = RegionOutcome.WholeFrame(region, "Faces are not located yet."),
        };
    }

    /// <summary>The tiles of a contact sheet: the input captioned "input", then each aged image captioned "age N".</summary>
    /// <remarks>One definition for every writer of contact sheets (the runner, the CLI, including a CLI run that
    /// completes a sheet from outputs written earlier), so that sheets look the same whichever way they were made.</remarks>
    /// <param name="input">The encoded input.</param>
    /// <param name="outputs">The encoded aged images with their ages, in the order they should appear.</param>
    public static IReadOnlyList<ContactSheetTile> ContactSheetTiles(ReadOnlyMemory<byte> input, IEnumerable<(int Age, ReadOnlyMemory<byte> Image)> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        var tiles = new List<ContactSheetTile> { new("input", input) };
        tiles.AddRange(outputs.Select(o => new ContactSheetTile(string.Create(CultureInfo.InvariantCulture, $"age {o.Age}"), o.Image)));
        return tiles;
    }

    private async Task<double> EstimateSourceAgeAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken)
    {
        var estimator = models.Models.Where(m => m.Estimator is not null).MaxBy(m => m.VersionNumber)
            ?? throw new PipelineException(PipelineErrorCode.ModelNotFound, "The model needs the age of the input, but no age-estimator model is served.");
        var tensor = new float[estimator.Model.ImageLength];
        decoder.DecodeForModel(input, estimator.Estimator!.Width, estimator.Estimator.Height, tensor);
        var age = await estimator.Batcher.InferAsync(tensor, ReadOnlyMemory<float>.Empty, cancellationToken).ConfigureAwait(false);
        return age[0];
    }
}
