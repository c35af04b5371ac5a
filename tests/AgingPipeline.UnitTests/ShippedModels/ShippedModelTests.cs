using AgingPipeline.Contracts;
using AgingPipeline.Imaging;
using AgingPipeline.Imaging.Faces;
using AgingPipeline.Inference;
using AgingPipeline.Processing;
using AgingPipeline.UnitTests.Imaging;
using Xunit.Abstractions;

namespace AgingPipeline.UnitTests.ShippedModels;

/// <summary>The models committed in <c>models/</c>: valid manifests, loadable from C#, and an ager that really ages
/// (judged by the independent age estimator on held-out characters it never saw in training, through the whole
/// face-aware path: detect, align, age the crop, blend back).</summary>
public sealed class ShippedModelTests(ITestOutputHelper output)
{
    /// <summary>Mean absolute change inside the aligned head crop, on the 0–255 scale, that ageing a 30-year-old to
    /// 80 must make at least on average (each sample must change by more than 1). An identity model makes 0.</summary>
    private const double MinimumMeanChange = 4.0;

    /// <summary>Years by which the estimate of "aged to 80" must exceed the estimate of "aged to 10", on average.</summary>
    private const double MinimumAgeSpread = 25.0;

    /// <summary>The shipped version of the ager (its folder name under <c>models/character-ager/</c>).</summary>
    private const string AgerVersion = "4";

    /// <summary>The shipped version of the age estimator (its folder name under <c>models/age-estimator/</c>): the
    /// one trained on head crops, which judges version 4.</summary>
    private const string EstimatorVersion = "3";

    private static string AgerDirectory => Path.Combine(TestPaths.RepositoryRoot, "models", "character-ager", AgerVersion);

    private static string EstimatorDirectory => Path.Combine(TestPaths.RepositoryRoot, "models", "age-estimator", EstimatorVersion);

    private static InferenceOptions Options => new() { IntraOpThreads = 2, InterOpThreads = 1 };

    [Theory]
    [InlineData("character-ager", AgerVersion)]
    [InlineData("age-estimator", EstimatorVersion)]
    public void Shipped_manifest_validates_and_matches_its_file(string name, string version)
    {
        var directory = Path.Combine(TestPaths.RepositoryRoot, "models", name, version);
        var manifest = ModelManifest.Parse(File.ReadAllText(Path.Combine(directory, "model.json")));

        Assert.Empty(ModelManifestValidator.Validate(manifest, name, version));
        Assert.Null(ModelManifestValidator.ValidateSha256(manifest, Path.Combine(directory, "model.onnx")));
        Assert.True(new FileInfo(Path.Combine(directory, "model.onnx")).Length < 25 * 1024 * 1024, "the shipped model must stay under 25 MB");
        Assert.True(File.Exists(Path.Combine(directory, "MODEL_CARD.md")), "every shipped model has a card");
        Assert.NotNull(manifest.Crop);
    }

    [Fact]
    public void The_estimator_reads_the_crop_the_ager_writes()
    {
        var ager = ReadManifest(AgerDirectory).Crop!.ToTemplate();
        var estimator = ReadManifest(EstimatorDirectory).Crop!.ToTemplate();

        // Same template in fractions of the side; the sizes may differ.
        Assert.Equal((ager.LeftEye, ager.RightEye, ager.Mouth, ager.Mask), (estimator.LeftEye, estimator.RightEye, estimator.Mouth, estimator.Mask));
    }

    [Fact]
    public void Onnx_runtime_matches_pytorch_on_held_out_samples()
    {
        var parity = Path.Combine(TestPaths.RepositoryRoot, "tests", "fixtures", "parity", $"character-ager-{AgerVersion}");
        var input = ReadFloats(Path.Combine(parity, "input.f32"));
        var ages = ReadFloats(Path.Combine(parity, "ages.f32"));
        var expected = ReadFloats(Path.Combine(parity, "expected.f32"));
        using var ager = AgerSession.Load(AgerDirectory, ReadManifest(AgerDirectory), Options);
        var batch = ages.Length;
        var conditions = ages.SelectMany(a => ager.EncodeConditions(a)).ToArray();

        var actual = ager.Run(input, conditions, batch);

        AssertClose(expected, actual, $"character-ager {AgerVersion}, {batch} held-out crops");
    }

    [Fact]
    public void Estimator_onnx_runtime_matches_pytorch_on_held_out_samples()
    {
        var parity = Path.Combine(TestPaths.RepositoryRoot, "tests", "fixtures", "parity", $"age-estimator-{EstimatorVersion}");
        var input = ReadFloats(Path.Combine(parity, "input.f32"));
        var expected = ReadFloats(Path.Combine(parity, "expected.f32"));
        using var estimator = AgeEstimator.Load(EstimatorDirectory, ReadManifest(EstimatorDirectory), Options);

        var actual = estimator.Run(input, ReadOnlyMemory<float>.Empty, expected.Length);

        AssertClose(expected, actual, $"age-estimator {EstimatorVersion}, {expected.Length} held-out crops (years)");
    }

