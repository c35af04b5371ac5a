using AgingPipeline.Contracts;
using AgingPipeline.Inference;

namespace AgingPipeline.UnitTests.Inference;

public sealed class ModelRepositoryTests
{
    [Fact]
    public async Task Serves_every_valid_version_and_the_newest_by_default()
    {
        using var root = new TempDirectory();
        ModelFixtures.CopyVersion(ModelFixtures.AgerDirectory, root.Path, "test-ager", "1");
        ModelFixtures.CopyVersion(ModelFixtures.AgerDirectory, root.Path, "test-ager", "2");
        ModelFixtures.CopyVersion(ModelFixtures.EstimatorDirectory, root.Path, "test-estimator", "1");
        await using var repository = new ModelRepository(ModelFixtures.Options(root.Path));

        Assert.False(repository.IsReady());
        await repository.ScanAsync();

        Assert.True(repository.IsReady());
        Assert.Equal(["test-ager/1", "test-ager/2", "test-estimator/1"], repository.Models.Select(m => $"{m.Name}/{m.Version}"));
        Assert.Equal("2", repository.Get("test-ager").Version);
        Assert.Equal("2", repository.Get(null).Version);
        Assert.True(repository.TryGet("test-ager", "1", out var v1));
        Assert.NotNull(v1.Ager);
        Assert.Null(v1.Estimator);
        Assert.NotNull(repository.Get("test-estimator").Estimator);
        Assert.All(repository.Entries, e => Assert.True(e.IsServed));
    }

    [Fact]
    public async Task Skips_invalid_versions_with_their_reasons_and_serves_the_rest()
    {
        using var root = new TempDirectory();
        ModelFixtures.CopyVersion(ModelFixtures.AgerDirectory, root.Path, "test-ager", "1");
        ModelFixtures.CopyVersion(ModelFixtures.AgerDirectory, root.Path, "test-ager", "2", m => m with { Name = "other", Licence = null });
        ModelFixtures.CopyVersion(ModelFixtures.AgerDirectory, root.Path, "test-ager", "latest");
        Directory.CreateDirectory(Path.Combine(root.Path, "Bad_Name", "1"));
        await using var repository = new ModelRepository(ModelFixtures.Options(root.Path));

        await repository.ScanAsync();

        Assert.Equal("1", repository.Get("test-ager").Version);
        var v2 = Assert.Single(repository.Entries, e => e.Version == "2");
        Assert.False(v2.IsServed);
        Assert.Contains("name 'other' does not match its folder 'test-ager'.", v2.Problems);
        Assert.Contains("licence is missing.", v2.Problems);
        var latest = Assert.Single(repository.Entries, e => e.Version == "latest");
        Assert.Contains(latest.Problems, p => p.Contains("not a valid version", StringComparison.Ordinal));
        var badName = Assert.Single(repository.Entries, e => e.Name == "Bad_Name");
        Assert.Contains(badName.Problems, p => p.Contains("not a valid model name", StringComparison.Ordinal));
        Assert.Contains("model.json is missing.", badName.Problems);
    }

    [Fact]
    public async Task A_new_version_appears_on_rescan_and_a_partial_copy_waits_until_complete()
    {
        using var root = new TempDirectory();
        ModelFixtures.CopyVersion(ModelFixtures.AgerDirectory, root.Path, "test-ager", "1");
        await using var repository = new ModelRepository(ModelFixtures.Options(root.Path));
        await repository.ScanAsync();
        Assert.Equal("1", repository.Get("test-ager").Version);

        // Version 2 arrives: manifest first, then half of the model file.
        var v2 = Path.Combine(root.Path, "test-ager", "2");
        Directory.CreateDirectory(v2);
        var modelBytes = File.ReadAllBytes(Path.Combine(ModelFixtures.AgerDirectory, "model.onnx"));
        ModelFixtures.CopyVersion(ModelFixtures.AgerDirectory, root.Path, "test-ager", "2");
        File.WriteAllBytes(Path.Combine(v2, "model.onnx"), modelBytes[..(modelBytes.Length / 2)]);
        await repository.ScanAsync();

        Assert.Equal("1", repository.Get("test-ager").Version);
        var partial = Assert.Single(repository.Entries, e => e.Version == "2");
        Assert.Contains(partial.Problems, p => p.Contains("sha256", StringComparison.Ordinal));

        File.WriteAllBytes(Path.Combine(v2, "model.onnx"), modelBytes);
        await repository.ScanAsync();

        Assert.Equal("2", repository.Get("test-ager").Version);
        Assert.Equal(2, repository.Models.Count);
    }

