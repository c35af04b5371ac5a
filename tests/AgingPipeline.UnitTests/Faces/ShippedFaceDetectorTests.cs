using AgingPipeline.Contracts;
using AgingPipeline.Imaging;
using AgingPipeline.Imaging.Faces;
using AgingPipeline.Inference;
using AgingPipeline.Processing;
using Xunit.Abstractions;

namespace AgingPipeline.UnitTests.Faces;

/// <summary>The shipped BlazeFace networks through ONNX Runtime in C#, against what <c>training/blazeface.py</c> computed
/// with its torch interpreter and numpy decoder.</summary>
public sealed class ShippedFaceDetectorTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>Full path (libvips letterbox + ORT + C# decoder) against the Python path (Pillow letterbox + torch +
    /// numpy), in image pixels. The two resamplers differ a little, which moves the regressions a little.</summary>
    private const float PixelTolerance = 1.5f;

    private ModelRepository _repository = null!;

    public async Task InitializeAsync()
    {
        _repository = new ModelRepository(new InferenceOptions
        {
            ModelRoot = Path.Combine(RepoPaths.Root, "models"),
            DefaultModel = "face-detector",
            IntraOpThreads = 2,
            InterOpThreads = 1,
            RescanInterval = TimeSpan.Zero,
        });
        await _repository.ScanAsync();
    }

    public async Task DisposeAsync() => await _repository.DisposeAsync();

    [Theory]
    [MemberData(nameof(FaceFixtures.ImageNetworks), MemberType = typeof(FaceFixtures))]
    public async Task Onnx_runtime_in_csharp_computes_what_the_torch_interpreter_computed(string image, string network)
    {
        var files = FaceFixtures.Network(image, network).GetProperty("files").GetString()!;
        var net = _repository.Get("face-detector").Detector!.Networks.Single(n => n.Name == network);
        var input = ReadLetterboxedInput(files + ".input.png", net.Side);
        var expectedScores = FaceFixtures.ReadFloats(files + ".scores.f32");
        var expectedRegressors = FaceFixtures.ReadFloats(files + ".regressors.f32");

        var actual = await net.Batcher.InferAsync(input, ReadOnlyMemory<float>.Empty);

        float[] expected = [.. expectedScores, .. expectedRegressors];
        Assert.Equal(expected.Length, actual.Length);
        var maxDiff = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        var maxValue = expected.Max(Math.Abs);
        output.WriteLine($"{image} {network}: max |ORT − torch| = {maxDiff:E2} (largest value {maxValue:F1})");
        var worstRelative = expected.Zip(actual, (e, a) => Math.Abs(e - a) / (1e-3f + 2e-6f * Math.Abs(e))).Max();
        Assert.True(worstRelative < 1f, $"max |diff| {maxDiff} exceeds 1e-3 + 2e-6 × |value|");
    }

    [Fact]
    public void A_batch_of_three_gives_each_image_what_it_gets_alone()
    {
        var net = _repository.Get("face-detector").Detector!.Networks[0];
        var images = FaceFixtures.Expected.GetProperty("images").EnumerateArray()
            .Select(i => ReadLetterboxedInput(FaceFixtures.Network(i.GetProperty("image").GetString()!, net.Name).GetProperty("files").GetString() + ".input.png", net.Side))
            .ToList();
        Assert.Equal(3, images.Count);

        var batch = net.Run(images.SelectMany(i => i).ToArray(), ReadOnlyMemory<float>.Empty, 3);

        var worst = 0f;
        for (var i = 0; i < 3; i++)
        {
            var single = net.Run(images[i], ReadOnlyMemory<float>.Empty, 1);
            worst = Math.Max(worst, single.Zip(batch.AsSpan(i * net.OutputLength, net.OutputLength).ToArray(), (a, b) => Math.Abs(a - b)).Max());
        }
        output.WriteLine($"batch of 3 vs one at a time: max |diff| = {worst:E2}");
        Assert.True(worst < 1e-4f, $"batched outputs differ by {worst}");
    }

    [Theory]
    [MemberData(nameof(FaceFixtures.ImageNetworks), MemberType = typeof(FaceFixtures))]
    public void The_letterbox_matches_the_python_one_in_geometry_and_closely_in_values(string image, string network)
    {
        var expected = FaceFixtures.Network(image, network);
        var box = expected.GetProperty("letterbox");
        var size = box.GetProperty("size").GetInt32();
        using var decoded = Decode(image);
        var tensor = new float[size * size * 3];

        var actual = DetectorInput.Letterbox(decoded, size, FaceFixtures.Manifest.PadValue!.Value, tensor);

        Assert.Equal(size, actual.Size);
        Assert.Equal(box.GetProperty("scaleX").GetDouble(), actual.ScaleX, 6);
        Assert.Equal(box.GetProperty("scaleY").GetDouble(), actual.ScaleY, 6);
        Assert.Equal(box.GetProperty("offsetX").GetDouble(), actual.OffsetX);
        Assert.Equal(box.GetProperty("offsetY").GetDouble(), actual.OffsetY);
        var python = ReadLetterboxedInput(expected.GetProperty("files").GetString() + ".input.png", size);
        var meanDiff = python.Zip(tensor, (p, c) => Math.Abs(p - c)).Average() * 127.5;
        output.WriteLine($"{image} {network}: mean |libvips − Pillow| = {meanDiff:F2}/255");
        // Downscaling is Lanczos-3 in both; libvips upsizes with bicubic interpolation where Pillow uses Lanczos, so
        // an enlarged picture (Hopper, 128² → 256²) differs more (5.2/255) while its faces still agree within 0.3 px.
        var tolerance = actual.ScaleX > 1 ? 6.0 : 0.5;
        Assert.True(meanDiff < tolerance, $"the letterboxed inputs differ by {meanDiff:F2}/255 on average");
        if (actual.OffsetX > 0 || actual.OffsetY > 0)
        {
            Assert.Equal(128 / 127.5f - 1, tensor[0], 6); // the corner is padding: grey 128
        }
    }

    [Theory]
    [MemberData(nameof(FaceFixtures.Images), MemberType = typeof(FaceFixtures))]
    public async Task The_face_finder_reproduces_the_python_faces_in_image_pixels(string image)
    {
        using var decoded = Decode(image);
        var finder = new FaceFinder(_repository, Microsoft.Extensions.Options.Options.Create(new FaceOptions()));
        var expected = FaceFixtures.Image(image).GetProperty("faces").EnumerateArray().ToList();

        var faces = await finder.FindAsync(decoded);

        Assert.NotEmpty(expected);
        Assert.Equal(expected.Count, faces.Count);
        var worst = 0f;
        for (var i = 0; i < faces.Count; i++)
        {
            var e = expected[i];
            var f = faces[i];
            var box = FaceFixtures.Floats(e.GetProperty("box"));
            var k = e.GetProperty("keypoints");
            float[] wanted = [box[0], box[1], box[2], box[3], .. Point(k, "left_eye"), .. Point(k, "right_eye"), .. Point(k, "nose"), .. Point(k, "mouth"), .. Point(k, "left_ear"), .. Point(k, "right_ear")];
            float[] got = [f.Box.X, f.Box.Y, f.Box.Width, f.Box.Height, f.LeftEye.X, f.LeftEye.Y, f.RightEye.X, f.RightEye.Y, f.Nose.X, f.Nose.Y, f.Mouth.X, f.Mouth.Y, f.LeftEar.X, f.LeftEar.Y, f.RightEar.X, f.RightEar.Y];
            worst = Math.Max(worst, wanted.Zip(got, (a, b) => Math.Abs(a - b)).Max());
            Assert.Equal(e.GetProperty("score").GetSingle(), f.Score, 1);
            Assert.True(f.LeftEye.X < f.RightEye.X, "the picture's left eye must be left of the right one");
            Assert.True(f.Mouth.Y > f.LeftEye.Y && f.Mouth.Y > f.RightEye.Y, "the mouth must be below the eyes");
            Assert.StartsWith("face-detector/1:", f.Detector, StringComparison.Ordinal);
            output.WriteLine($"{image}: score {f.Score:F3} ({f.Detector}), box ({f.Box.X:F1}, {f.Box.Y:F1}, {f.Box.Width:F1} × {f.Box.Height:F1}), eyes ({f.LeftEye.X:F1}, {f.LeftEye.Y:F1}) ({f.RightEye.X:F1}, {f.RightEye.Y:F1})");
        }
        output.WriteLine($"{image}: max |C# − Python| = {worst:F2} px");
        Assert.True(worst < PixelTolerance, $"{image}: faces differ from Python's by up to {worst:F2} px");
    }

    [Fact]
    public async Task Faces_are_sorted_by_score_and_capped_at_max_faces()
    {
        using var decoded = Decode("two-characters.png");
        var all = await new FaceFinder(_repository, Microsoft.Extensions.Options.Options.Create(new FaceOptions())).FindAsync(decoded);
        var one = await new FaceFinder(_repository, Microsoft.Extensions.Options.Options.Create(new FaceOptions { MaxFaces = 1 })).FindAsync(decoded);

        Assert.Equal(2, all.Count);
        Assert.True(all[0].Score >= all[1].Score);
        Assert.True(all[0].Box.X < 272 != all[1].Box.X < 272, "one face per character");
        Assert.Equal(all[0], Assert.Single(one));
    }

    [Fact]
    public async Task The_first_listed_detector_that_is_served_is_used_and_a_missing_one_is_skipped()
    {
        using var decoded = Decode("hopper.png");
        var finder = new FaceFinder(_repository, Microsoft.Extensions.Options.Options.Create(new FaceOptions { Detectors = ["stylised-faces", "face-detector"] }));

        var face = Assert.Single(await finder.FindAsync(decoded));

        Assert.StartsWith("face-detector/1:", face.Detector, StringComparison.Ordinal);
    }

    [Fact]
    public async Task When_no_listed_detector_is_served_the_finder_says_so_instead_of_reporting_no_face()
    {
        using var decoded = Decode("hopper.png");
        var finder = new FaceFinder(_repository, Microsoft.Extensions.Options.Options.Create(new FaceOptions { Detectors = ["stylised-faces"] }));

        var e = await Assert.ThrowsAsync<PipelineException>(() => finder.FindAsync(decoded));

        Assert.Equal(PipelineErrorCode.ModelNotFound, e.Code);
        Assert.Contains("stylised-faces", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plain_grey_picture_has_no_face()
    {
        var finder = new FaceFinder(_repository, Microsoft.Extensions.Options.Options.Create(new FaceOptions()));
        using var black = NetVips.Image.Black(200, 120, bands: 3);
        using var grey = (black + 128).Cast(NetVips.Enums.BandFormat.Uchar);
        using var decoded = new ImageDecoder(new ImagingOptions()).Decode(grey.PngsaveBuffer());

        Assert.Empty(await finder.FindAsync(decoded));
    }

    private static DecodedImage Decode(string image) =>
        new ImageDecoder(new ImagingOptions()).Decode(File.ReadAllBytes(Path.Combine(FaceFixtures.Directory, image)));

    private static float[] ReadLetterboxedInput(string fileName, int size)
    {
        using var decoded = new ImageDecoder(new ImagingOptions()).Decode(File.ReadAllBytes(Path.Combine(FaceFixtures.Directory, fileName)));
        Assert.Equal((size, size, 3), (decoded.Width, decoded.Height, decoded.Bands));
        return [.. decoded.ToInterleavedBytes().Select(v => v / 127.5f - 1f)];
    }

    private static float[] Point(System.Text.Json.JsonElement keypoints, string name) => FaceFixtures.Floats(keypoints.GetProperty(name));
}
