using System.Text.Json;
using AgingPipeline.Contracts;
using AgingPipeline.Imaging;
using AgingPipeline.Inference;
using AgingPipeline.Processing;
using AgingPipeline.UnitTests.Inference;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace AgingPipeline.UnitTests.Faces;

/// <summary>The shipped <c>character-face-detector</c> (trained here on renders, training/train_facedet.py) through the
/// pipeline's own path (libvips letterbox, ONNX Runtime, the BlazeFace decoder and weighted NMS, FaceFinder), on the
/// held-out renders of <c>tests/fixtures/faces-stylised</c> with their true keypoints; and the finder's fallback from
/// one served detector that finds nothing to the next.</summary>
/// <remarks>The fixtures (training/eval_detectors.py --fixtures) are, per style family, the first two held-out renders
/// (seeds 4 000 000+, 160² PNGs) in which BlazeFace finds nothing even at score 0.3 (one western cartoon only in the
/// first 1,000 seeds) and the first in which it finds something at 0.7: chosen by BlazeFace's result only, not by the
/// stylised detector's.</remarks>
public sealed class StylisedFaceDetectorTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Name = "character-face-detector";

    /// <summary>Mean distance of the found eyes and mouth from the true ones, in true inter-ocular distances. The
    /// held-out evaluation (MODEL_CARD.md, 450 renders) measures 0.08 mean and 0.06 median, 99 % under 0.25; the
    /// Python path gives 0.02–0.16 on these fixtures.</summary>
    private const double MaxKeypointErrorIod = 0.35;

    private ModelRepository _repository = null!;

    private static string Directory => Path.Combine(RepoPaths.Root, "tests", "fixtures", "faces-stylised");

    public async Task InitializeAsync()
    {
        _repository = new ModelRepository(new InferenceOptions
        {
            ModelRoot = Path.Combine(RepoPaths.Root, "models"),
            DefaultModel = Name,
            IntraOpThreads = 1,
            InterOpThreads = 1,
            RescanInterval = TimeSpan.Zero,
        });
        await _repository.ScanAsync();
    }

    public async Task DisposeAsync() => await _repository.DisposeAsync();

    public static TheoryData<string> Images
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var image in Truth().EnumerateArray())
            {
                data.Add(image.GetProperty("image").GetString()!);
            }
            return data;
        }
    }

    [Fact]
    public void The_shipped_stylised_detector_is_served_as_one_128_network_with_blazeface_short_range_anchors()
    {
        var model = _repository.Get(Name);

        var network = Assert.Single(model.Detector!.Networks);
        Assert.Equal(ModelKinds.FaceDetector, model.Kind);
        Assert.Equal(128, network.Side);
        Assert.Equal(896, network.Decoder.AnchorCount);
        Assert.Null(model.Manifest.Source);
    }

    [Theory]
    [MemberData(nameof(Images))]
    public async Task The_stylised_detector_finds_the_true_eyes_and_mouth_of_a_held_out_render(string image)
    {
        using var decoded = Decode(image);
        var finder = new FaceFinder(_repository, Options.Create(new FaceOptions()));
        var truth = Truth(image);

        var faces = await finder.FindAsync(decoded, _repository.Get(Name));

        var face = Assert.Single(faces);
        var error = KeypointError(face, truth);
        output.WriteLine($"{image}: score {face.Score:F3}, eyes/mouth error {error:F3} IOD ({face.Detector})");
        Assert.StartsWith($"{Name}/1:stylised", face.Detector, StringComparison.Ordinal);
        Assert.True(error < MaxKeypointErrorIod, $"{image}: eyes and mouth are {error:F3} IOD from the true ones");
    }

    [Theory]
    [MemberData(nameof(Images))]
    public async Task The_default_finder_uses_blazeface_where_it_finds_the_face_and_the_stylised_detector_where_it_does_not(string image)
    {
        using var decoded = Decode(image);
        var finder = new FaceFinder(_repository, Options.Create(new FaceOptions()));
        var blazefaceFinds = Truth(image).GetProperty("blazefaceFinds").GetBoolean();

        var byBlazeFace = await finder.FindAsync(decoded, _repository.Get("face-detector"));
        var faces = await finder.FindAsync(decoded);

        Assert.Equal(blazefaceFinds, byBlazeFace.Count > 0);
        if (blazefaceFinds)
        {
            // BlazeFace answers, even where what it finds is wrong (on anime it may report each eye as a face: the
            // fallback is not asked then; see the model card).
            Assert.All(faces, f => Assert.StartsWith("face-detector/1:", f.Detector, StringComparison.Ordinal));
            Assert.Equal(byBlazeFace, faces);
        }
        else
        {
            Assert.StartsWith($"{Name}/1:", Assert.Single(faces).Detector, StringComparison.Ordinal);
        }
        foreach (var face in faces)
        {
            output.WriteLine($"{image}: {face.Detector}, score {face.Score:F3}, error {KeypointError(face, Truth(image)):F3} IOD");
        }
    }

    [Fact]
    public async Task The_stylised_detector_finds_no_face_in_a_plain_or_graded_picture()
    {
        var finder = new FaceFinder(_repository, Options.Create(new FaceOptions()));
        using var sky = TestImages.Gradient(320, 240);
        using var black = NetVips.Image.Black(200, 120, bands: 3);
        using var grey = (black + 128).Cast(NetVips.Enums.BandFormat.Uchar);

        foreach (var picture in new[] { sky, grey })
        {
            using var decoded = new ImageDecoder(new ImagingOptions()).Decode(picture.PngsaveBuffer());
            Assert.Empty(await finder.FindAsync(decoded, _repository.Get(Name)));
        }
    }

    /// <summary>A test double for "served, but finds nothing": BlazeFace's own graphs under another name with its
    /// logits clipped to ±0.1 (scores at most 0.525) and a minimum score of 0.6, so no candidate ever passes.</summary>
    [Fact]
    public async Task A_served_detector_that_finds_nothing_hands_over_to_the_next_listed_one()
    {
        using var root = new TempDirectory();
        var source = Path.Combine(RepoPaths.Root, "models", "face-detector", "1");
        foreach (var name in new[] { "blind-detector", "face-detector" })
        {
            var target = System.IO.Directory.CreateDirectory(Path.Combine(root.Path, name, "1")).FullName;
            foreach (var file in System.IO.Directory.GetFiles(source))
            {
                File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
            }
        }
        var blind = ModelManifest.Parse(File.ReadAllText(Path.Combine(source, "model.json")));
        blind = blind with { Name = "blind-detector", Detection = blind.Detection! with { ScoreClip = 0.1 } };
        File.WriteAllText(Path.Combine(root.Path, "blind-detector", "1", "model.json"), JsonSerializer.Serialize(blind, ModelManifest.SerializerOptions));
        await using var repository = new ModelRepository(new InferenceOptions
        {
            ModelRoot = root.Path,
            DefaultModel = "face-detector",
            IntraOpThreads = 1,
            InterOpThreads = 1,
            RescanInterval = TimeSpan.Zero,
        });
        await repository.ScanAsync();
        using var decoded = new ImageDecoder(new ImagingOptions()).Decode(File.ReadAllBytes(Path.Combine(FaceFixtures.Directory, "hopper.png")));
        var options = new FaceOptions { Detectors = ["blind-detector", "face-detector"], MinScore = 0.6 };
        var finder = new FaceFinder(repository, Options.Create(options));

        var blindFaces = await finder.FindAsync(decoded, repository.Get("blind-detector"));
        var faces = await finder.FindAsync(decoded);
        var onlyBlind = await new FaceFinder(repository, Options.Create(new FaceOptions { Detectors = ["blind-detector"], MinScore = 0.6 })).FindAsync(decoded);

        Assert.Empty(blindFaces);
        var face = Assert.Single(faces);
        Assert.StartsWith("face-detector/1:", face.Detector, StringComparison.Ordinal);
        Assert.Empty(onlyBlind); // served and found nothing: "no face", not ModelNotFound
    }

    private static double KeypointError(DetectedFace face, JsonElement truth)
    {
        var k = truth.GetProperty("keypoints");
        var (left, right, mouth) = (P(k, "leftEye"), P(k, "rightEye"), P(k, "mouth"));
        var iod = Distance(left, right);
        return (Distance(face.LeftEye, left) + Distance(face.RightEye, right) + Distance(face.Mouth, mouth)) / 3 / iod;
    }

    private static Point2 P(JsonElement keypoints, string name)
    {
        var p = keypoints.GetProperty(name);
        return new Point2(p[0].GetSingle(), p[1].GetSingle());
    }

    private static double Distance(Point2 a, Point2 b) => Math.Sqrt(((double)a.X - b.X) * ((double)a.X - b.X) + ((double)a.Y - b.Y) * ((double)a.Y - b.Y));

    private static DecodedImage Decode(string image) =>
        new ImageDecoder(new ImagingOptions()).Decode(File.ReadAllBytes(Path.Combine(Directory, image)));

    private static JsonElement Truth()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "truth.json")));
        return document.RootElement.GetProperty("images").Clone();
    }

    private static JsonElement Truth(string image) =>
        Truth().EnumerateArray().Single(i => i.GetProperty("image").GetString() == image);
}
