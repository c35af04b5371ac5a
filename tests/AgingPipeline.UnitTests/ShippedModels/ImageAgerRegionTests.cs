using AgingPipeline.Contracts;
using AgingPipeline.Imaging;
using AgingPipeline.Inference;
using AgingPipeline.Processing;
using AgingPipeline.UnitTests.Imaging;

namespace AgingPipeline.UnitTests.ShippedModels;

/// <summary><see cref="ImageAger"/> under each region mode, with the shipped face detector and ager (which has a
/// crop template) and with the test ager (which has none): which part is aged, what the result says, and the typed
/// failures.</summary>
public sealed class ImageAgerRegionTests : IAsyncLifetime
{
    private readonly ImagingOptions _imaging = new();
    private ModelRepository _shipped = null!;
    private ModelRepository _testModels = null!;

    public async Task InitializeAsync()
    {
        _shipped = await OpenAsync(Path.Combine(TestPaths.RepositoryRoot, "models"), "character-ager");
        _testModels = await OpenAsync(TestPaths.FixtureModels, "test-ager");
    }

    public async Task DisposeAsync()
    {
        await _shipped.DisposeAsync();
        await _testModels.DisposeAsync();
    }

    [Fact]
    public async Task A_picture_without_a_face_is_aged_whole_under_auto_fails_under_faces_and_is_aged_whole_under_whole()
    {
        var ager = ImageAger.Create(_imaging, _shipped);
        var model = _shipped.Get("character-ager");
        using var sky = TestImages.Gradient(320, 240);
        var input = TestImages.Png(sky);

        var auto = await ager.AgeAsync(input, [70], model, AgingRegion.Auto);
        Assert.Equal(RegionOutcome.WholeFrameApplied, auto.Region.Applied);
        Assert.Equal(AgingRegion.Auto, auto.Region.Requested);
        Assert.Empty(auto.Region.Faces);
        Assert.Contains("No face was found", auto.Region.Reason, StringComparison.Ordinal);

        var failure = await Assert.ThrowsAsync<PipelineException>(() => ager.AgeAsync(input, [70], model, AgingRegion.Faces));
        Assert.Equal(PipelineErrorCode.NoFaceFound, failure.Code);
        Assert.Contains("region=faces", failure.Message, StringComparison.Ordinal);

        var whole = await ager.AgeAsync(input, [70], model, AgingRegion.Whole);
        Assert.Equal(RegionOutcome.WholeFrameApplied, whole.Region.Applied);
        Assert.Contains("asked for", whole.Region.Reason, StringComparison.Ordinal);
        // Both whole-frame paths are the same computation.
        Assert.Equal(auto.Outputs[0].Image.Content, whole.Outputs[0].Image.Content);
    }

    [Fact]
    public async Task A_character_is_aged_through_its_face_under_auto_and_faces_and_through_the_whole_frame_under_whole()
    {
        var ager = ImageAger.Create(_imaging, _shipped);
        var model = _shipped.Get("character-ager");
        var input = File.ReadAllBytes(Path.Combine(TestPaths.RepositoryRoot, "tests", "fixtures", "faces", "character.png"));

        var auto = await ager.AgeAsync(input, [20, 70], model, AgingRegion.Auto);
        var faces = await ager.AgeAsync(input, [20, 70], model, AgingRegion.Faces);
        var whole = await ager.AgeAsync(input, [20, 70], model, AgingRegion.Whole);

        var face = Assert.Single(auto.Region.Faces);
        Assert.Equal(RegionOutcome.FacesApplied, auto.Region.Applied);
        Assert.Null(auto.Region.Reason);
        Assert.True(face.Score >= 0.5f);
        Assert.True(face.LeftEye.X < face.RightEye.X && face.Mouth.Y > face.LeftEye.Y, $"keypoints: {face}");
        Assert.Equal(RegionOutcome.FacesApplied, faces.Region.Applied);
        Assert.Equal(auto.Outputs[1].Image.Content, faces.Outputs[1].Image.Content);
        Assert.Equal(RegionOutcome.WholeFrameApplied, whole.Region.Applied);

        // The face path changes the head and leaves the corners alone; the whole-frame path changes the corners too.
        using var original = TestImages.Load(input);
        using var viaFace = TestImages.Load(auto.Outputs[1].Image.Content);
        using var viaWhole = TestImages.Load(whole.Outputs[1].Image.Content);
        Assert.Equal(0.0, CornerChange(original, viaFace));
        Assert.True(CornerChange(original, viaWhole) > 0, "the whole-frame path left the corners unchanged");
        var box = face.Box;
        Assert.True(MeanChange(original, viaFace, (int)box.X, (int)box.Y, (int)box.Width, (int)box.Height) > 1.0);
    }

    [Fact]
    public async Task An_ager_without_a_crop_template_ages_the_whole_frame_under_auto_and_refuses_faces_only()
    {
        var ager = ImageAger.Create(_imaging, _testModels);
        var model = _testModels.Get("test-ager");
        Assert.Null(model.Ager!.Manifest.Crop);
        var input = File.ReadAllBytes(Path.Combine(TestPaths.RepositoryRoot, "tests", "fixtures", "faces", "character.png"));

        var auto = await ager.AgeAsync(input, [40], model, AgingRegion.Auto);
        Assert.Equal(RegionOutcome.WholeFrameApplied, auto.Region.Applied);
        Assert.Contains("no head-crop template", auto.Region.Reason, StringComparison.Ordinal);

        var failure = await Assert.ThrowsAsync<PipelineException>(() => ager.AgeAsync(input, [40], model, AgingRegion.Faces));
        Assert.Equal(PipelineErrorCode.InvalidRequest, failure.Code);
    }

    private static async Task<ModelRepository> OpenAsync(string root, string defaultModel)
    {
        var repository = new ModelRepository(new InferenceOptions
        {
            ModelRoot = root,
            DefaultModel = defaultModel,
            IntraOpThreads = 2,
            InterOpThreads = 1,
            RescanInterval = TimeSpan.Zero,
        });
        await repository.ScanAsync();
        return repository;
    }

    private static double CornerChange(NetVips.Image a, NetVips.Image b) =>
        new[] { (0, 0), (a.Width - 12, 0), (0, a.Height - 12), (a.Width - 12, a.Height - 12) }
            .Max(c => MeanChange(a, b, c.Item1, c.Item2, 12, 12));

    private static double MeanChange(NetVips.Image a, NetVips.Image b, int left, int top, int width, int height)
    {
        left = Math.Max(0, left);
        top = Math.Max(0, top);
        width = Math.Min(width, a.Width - left);
        height = Math.Min(height, a.Height - top);
        using var x = a.ExtractBand(0, 3).ExtractArea(left, top, width, height).Cast(NetVips.Enums.BandFormat.Float);
        using var y = b.ExtractBand(0, 3).ExtractArea(left, top, width, height).Cast(NetVips.Enums.BandFormat.Float);
        using var difference = (x - y).Abs();
        return difference.Avg();
    }
}
