using System.Diagnostics;
using System.Globalization;
using AgingPipeline.Contracts;
using AgingPipeline.Imaging;
using AgingPipeline.Imaging.Faces;
using AgingPipeline.Inference;
using AgingPipeline.Processing;
using AgingPipeline.Testing;
using Microsoft.Extensions.Options;

namespace AgingPipeline.Bench;

/// <summary>Mode <c>faces</c>: what the face-aware path adds per 1 MP image, in this process (no storage): face
/// detection (both BlazeFace networks, letterbox included), alignment and crop sampling, the full-resolution blend
/// of one age against the whole-frame compose it replaces, and the whole <see cref="ImageAger.AgeAsync"/> per image
/// with <c>region=auto</c> against <c>region=whole</c>.</summary>
/// <remarks>Each step runs on every image of the set, warm (one untimed pass first); the figures are medians over
/// images × repetitions.</remarks>
internal static class FacesBench
{
    public static async Task<string> RunAsync(BenchImages images, BenchOptions options)
    {
        var imaging = new ImagingOptions();
        await using var repository = new ModelRepository(new InferenceOptions
        {
            ModelRoot = Path.Combine(RepoPaths.Root, "models"),
            DefaultModel = "character-ager",
            RescanInterval = TimeSpan.Zero,
        });
        await repository.ScanAsync();
        var ager = repository.Get("character-ager", Path.GetFileName(options.ModelDirectory));
        var template = ager.Ager!.Manifest.Crop?.ToTemplate()
            ?? throw new InvalidOperationException($"{options.ModelDirectory} has no crop template: nothing to measure.");
        var decoder = new ImageDecoder(imaging);
        var finder = new FaceFinder(repository, Options.Create(new FaceOptions()));
        var sampler = new FaceCropSampler(imaging);
        var faceComposer = new FaceComposer(imaging);
        var composer = new ResidualComposer(imaging);
        var imageAger = ImageAger.Create(imaging, repository);
        var inputs = images.OneMegapixel.Select(File.ReadAllBytes).ToArray();
        var residual = new float[ager.Ager.ImageLength];
        for (var i = 0; i < residual.Length; i++)
        {
            residual[i] = 0.1f * MathF.Sin(i * 0.01f);
        }

        var detect = new List<double>();
        var sample = new List<double>();
        var blend = new List<double>();
        var wholeCompose = new List<double>();
        var ageAuto = new List<double>();
        var ageWhole = new List<double>();
        var facesFound = 0;
        var repetitions = options.Quick ? 1 : 3;
        for (var pass = 0; pass <= repetitions; pass++)
        {
            var timed = pass > 0;
            foreach (var input in inputs)
            {
                using var decoded = decoder.Decode(input);
                var started = Stopwatch.GetTimestamp();
                var faces = await finder.FindAsync(decoded);
                Add(detect, started, timed);
                if (timed && pass == 1 && faces.Count > 0)
                {
                    facesFound++;
                }

                started = Stopwatch.GetTimestamp();
                var residuals = new List<FaceResidual>();
                foreach (var face in faces)
                {
                    var transform = SimilarityTransform.ToTemplate(face, template);
                    sampler.Sample(decoded, transform, template, new float[ager.Ager.ImageLength]);
                    residuals.Add(new FaceResidual(transform, residual));
                }
                Add(sample, started, timed);

                started = Stopwatch.GetTimestamp();
                faceComposer.Compose(decoded, residuals, template);
                Add(blend, started, timed);

                var tensor = new float[ager.Ager.ImageLength];
                var geometry = decoder.DecodeForModel(input, ager.Ager.Width, ager.Ager.Height, tensor);
                started = Stopwatch.GetTimestamp();
                composer.Compose(decoded, residual, geometry);
                Add(wholeCompose, started, timed);

                started = Stopwatch.GetTimestamp();
                await imageAger.AgeAsync(input, options.Ages, ager, AgingRegion.Auto);
                Add(ageAuto, started, timed);
                started = Stopwatch.GetTimestamp();
                await imageAger.AgeAsync(input, options.Ages, ager, AgingRegion.Whole);
                Add(ageWhole, started, timed);
            }
        }

        static string Ms(List<double> values) => Stats.Percentile(values, 50).ToString("F1", CultureInfo.InvariantCulture);
        var perAgeAuto = Stats.Percentile(ageAuto, 50);
        var perAgeWhole = Stats.Percentile(ageWhole, 50);
        return string.Join('\n',
            $"faces: {inputs.Length} images of 1 MP (1024 × 1024 JPEG), {repetitions} timed pass(es), {ager.Name}/{ager.Version} (crop {template.Size}²), ages {UploadMetadata.FormatAges(options.Ages)}, faces found in {facesFound}/{inputs.Length}",
            "| step (median per 1 MP image) | ms |",
            "| --- | ---: |",
            $"| face detection (letterbox + both BlazeFace networks + decode) | {Ms(detect)} |",
            $"| alignment + crop sampling (all faces) | {Ms(sample)} |",
            $"| blend-back + encode, one age (faces) | {Ms(blend)} |",
            $"| compose + encode, one age (whole frame) | {Ms(wholeCompose)} |",
            $"| ImageAger.AgeAsync, region=auto (faces) | {Ms(ageAuto)} |",
            $"| ImageAger.AgeAsync, region=whole | {Ms(ageWhole)} |",
            string.Create(CultureInfo.InvariantCulture, $"aged images/s in one thread: auto {options.Ages.Count * 1000 / perAgeAuto:F1}, whole {options.Ages.Count * 1000 / perAgeWhole:F1} ({(perAgeWhole / perAgeAuto - 1) * 100:+0.0;-0.0} %)"));
    }

    private static void Add(List<double> values, long started, bool timed)
    {
        if (timed)
        {
            values.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }
}
