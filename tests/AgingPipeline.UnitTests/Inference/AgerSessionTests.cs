using AgingPipeline.Contracts;
using AgingPipeline.Inference;

namespace AgingPipeline.UnitTests.Inference;

public sealed class AgerSessionTests
{
    private const int ImageLength = 3 * ModelFixtures.Size * ModelFixtures.Size;

    [Fact]
    public async Task Runs_a_batch_with_one_condition_value_per_image()
    {
        using var session = AgerSession.Load(ModelFixtures.AgerDirectory, ModelFixtures.AgerManifest, ModelFixtures.Options());
        Assert.Equal("test-ager/1", session.DisplayName);
        Assert.Equal("CPU", session.ExecutionProvider);
        Assert.Equal((32, 32, ImageLength, 1, ImageLength, 8), (session.Width, session.Height, session.ImageLength, session.ConditionCount, session.OutputLength, session.MaxBatch));

        var images = new float[2 * ImageLength];
        Array.Fill(images, 0.3f);
        float[] conditions = [.. session.EncodeConditions(20), .. session.EncodeConditions(80)];
        Assert.Equal([0.2f, 0.8f], conditions);

        var output = await session.RunAsync(images, conditions, 2);

        // residual = 0.5 × (target_age - 0.5), independent of the image.
        Assert.Equal(2 * ImageLength, output.Length);
        Assert.All(output[..ImageLength], v => Assert.Equal(-0.15f, v, 1e-6f));
        Assert.All(output[ImageLength..], v => Assert.Equal(0.15f, v, 1e-6f));
    }

    [Fact]
    public void Refuses_ages_outside_the_trained_range()
    {
        using var session = AgerSession.Load(ModelFixtures.AgerDirectory, ModelFixtures.AgerManifest, ModelFixtures.Options());
        var error = Assert.Throws<PipelineException>(() => session.EncodeConditions(95));
        Assert.Equal(PipelineErrorCode.InvalidAges, error.Code);
        Assert.Contains("5–90", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cancelled_run_does_not_start()
    {
        using var session = AgerSession.Load(ModelFixtures.AgerDirectory, ModelFixtures.AgerManifest, ModelFixtures.Options());
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => session.RunAsync(new float[ImageLength], new float[1], 1, cancellation.Token));
    }

    [Fact]
    public void Refuses_batches_of_the_wrong_shape()
    {
        using var session = AgerSession.Load(ModelFixtures.AgerDirectory, ModelFixtures.AgerManifest, ModelFixtures.Options());
        Assert.Throws<ArgumentException>(() => session.Run(new float[ImageLength + 1], new float[1], 1));
        Assert.Throws<ArgumentException>(() => session.Run(new float[ImageLength], new float[2], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => session.Run(new float[9 * ImageLength], new float[9], 9));
    }

    [Fact]
    public void A_manifest_that_does_not_match_the_graph_is_an_invalid_model()
    {
        using var root = new TempDirectory();
        var directory = ModelFixtures.CopyVersion(ModelFixtures.AgerDirectory, root.Path, "test-ager", "1",
            m => m with { Input = m.Input! with { Height = 64, Width = 64 }, Output = m.Output! with { Name = "aged" } });

        var error = Assert.Throws<PipelineException>(() => AgerSession.Load(directory, ModelFixtures.ReadManifest(directory), ModelFixtures.Options()));

        Assert.Equal(PipelineErrorCode.InvalidModel, error.Code);
        Assert.Contains("input 'image' has shape [N, 3, 32, 32], the manifest implies [N, 3, 64, 64]", error.Message, StringComparison.Ordinal);
        Assert.Contains("no output named 'aged'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_file_that_does_not_match_its_hash_is_not_loaded()
    {
        using var root = new TempDirectory();
        var directory = ModelFixtures.CopyVersion(ModelFixtures.AgerDirectory, root.Path, "test-ager", "1");
        File.AppendAllText(Path.Combine(directory, "model.onnx"), "tampered");

        var error = Assert.Throws<PipelineException>(() => AgerSession.Load(directory, ModelFixtures.ReadManifest(directory), ModelFixtures.Options()));

        Assert.Equal(PipelineErrorCode.InvalidModel, error.Code);
        Assert.Contains("sha256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_estimator_cannot_be_loaded_as_an_ager()
    {
        var error = Assert.Throws<PipelineException>(() => AgerSession.Load(ModelFixtures.EstimatorDirectory, ModelFixtures.EstimatorManifest, ModelFixtures.Options()));
        Assert.Equal(PipelineErrorCode.InvalidModel, error.Code);
        Assert.Contains("expected 'age-transform'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Cuda_and_tensorrt_fall_back_to_the_cpu_when_the_runtime_has_neither(bool cuda, bool tensorRt)
    {
        var options = ModelFixtures.Options();
        options.UseCuda = cuda;
        options.UseTensorRt = tensorRt;
        using var session = AgerSession.Load(ModelFixtures.AgerDirectory, ModelFixtures.AgerManifest, options);
        Assert.Equal("CPU", session.ExecutionProvider);
    }

    [Fact]
    public async Task The_age_estimator_returns_years_per_image()
    {
        using var estimator = AgeEstimator.Load(ModelFixtures.EstimatorDirectory, ModelFixtures.EstimatorManifest, ModelFixtures.Options());
        var images = new float[2 * ImageLength];
        images.AsSpan(0, ImageLength).Fill(1f);
        images.AsSpan(ImageLength).Fill(-0.5f);

        var ages = await estimator.EstimateAsync(images, 2);

        Assert.Equal(2, ages.Length);
        Assert.Equal(100f, ages[0], 1e-4f);
        Assert.Equal(25f, ages[1], 1e-4f);
    }
}
