using AgingPipeline.Contracts;
using AgingPipeline.Imaging;
using AgingPipeline.Inference;
using AgingPipeline.Processing;
using AgingPipeline.UnitTests.Imaging;
using Xunit.Abstractions;

namespace AgingPipeline.UnitTests.ShippedModels;

/// <summary>The models committed in <c>models/</c>: valid manifests, loadable from C#, and an ager that really ages
/// (judged by the independent age estimator on held-out characters it never saw in training).</summary>
public sealed class ShippedModelTests(ITestOutputHelper output)
{
    /// <summary>Mean absolute change, on the 0–255 scale and averaged over the samples, that ageing a 30-year-old to
    /// 80 must make at least (each sample must change by more than 1). An identity model makes 0; the shipped model
    /// makes 6–23 (see MODEL_CARD.md).</summary>
    private const double MinimumMeanChange = 4.0;

    /// <summary>Years by which the estimate of "aged to 80" must exceed the estimate of "aged to 10".</summary>
    private const double MinimumAgeSpread = 30.0;

    /// <summary>The shipped version of the ager (its folder name under <c>models/character-ager/</c>).</summary>
    private const string AgerVersion = "3";

    /// <summary>The shipped version of the age estimator (its folder name under <c>models/age-estimator/</c>).</summary>
    private const string EstimatorVersion = "2";

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
        Assert.True(File.Exists(Path.Combine(TestPaths.RepositoryRoot, "models", name, version, "MODEL_CARD.md")) || name != "character-ager");
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

        Assert.Equal(expected.Length, actual.Length);
        var maxDiff = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        output.WriteLine($"ONNX Runtime vs PyTorch, {batch} held-out images: max |diff| = {maxDiff:E2}");
        Assert.True(maxDiff < 1e-3, $"max |diff| {maxDiff} ≥ 1e-3");
    }

    [Fact]
    public async Task Ageing_to_80_is_judged_older_than_ageing_to_10_and_changes_the_image()
    {
        // The real whole-frame path (the estimator judges whole frames): shrink-on-load decode, model, residual
        // upsampled onto the full-resolution input, encode.
        var imaging = new ImagingOptions();
        var decoder = new ImageDecoder(imaging);
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
        var estimator = repository.Get("age-estimator").Estimator!;
        var samples = Directory.GetFiles(Path.Combine(TestPaths.RepositoryRoot, "tests", "fixtures", "heldout"), "*_age30.png");
        Assert.NotEmpty(samples);

        var spreads = new List<double>();
        var changes = new List<double>();
        foreach (var sample in samples)
        {
            var bytes = File.ReadAllBytes(sample);
            var result = await ager.AgeAsync(bytes, [10, 80], model, AgingRegion.Whole);
            Assert.All(result.Outputs, o => Assert.Equal((result.Input.Width, result.Input.Height), (o.Image.Width, o.Image.Height)));

            var input = Pack(decoder, bytes, estimator);
            var young = Pack(decoder, result.Outputs[0].Image.Content, estimator);
            var old = Pack(decoder, result.Outputs[1].Image.Content, estimator);
            var estimates = await estimator.EstimateAsync(young.Concat(old).ToArray(), 2);
            var change = old.Zip(input, (o, i) => Math.Abs(o - i)).Average() * 127.5;
            output.WriteLine($"{Path.GetFileName(sample)}: estimated {estimates[0]:F1} y at target 10, {estimates[1]:F1} y at target 80; mean change to 80 = {change:F1}/255");
            Assert.True(change > 1.0, $"{sample}: ageing to 80 left the image almost as it was ({change:F2}/255)");
            changes.Add(change);
            spreads.Add(estimates[1] - estimates[0]);
        }
        Assert.True(changes.Average() > MinimumMeanChange, $"ageing to 80 changed the images by only {changes.Average():F2}/255 on average");
        Assert.True(spreads.Average() >= MinimumAgeSpread, $"mean estimated spread {spreads.Average():F1} years < {MinimumAgeSpread}");
    }

    private static float[] Pack(ImageDecoder decoder, byte[] image, AgeEstimator estimator)
    {
        var tensor = new float[estimator.ImageLength];
        decoder.DecodeForModel(image, estimator.Width, estimator.Height, tensor);
        return tensor;
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
