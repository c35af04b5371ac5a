using AgingPipeline.Contracts;
using AgingPipeline.Inference;
using AgingPipeline.Inference.Faces;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgingPipeline.UnitTests.Faces;

public sealed class FaceDetectorManifestTests
{
    private static readonly ModelManifest s_good = FaceFixtures.Manifest;

    [Fact]
    public void The_shipped_manifest_validates_and_every_network_file_matches_its_hash()
    {
        Assert.Empty(ModelManifestValidator.Validate(s_good, "face-detector", FaceFixtures.DetectorVersion));
        Assert.Equal(["full-range", "short-range"], s_good.Networks!.Select(n => n.Name));
        foreach (var network in s_good.Networks!)
        {
            Assert.Null(ModelManifestValidator.ValidateSha256(new ModelManifest { Sha256 = network.Sha256 }, Path.Combine(FaceFixtures.DetectorDirectory, network.File!)));
        }
        Assert.True(File.Exists(Path.Combine(FaceFixtures.DetectorDirectory, "LICENSE")), "Apache-2.0 needs its text shipped");
        Assert.True(File.Exists(Path.Combine(FaceFixtures.DetectorDirectory, "NOTICE")), "Apache-2.0 §4: modified files need a notice");
        Assert.True(File.Exists(Path.Combine(FaceFixtures.DetectorDirectory, "MODEL_CARD.md")));
    }

    [Fact]
    public void A_detector_trained_here_needs_no_source_and_its_opset_17_export_is_accepted()
    {
        var ours = s_good with { Name = "character-face-detector", Source = null, Networks = [s_good.Networks![1] with { Opset = 17 }] };

        Assert.Empty(ModelManifestValidator.Validate(ours, "character-face-detector", FaceFixtures.DetectorVersion));
    }

    public static TheoryData<string, Func<ModelManifest, ModelManifest>, string> BadCases => new()
    {
        { "no networks", m => m with { Networks = [] }, "networks is missing" },
        { "top-level file", m => m with { File = "model.onnx" }, "per network (networks[i]), not at the top level" },
        { "output", m => m with { Output = new ModelOutputSpec { Name = "x", Kind = "image" } }, "has no output section" },
        { "conditions", m => m with { Conditions = [new ModelConditionSpec { Name = "a" }] }, "takes no conditions" },
        { "opset", m => WithNetwork(m, n => n with { Opset = 11 }), "networks[0].opset 11 is below the minimum 12" },
        { "layout", m => WithNetwork(m, n => n with { Input = n.Input! with { Layout = "NCHW" } }), "networks[0].input.layout 'NCHW' is not supported" },
        { "not square", m => WithNetwork(m, n => n with { Input = n.Input! with { Height = 128 } }), "must be square" },
        { "range", m => WithNetwork(m, n => n with { Input = n.Input! with { Range = [0.0, 1.0] } }), "networks[0].input.range must be [-1.0, 1.0]" },
        { "sha", m => WithNetwork(m, n => n with { Sha256 = "abc" }), "networks[0].sha256 must be 64 hexadecimal digits" },
        { "file", m => WithNetwork(m, n => n with { File = "../x.onnx" }), "networks[0].file '../x.onnx' must be a plain file name" },
        { "same file", m => WithNetwork(m, n => n with { File = m.Networks![1].File }), "is used by two networks" },
        { "same name", m => WithNetwork(m, n => n with { Name = "short-range" }), "networks[1].name 'short-range' is used twice" },
        { "no layers", m => WithNetwork(m, n => n with { Layers = [] }), "networks[0].layers is missing" },
        { "cells", m => WithNetwork(m, n => n with { Layers = [n.Layers![0] with { Cells = 0 }, n.Layers[1]] }), "networks[0].layers[0].cells 0 must be from 1 to 256" },
        { "output twice", m => WithNetwork(m, n => n with { Layers = [n.Layers![0] with { Regressors = n.Layers[0].Scores }, n.Layers[1]] }), "networks[0].layers[0].regressors 'Identity:0' is used twice" },
        { "scale", m => WithNetwork(m, n => n with { RegressorScale = 0 }), "networks[0].regressorScale must be a positive number" },
        { "min score", m => m with { Detection = m.Detection! with { MinScore = 1.5 } }, "detection.minScore must be a number in (0, 1)" },
        { "iou", m => m with { Detection = m.Detection! with { NmsIou = null } }, "detection.nmsIou must be a number in (0, 1]" },
        { "keypoints", m => m with { Detection = m.Detection! with { Keypoints = ["left-eye", "right-eye", "nose", "mouth", "left-ear", "right-ear"] } }, "detection.keypoints must be [\"right-eye\"" },
        { "pad", m => m with { PadValue = 300 }, "padValue 300 must be from 0 to 255" },
        { "source", m => m with { Source = m.Source! with { Upstream = " " } }, "source.package and source.upstream are required when source is given" },
        { "licence", m => m with { Licence = null }, "licence is missing" },
        { "max batch", m => m with { MaxBatch = 0 }, "maxBatch 0 must be from 1" },
    };

