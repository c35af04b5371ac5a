using System.Diagnostics;
using System.Globalization;
using AgingPipeline.Contracts;
using AgingPipeline.Imaging;
using AgingPipeline.Imaging.Faces;
using AgingPipeline.Inference;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

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

/// <summary>Ages one image at several target ages: decode under the limits, find the faces, align each head to the
/// ager's crop template, infer through the model's batcher, blend the residuals back at full resolution, encode. No
/// storage here, so the same path serves the runner, the <c>aging</c> CLI, tests and tools.</summary>
/// <remarks>
/// <para>Face-aware, as production re-ageing is (FaceFusion's age modifier, Disney's FRAN): with
/// <see cref="AgingRegion.Auto"/> or <see cref="AgingRegion.Faces"/> and an ager whose manifest has a <c>crop</c>
/// template, every face found (up to the finder's limit) is warped by a similarity transform from its eyes and mouth
/// to the template, aged as one crop, and its residual is added back through the template's feathered mask — outside
/// the masks the output is the input bit for bit. All faces × all ages are queued on the batcher at once, so they
/// (and other jobs' crops) share batches. Without faces (none found under <see cref="AgingRegion.Auto"/>, an ager
/// without a template, or <see cref="AgingRegion.Whole"/>) the whole frame goes through the model as before: the
/// model input is decoded with shrink-on-load and the residual upsampled to full resolution. Which of the two
/// happened, and why, is in <see cref="AgingResult.Region"/>.</para>
/// <para>The full-resolution input is decoded once and shared by detection, sampling and every age. Composition is
/// CPU-bound and runs one age at a time per job so that concurrent jobs, not one job, use the cores.</para>
/// </remarks>
public sealed class ImageAger(
    ImageDecoder decoder,
    ResidualComposer composer,
    ModelRepository models,
    FaceFinder faceFinder,
    FaceCropSampler cropSampler,
    FaceComposer faceComposer)
{
    /// <summary>Faces whose eyes are closer than this (in input pixels) are too small to age and are left alone.</summary>
    public const float MinimumEyeDistance = 4f;

    /// <summary>An ager with its own imaging services and face finder, for hosts without dependency injection (the
    /// <c>aging</c> CLI, tests, tools); the runner gets the same objects from its container.</summary>
    /// <param name="imaging">Imaging options (limits, libvips concurrency).</param>
    /// <param name="models">The model repository serving the ager and the face detectors.</param>
    /// <param name="faces">Face options; the defaults when null.</param>
    /// <param name="loggerFactory">Where libvips and the finder log, if anywhere.</param>
    public static ImageAger Create(ImagingOptions imaging, ModelRepository models, FaceOptions? faces = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(imaging);
        return new ImageAger(
            new ImageDecoder(imaging, loggerFactory),
            new ResidualComposer(imaging, loggerFactory),
            models,
            new FaceFinder(models, Options.Create(faces ?? new FaceOptions()), loggerFactory?.CreateLogger<FaceFinder>()),
            new FaceCropSampler(imaging),
            new FaceComposer(imaging, loggerFactory));
    }

    /// <summary>Ages <paramref name="input"/> with the ager <paramref name="model"/>.</summary>
    /// <exception cref="PipelineException">Input errors (UnsupportedFormat, CorruptImage, ImageTooLarge, TooManyPixels,
    /// BadDimensions, TooManyFrames), InvalidAges, NoFaceFound (<see cref="AgingRegion.Faces"/> and no face),
    /// InvalidRequest (<see cref="AgingRegion.Faces"/> with an ager that has no crop template), ModelNotFound (a
    /// source-age model without an estimator, or no face detector served), ModelFailed, Internal.</exception>
    /// <param name="input">The encoded upload.</param>
    /// <param name="ages">Target ages in years.</param>
    /// <param name="model">The served ager.</param>
    /// <param name="region">Faces, the whole frame, or faces when found (the default).</param>
    /// <param name="contactSheetPreviews">Also scale the input and every output for a contact sheet while their
    /// pixels are in memory (<see cref="AgingResult.ContactSheetTiles"/> then decodes nothing).</param>
    /// <param name="cancellationToken">Cancels waiting for the models.</param>
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
        if (!Enum.IsDefined(region))
        {
            throw new ArgumentOutOfRangeException(nameof(region), region, "Unknown region.");
        }

        var started = Stopwatch.GetTimestamp();
        var template = ager.Manifest.Crop?.ToTemplate();
        if (region == AgingRegion.Faces && template is null)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"Model {model.Name}/{model.Version} has no head-crop template, so it cannot age faces only; use region auto or whole.");
        }
        double? sourceAge = ager.SourceAge is null ? null : await EstimateSourceAgeAsync(input, cancellationToken).ConfigureAwait(false);
        var conditions = ages.Select(age => ager.EncodeConditions(age, sourceAge)).ToList();

        using var decoded = decoder.Decode(input);
        RegionOutcome outcome;
        if (region == AgingRegion.Whole)
        {
            outcome = RegionOutcome.WholeFrame(region, "The whole picture was asked for.");
        }
        else if (template is null)
        {
            outcome = RegionOutcome.WholeFrame(region, $"Model {model.Name}/{model.Version} has no head-crop template; it ages the whole picture.");
        }
        else
        {
            var faces = (await faceFinder.FindAsync(decoded, cancellationToken).ConfigureAwait(false))
                .Where(f => Distance(f.LeftEye, f.RightEye) >= MinimumEyeDistance)
                .ToList();
            if (faces.Count == 0 && region == AgingRegion.Faces)
            {
                throw new PipelineException(PipelineErrorCode.NoFaceFound,
                    "No face was found in the picture, and only faces were to be aged (region=faces). Use region auto or whole to age the whole picture.");
            }
            outcome = faces.Count == 0
                ? RegionOutcome.WholeFrame(region, "No face was found in the picture.")
                : RegionOutcome.OfFaces(region, faces);
        }

        return outcome.Applied == RegionOutcome.FacesApplied
            ? await AgeFacesAsync(decoded, ager, model, template!, outcome, ages, conditions, started, contactSheetPreviews, cancellationToken).ConfigureAwait(false)
            : await AgeWholeFrameAsync(input, decoded, ager, model, outcome, ages, conditions, started, contactSheetPreviews, cancellationToken).ConfigureAwait(false);
    }

    private async Task<AgingResult> AgeFacesAsync(
        DecodedImage decoded, AgerSession ager, ServedModel model, CropTemplate template, RegionOutcome outcome, IReadOnlyList<int> ages,
        List<float[]> conditions, long started, bool contactSheetPreviews, CancellationToken cancellationToken)
    {
        var faces = outcome.Faces;
        var transforms = new SimilarityTransform[faces.Count];
        var crops = new float[faces.Count][];
        for (var f = 0; f < faces.Count; f++)
        {
            transforms[f] = SimilarityTransform.ToTemplate(faces[f], template);
            crops[f] = new float[ager.ImageLength];
            cropSampler.Sample(decoded, transforms[f], template, crops[f]);
        }
        var decodeTime = Stopwatch.GetElapsedTime(started);
        var pending = conditions
            .Select(c => Task.WhenAll(crops.Select(crop => model.Batcher.InferAsync(crop, c, cancellationToken))))
            .ToList();
        var inputPreview = contactSheetPreviews ? composer.Preview(decoded) : null;
        return await ComposeAgesAsync(decoded, outcome, ages, pending, decodeTime, inputPreview, results =>
        {
            var residuals = new FaceResidual[faces.Count];
            for (var f = 0; f < faces.Count; f++)
            {
                residuals[f] = new FaceResidual(transforms[f], ToResidual(ager, results[f], crops[f]));
            }
            return inputPreview is null
                ? (faceComposer.Compose(decoded, residuals, template), null)
                : faceComposer.ComposeWithPreview(decoded, residuals, template, inputPreview);
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<AgingResult> AgeWholeFrameAsync(
        ReadOnlyMemory<byte> input, DecodedImage decoded, AgerSession ager, ServedModel model, RegionOutcome outcome, IReadOnlyList<int> ages,
        List<float[]> conditions, long started, bool contactSheetPreviews, CancellationToken cancellationToken)
    {
        var tensor = new float[ager.ImageLength];
        var geometry = decoder.DecodeForModel(input, ager.Width, ager.Height, tensor);
        var decodeTime = Stopwatch.GetElapsedTime(started);
        var pending = conditions.Select(c => model.Batcher.InferAsync(tensor, c, cancellationToken)).ToList();
        var inputPreview = contactSheetPreviews ? composer.Preview(decoded) : null;
        return await ComposeAgesAsync(decoded, outcome, ages, pending, decodeTime, inputPreview, output =>
        {
            var residual = ToResidual(ager, output, tensor);
            return inputPreview is null
                ? (composer.Compose(decoded, residual, geometry), null)
                : composer.ComposeWithPreview(decoded, residual, geometry, inputPreview);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits for each age's inference in order and composes it while later ages are still inferred.</summary>
    private static async Task<AgingResult> ComposeAgesAsync<T>(
        DecodedImage decoded, RegionOutcome outcome, IReadOnlyList<int> ages, List<Task<T>> pending, TimeSpan decodeTime,
        ContactSheetPreview? inputPreview, Func<T, (EncodedImage Image, ContactSheetPreview? Preview)> compose, CancellationToken cancellationToken)
    {
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
            var (image, preview) = compose(output);
            outputs.Add(new AgedImage(ages[i], image) { Preview = preview });
            composeTime += Stopwatch.GetElapsedTime(composing);
        }
        return new AgingResult(decoded.Header, outputs)
        {
            Timings = new AgingTimings(decodeTime, inferTime, composeTime),
            InputPreview = inputPreview,
            Region = outcome,
        };
    }

    /// <summary>The model's output as a residual: itself, or the aged image minus the input it was given.</summary>
    private static float[] ToResidual(AgerSession ager, float[] output, float[] input)
    {
        if (ager.OutputIsResidual)
        {
            return output;
        }
        var residual = new float[output.Length];
        TensorPacker.OutputImageToResidual(output, input, residual);
        return residual;
    }

    private static float Distance(Point2 a, Point2 b) => MathF.Sqrt(((a.X - b.X) * (a.X - b.X)) + ((a.Y - b.Y) * (a.Y - b.Y)));

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
        // The input's age is read from the whole picture, so only an estimator of whole pictures (no head-crop
        // template) fits here.
        var estimator = models.Models.Where(m => m.Estimator is not null && m.Manifest.Crop is null).MaxBy(m => m.VersionNumber)
            ?? throw new PipelineException(PipelineErrorCode.ModelNotFound, "The model needs the age of the input, but no whole-picture age-estimator model is served.");
        var tensor = new float[estimator.Model.ImageLength];
        decoder.DecodeForModel(input, estimator.Estimator!.Width, estimator.Estimator.Height, tensor);
        var age = await estimator.Batcher.InferAsync(tensor, ReadOnlyMemory<float>.Empty, cancellationToken).ConfigureAwait(false);
        return age[0];
    }
}
