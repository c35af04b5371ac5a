using AgingPipeline.Inference;
using AgingPipeline.Inference.Faces;
using Xunit.Abstractions;

namespace AgingPipeline.UnitTests.Faces;

public sealed class BlazeFaceDecoderTests(ITestOutputHelper output)
{
    private static readonly ModelNetworkSpec s_network = new()
    {
        Name = "test",
        RegressorScale = 128,
        Layers =
        [
            new ModelAnchorLayerSpec { Cells = 16, AnchorsPerCell = 2, Scores = "s1", Regressors = "r1" },
            new ModelAnchorLayerSpec { Cells = 8, AnchorsPerCell = 6, Scores = "s2", Regressors = "r2" },
        ],
    };

    [Fact]
    public void Anchors_are_cell_centres_numbered_row_by_row_with_the_anchors_of_a_cell_together()
    {
        var decoder = new BlazeFaceDecoder(s_network, 100);

        Assert.Equal(896, decoder.AnchorCount);
        Assert.Equal(896 * 17, decoder.OutputLength);
        Assert.Equal((1 / 32f, 1 / 32f), decoder.Anchor(0));
        Assert.Equal((1 / 32f, 1 / 32f), decoder.Anchor(1));
        Assert.Equal((3 / 32f, 1 / 32f), decoder.Anchor(2));
        Assert.Equal((1 / 32f, 3 / 32f), decoder.Anchor(32));
        Assert.Equal((1 / 16f, 1 / 16f), decoder.Anchor(512));
        Assert.Equal((1 / 16f, 1 / 16f), decoder.Anchor(517));
        Assert.Equal((3 / 16f, 1 / 16f), decoder.Anchor(518));
        Assert.Equal((15 / 16f, 15 / 16f), decoder.Anchor(895));
    }

    [Fact]
    public void One_confident_anchor_becomes_a_box_and_keypoints_offset_from_its_centre_without_a_vertical_flip()
    {
        var decoder = new BlazeFaceDecoder(s_network, 100);
        var scores = Enumerable.Repeat(-10f, 896).ToArray();
        var regressors = new float[896 * 16];
        const int anchor = 2 * (5 * 16 + 3); // row 5, column 3 of the 16-cell layer
        scores[anchor] = 2f;
        float[] values = [12.8f, -6.4f, 32f, 38.4f, -10, -5, 10, -5, 0, 3, 0, 12, -20, 0, 20, 0];
        values.CopyTo(regressors, anchor * 16);

        var face = Assert.Single(decoder.Decode(scores, regressors, 0.5f, 0.3f));

        Assert.Equal(1 / (1 + MathF.Exp(-2f)), face.Score, 6);
        Assert.Equal(3.5f / 16 + 0.1f, face.CentreX, 6);
        Assert.Equal(5.5f / 16 - 0.05f, face.CentreY, 6);
        Assert.Equal(0.25f, face.Width, 6);
        Assert.Equal(0.3f, face.Height, 6);
        var (eyeX, eyeY) = face.Keypoint(0);
        Assert.Equal(3.5f / 16 - 10 / 128f, eyeX, 6);
        Assert.Equal(5.5f / 16 - 5 / 128f, eyeY, 6);
        Assert.True(face.Keypoint(3).Y > face.Keypoint(0).Y, "a positive y offset must move down the picture");
    }

    [Fact]
    public void Logits_are_clipped_so_extreme_scores_stay_finite_and_below_the_threshold_are_dropped()
    {
        var decoder = new BlazeFaceDecoder(s_network, 100);
        var scores = Enumerable.Repeat(-1e30f, 896).ToArray();
        scores[7] = 1e30f;
        scores[8] = 0.1f; // sigmoid 0.525 < 0.6
        var faces = decoder.Decode(scores, new float[896 * 16], 0.6f, 0.3f);

        var face = Assert.Single(faces);
        Assert.Equal(1f, face.Score);
        Assert.True(float.IsFinite(face.CentreX));
    }