    [Fact]
    public async Task A_removed_version_is_retired_after_its_queue_drains()
    {
        using var root = new TempDirectory();
        ModelFixtures.CopyVersion(ModelFixtures.AgerDirectory, root.Path, "test-ager", "1");
        var v2 = ModelFixtures.CopyVersion(ModelFixtures.AgerDirectory, root.Path, "test-ager", "2");
        await using var repository = new ModelRepository(ModelFixtures.Options(root.Path));
        await repository.ScanAsync();
        var served = repository.Get("test-ager", "2");
        var changed = 0;
        repository.Changed += (_, _) => changed++;

        Directory.Delete(v2, recursive: true);
        await repository.ScanAsync();

        Assert.Equal("1", repository.Get("test-ager").Version);
        Assert.False(repository.TryGet("test-ager", "2", out _));
        Assert.Equal(1, changed);
        var error = await Assert.ThrowsAsync<PipelineException>(() => served.Batcher.InferAsync(new float[served.Model.ImageLength], new float[1]));
        Assert.Equal(PipelineErrorCode.ModelFailed, error.Code);
    }

    [Fact]
    public async Task Unknown_models_are_reported_with_what_is_served()
    {
        using var root = new TempDirectory();
        ModelFixtures.CopyVersion(ModelFixtures.AgerDirectory, root.Path, "test-ager", "1");
        await using var repository = new ModelRepository(ModelFixtures.Options(root.Path));
        await repository.ScanAsync();

        var missingVersion = Assert.Throws<PipelineException>(() => repository.Get("test-ager", "7"));
        Assert.Equal(PipelineErrorCode.ModelNotFound, missingVersion.Code);
        Assert.Equal("Model 'test-ager' version 7 is not served (served versions: 1).", missingVersion.Message);

        var missingModel = Assert.Throws<PipelineException>(() => repository.Get("photo-ager"));
        Assert.Equal("Model 'photo-ager' is not served (served models: test-ager).", missingModel.Message);
    }

    [Fact]
    public async Task A_missing_root_serves_nothing_without_failing()
    {
        await using var repository = new ModelRepository(ModelFixtures.Options(Path.Combine(Path.GetTempPath(), "no-such-root-" + Guid.NewGuid().ToString("N"))));
        await repository.ScanAsync();
        Assert.Empty(repository.Models);
        Assert.NotNull(repository.LastScan);
        Assert.False(repository.IsReady());
    }

    [Fact]
    public async Task The_served_batcher_runs_the_model()
    {
        using var root = new TempDirectory();
        ModelFixtures.CopyVersion(ModelFixtures.AgerDirectory, root.Path, "test-ager", "1");
        await using var repository = new ModelRepository(ModelFixtures.Options(root.Path));
        await repository.ScanAsync();
        var model = repository.Get("test-ager");

        var residual = await model.Batcher.InferAsync(new float[model.Model.ImageLength], model.Ager!.EncodeConditions(90));

        Assert.All(residual, v => Assert.Equal(0.2f, v, 1e-5f));
    }

    [Fact]
    public void The_default_root_is_the_models_folder_next_to_the_application()
    {
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "models"), new InferenceOptions().ResolveModelRoot());
        Assert.Equal(Path.GetFullPath("/srv/models"), new InferenceOptions { ModelRoot = "/srv/models" }.ResolveModelRoot());
    }
}