    [Theory]
    [MemberData(nameof(BadCases))]
    public void A_broken_manifest_is_refused_with_a_message_naming_the_field(string label, Func<ModelManifest, ModelManifest> breakIt, string expected)
    {
        var errors = ModelManifestValidator.Validate(breakIt(s_good), "face-detector", FaceFixtures.DetectorVersion);

        Assert.True(errors.Any(e => e.Contains(expected, StringComparison.Ordinal)), $"{label}: expected '{expected}' in: {string.Join(" | ", errors)}");
    }

    [Fact]
    public void A_graph_that_does_not_match_its_declaration_is_refused_with_every_mismatch()
    {
        var network = s_good.Networks![1];
        TensorSignature[] inputs = [new("input:0", typeof(float), [1, 128, 128, 3]), new("extra", typeof(float), [-1, 1])];
        TensorSignature[] outputs =
        [
            new("Identity:0", typeof(float), [-1, 512, 1]),
            new("Identity_1:0", typeof(float), [-1, 384, 1]),
            new("Identity_2:0", typeof(float), [-1, 512, 16]),
        ];

        var errors = ModelManifestValidator.ValidateNetworkGraph(network, inputs, outputs);

        Assert.Contains(errors, e => e.Contains("network 'short-range': input 'input:0' has a fixed batch axis", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("has input 'extra' that the manifest does not declare", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("no regressors output named 'Identity_3:0'", StringComparison.Ordinal));
        Assert.Equal(3, errors.Count);
    }

    [Fact]
    public async Task The_repository_serves_the_detector_with_one_batcher_per_network()
    {
        await using var repository = new ModelRepository(Options(FaceFixtures.DetectorDirectory, out var root));
        try
        {
            await repository.ScanAsync();

            Assert.True(repository.Entries.All(e => e.IsServed), string.Join(" ", repository.Entries.SelectMany(e => e.Problems)));
            var served = repository.Get("face-detector");
            Assert.Equal(ModelKinds.FaceDetector, served.Kind);
            Assert.Null(served.Ager);
            Assert.Null(served.Estimator);
            var detector = Assert.IsType<FaceDetector>(served.Detector);
            Assert.Equal([256, 128], detector.Networks.Select(n => n.Side));
            Assert.Same(detector.Networks[0].Batcher, served.Batcher);
            Assert.NotSame(detector.Networks[0].Batcher, detector.Networks[1].Batcher);
            var output = await detector.Networks[1].Batcher.InferAsync(new float[128 * 128 * 3], ReadOnlyMemory<float>.Empty);
            Assert.Equal(896 * 17, output.Length);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_network_file_that_does_not_match_its_hash_keeps_the_version_out_of_service_with_the_reason()
    {
        await using var repository = new ModelRepository(Options(FaceFixtures.DetectorDirectory, out var root));
        try
        {
            var file = Path.Combine(root, "face-detector", "1", "face_detection_short_range.onnx");
            var bytes = File.ReadAllBytes(file);
            bytes[^1] ^= 0xFF;
            File.WriteAllBytes(file, bytes);

            await repository.ScanAsync();

            Assert.False(repository.TryGet("face-detector", null, out _));
            var entry = Assert.Single(repository.Entries);
            Assert.False(entry.IsServed);
            Assert.Equal(ModelKinds.FaceDetector, entry.Kind);
            Assert.Contains(entry.Problems, p => p.Contains("sha256 of 'face_detection_short_range.onnx'", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Loading_the_detector_refuses_a_manifest_of_another_kind()
    {
        var manifest = s_good with { Kind = ModelKinds.AgeEstimator };

        var e = Assert.Throws<PipelineException>(() => FaceDetector.Load(
            FaceFixtures.DetectorDirectory, manifest, new InferenceOptions(), m => throw new InvalidOperationException(), NullLogger.Instance));

        Assert.Equal(PipelineErrorCode.InvalidModel, e.Code);
    }

    private static ModelManifest WithNetwork(ModelManifest m, Func<ModelNetworkSpec, ModelNetworkSpec> change) =>
        m with { Networks = [change(m.Networks![0]), .. m.Networks.Skip(1)] };

    private static InferenceOptions Options(string versionDirectory, out string root)
    {
        root = Path.Combine(Path.GetTempPath(), "faces-" + Guid.NewGuid().ToString("N"));
        var target = Path.Combine(root, "face-detector", "1");
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(versionDirectory))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
        return new InferenceOptions
        {
            ModelRoot = root,
            DefaultModel = "face-detector",
            IntraOpThreads = 1,
            InterOpThreads = 1,
            RescanInterval = TimeSpan.Zero,
        };
    }
}