    [Fact]
    public async Task Ageing_a_face_to_80_is_judged_older_than_to_10_and_nothing_outside_the_head_changes()
    {
        var imaging = new ImagingOptions();
        var decoder = new ImageDecoder(imaging);
        var sampler = new FaceCropSampler(imaging);
        await using var repository = new ModelRepository(new InferenceOptions
        {
            ModelRoot = Path.Combine(TestPaths.RepositoryRoot, "models"),
            DefaultModel = "character-ager",
            IntraOpThreads = 2,
            InterOpThreads = 1,
            RescanInterval = TimeSpan.Zero,
        });
        await repository.ScanAsync();
        var ager = ImageAger.Create(imaging, repository);
        var model = repository.Get("character-ager");
        Assert.Equal(AgerVersion, model.Version);
        var judge = repository.Get("age-estimator", EstimatorVersion);
        var cropTemplate = judge.Manifest.Crop!.ToTemplate();
        var mask = model.Manifest.Crop!.ToTemplate();
        var samples = Directory.GetFiles(Path.Combine(TestPaths.RepositoryRoot, "tests", "fixtures", "heldout-frames"), "*_age30.png");
        Assert.NotEmpty(samples);

        var spreads = new List<double>();
        var changes = new List<double>();
        foreach (var sample in samples)
        {
            var bytes = File.ReadAllBytes(sample);
            var result = await ager.AgeAsync(bytes, [10, 80], model, AgingRegion.Faces);
            Assert.Equal(RegionOutcome.FacesApplied, result.Region.Applied);
            // The character's face is the best-scoring one (a busy background can hold a second, weak detection).
            var face = result.Region.Faces.MaxBy(f => f.Score)!;
            var toCrop = SimilarityTransform.ToTemplate(face, cropTemplate);

            using var input = decoder.Decode(bytes);
            using var young = decoder.Decode(result.Outputs[0].Image.Content);
            using var old = decoder.Decode(result.Outputs[1].Image.Content);
            Assert.Equal(0, PixelsChangedOutsideTheHeads(input, old, result.Region.Faces.Select(f => SimilarityTransform.ToTemplate(f, mask)).ToList(), mask));
            var crops = new[] { input, young, old }.Select(image =>
            {
                var tensor = new float[judge.Estimator!.ImageLength];
                sampler.Sample(image, toCrop, cropTemplate, tensor);
                return tensor;
            }).ToArray();
            var estimates = await judge.Estimator!.EstimateAsync(crops[1].Concat(crops[2]).ToArray(), 2);
            var change = crops[2].Zip(crops[0], (o, i) => Math.Abs(o - i)).Average() * 127.5;
            output.WriteLine($"{Path.GetFileName(sample)}: face score {face.Score:F2}; judged {estimates[0]:F1} y at target 10, {estimates[1]:F1} y at target 80; mean change in the crop to 80 = {change:F1}/255");
            Assert.True(change > 1.0, $"{sample}: ageing to 80 left the face almost as it was ({change:F2}/255)");
            changes.Add(change);
            spreads.Add(estimates[1] - estimates[0]);
        }
        output.WriteLine($"mean change {changes.Average():F1}/255, mean spread {spreads.Average():F1} y, rising for {spreads.Count(s => s > 0)}/{spreads.Count}");
        Assert.True(changes.Average() > MinimumMeanChange, $"ageing to 80 changed the faces by only {changes.Average():F2}/255 on average");
        Assert.True(spreads.Average() >= MinimumAgeSpread, $"mean estimated spread {spreads.Average():F1} years < {MinimumAgeSpread}");
    }

    /// <summary>Pixels outside every face's mask ellipse (grown by 1.5 pixels for the resampling footprint) that
    /// differ between input and output.</summary>
    private static int PixelsChangedOutsideTheHeads(DecodedImage input, DecodedImage output, IReadOnlyList<SimilarityTransform> imageToCrops, CropTemplate template)
    {
        var before = input.ToInterleavedBytes();
        var after = output.ToInterleavedBytes();
        var changed = 0;
        for (var y = 0; y < input.Height; y++)
        {
            for (var x = 0; x < input.Width; x++)
            {
                if (imageToCrops.Any(t => InsideMask(t, template, x + 0.5, y + 0.5)))
                {
                    continue;
                }
                var i = ((y * input.Width) + x) * input.Bands;
                for (var b = 0; b < Math.Min(3, input.Bands); b++)
                {
                    if (before[i + b] != after[i + b])
                    {
                        changed++;
                        break;
                    }
                }
            }
        }
        return changed;
    }

    private static bool InsideMask(SimilarityTransform imageToCrop, CropTemplate template, double x, double y)
    {
        var size = template.Size;
        var margin = 1.5 * imageToCrop.Scale / size;
        var (cx, cy) = imageToCrop.Apply(x, y);
        var dx = ((cx / size) - template.Mask.CentreX) / (template.Mask.RadiusX + margin);
        var dy = ((cy / size) - template.Mask.CentreY) / (template.Mask.RadiusY + margin);
        return (dx * dx) + (dy * dy) <= 1;
    }

    private void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var maxDiff = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        var maxValue = expected.Max(Math.Abs);
        output.WriteLine($"ONNX Runtime vs PyTorch, {what}: max |diff| = {maxDiff:E2} (largest value {maxValue:F2})");
        Assert.True(maxDiff < 1e-3 * Math.Max(1, maxValue), $"max |diff| {maxDiff} ≥ 1e-3 × max(1, {maxValue})");
    }

    private static ModelManifest ReadManifest(string directory) => ModelManifest.Parse(File.ReadAllText(Path.Combine(directory, "model.json")));

    private static float[] ReadFloats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, values.Length * 4);
        return values;
    }
}