    [Fact]
    public void Weighted_suppression_averages_overlapping_candidates_by_score_and_keeps_the_best_score()
    {
        var a = Candidate(0.50f, 0.50f, 0.20f, 0.9f, "a");
        var b = Candidate(0.52f, 0.50f, 0.20f, 0.6f, "b");   // IoU with a ≈ 0.82
        var c = Candidate(0.90f, 0.90f, 0.10f, 0.7f, "c");   // apart

        var merged = BlazeFaceDecoder.WeightedNonMaximumSuppression([b, c, a], 0.3f);

        Assert.Equal(2, merged.Count);
        Assert.Equal(0.9f, merged[0].Score);
        Assert.Equal("a", merged[0].Network);
        Assert.Equal((0.50f * 0.9f + 0.52f * 0.6f) / 1.5f, merged[0].CentreX, 5);
        Assert.Equal((0.50f * 0.9f + 0.52f * 0.6f) / 1.5f, merged[0].Keypoint(5).X, 5);
        Assert.Equal(0.7f, merged[1].Score);
        Assert.Equal(0.90f, merged[1].CentreX, 6);
    }

    [Fact]
    public void Candidates_overlapping_less_than_the_threshold_stay_apart()
    {
        var a = Candidate(0.50f, 0.50f, 0.20f, 0.9f, "a");
        var b = Candidate(0.65f, 0.50f, 0.20f, 0.8f, "b");   // IoU = 0.05 / 0.35 ≈ 0.14

        Assert.Equal(2, BlazeFaceDecoder.WeightedNonMaximumSuppression([a, b], 0.3f).Count);
        Assert.Single(BlazeFaceDecoder.WeightedNonMaximumSuppression([a, b], 0.1f));
    }

    [Fact]
    public void Mapping_to_the_image_undoes_the_letterbox()
    {
        var candidate = Candidate(0.5f, 0.5f, 0.25f, 0.9f, "a");

        var mapped = candidate.MapToImage(256, 0.5, 0.5, 0, 64);

        Assert.Equal(256f, mapped.CentreX, 4);
        Assert.Equal(128f, mapped.CentreY, 4);
        Assert.Equal(128f, mapped.Width, 4);
        Assert.Equal(128f, mapped.Height, 4);
        Assert.Equal(256f, mapped.Keypoint(2).X, 4);
    }

    [Theory]
    [MemberData(nameof(FaceFixtures.ImageNetworks), MemberType = typeof(FaceFixtures))]
    public void Decoder_reproduces_the_python_detections_from_the_same_raw_outputs(string image, string network)
    {
        var manifest = FaceFixtures.Manifest;
        var expected = FaceFixtures.Network(image, network);
        var files = expected.GetProperty("files").GetString()!;
        var decoder = new BlazeFaceDecoder(FaceFixtures.Spec(network), manifest.Detection!.ScoreClip!.Value);
        var scores = FaceFixtures.ReadFloats(files + ".scores.f32");
        var regressors = FaceFixtures.ReadFloats(files + ".regressors.f32");

        var actual = decoder.Decode(scores, regressors, (float)manifest.Detection.MinScore!.Value, (float)manifest.Detection.NmsIou!.Value);

        var wanted = expected.GetProperty("detections").EnumerateArray().ToList();
        Assert.NotEmpty(wanted);
        Assert.Equal(wanted.Count, actual.Count);
        var worst = 0f;
        for (var i = 0; i < wanted.Count; i++)
        {
            var w = wanted[i];
            float[] geometry =
            [
                .. FaceFixtures.Floats(w.GetProperty("centre")),
                .. FaceFixtures.Floats(w.GetProperty("extent")),
                .. w.GetProperty("keypoints").EnumerateArray().SelectMany(FaceFixtures.Floats),
            ];
            Assert.Equal(w.GetProperty("score").GetSingle(), actual[i].Score, 4);
            for (var k = 0; k < FaceCandidate.GeometryLength; k++)
            {
                worst = Math.Max(worst, Math.Abs(geometry[k] - actual[i].Geometry[k]));
            }
        }
        output.WriteLine($"{image} {network}: {actual.Count} detection(s), max |C# − numpy| = {worst:E2} (normalised)");
        Assert.True(worst < 1e-3f, $"max difference {worst} ≥ 1e-3 of the input side");
    }

    private static FaceCandidate Candidate(float x, float y, float size, float score, string network)
    {
        float[] g = [x, y, size, size, x, y, x, y, x, y, x, y, x, y, x, y];
        return new FaceCandidate(g, score, network);
    }
}
