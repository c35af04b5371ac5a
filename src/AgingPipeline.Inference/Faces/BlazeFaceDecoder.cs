namespace AgingPipeline.Inference.Faces;

/// <summary>Turns one image's raw BlazeFace outputs into face candidates: anchors, sigmoid scores, box and keypoint
/// regression, and MediaPipe's weighted non-maximum suppression.</summary>
/// <remarks>
/// <para>Anchors are the centres of the cells of each layer's grid, <c>((col + 0.5) / cells, (row + 0.5) / cells)</c>,
/// repeated for each anchor of the cell, numbered row by row (the order of the graph's reshaped NHWC outputs).
/// Regressors are offsets in units of 1/<c>regressorScale</c> of the input: box centre = anchor + (x, y) / scale,
/// size = (w, h) / scale, keypoint k = anchor + (kx, ky) / scale (MediaPipe's fixed-size anchors). The ONNX input's
/// row 0 is the top of the image, so unlike the Unity port no vertical flip is applied.</para>
/// <para>Scores are <c>sigmoid(clamp(logit, ±scoreClip))</c> as in MediaPipe's <c>TensorsToDetectionsCalculator</c>.</para>
/// </remarks>
public sealed class BlazeFaceDecoder
{
    /// <summary>Regressor values per anchor: box (4) and six keypoints (12).</summary>
    public const int RegressorLength = 16;

    private readonly float[] _anchors;
    private readonly float _scale;
    private readonly float _scoreClip;

    /// <summary>Creates the decoder of one network.</summary>
    /// <param name="network">A network of a validated manifest.</param>
    /// <param name="scoreClip">Logits are clipped to ±this before the sigmoid.</param>
    /// <param name="networkName">The name given to candidates (default: the network's name).</param>
    public BlazeFaceDecoder(ModelNetworkSpec network, double scoreClip, string? networkName = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(scoreClip);
        var layers = network.Layers ?? throw new ArgumentException("The network has no layers.", nameof(network));
        AnchorCount = layers.Sum(l => l.AnchorCount);
        _anchors = new float[AnchorCount * 2];
        var i = 0;
        foreach (var layer in layers)
        {
            var cells = layer.Cells!.Value;
            for (var row = 0; row < cells; row++)
            {
                for (var col = 0; col < cells; col++)
                {
                    for (var a = 0; a < layer.AnchorsPerCell!.Value; a++)
                    {
                        _anchors[i++] = (col + 0.5f) / cells;
                        _anchors[i++] = (row + 0.5f) / cells;
                    }
                }
            }
        }
        _scale = (float)network.RegressorScale!.Value;
        _scoreClip = (float)scoreClip;
        NetworkName = networkName ?? network.Name!;
    }

    /// <summary>Anchors of the network (all layers).</summary>
    public int AnchorCount { get; }

    /// <summary>Floats of one image's packed output: <see cref="AnchorCount"/> scores, then
    /// <see cref="AnchorCount"/> × 16 regressors.</summary>
    public int OutputLength => AnchorCount * (1 + RegressorLength);

    /// <summary>The name candidates carry.</summary>
    public string NetworkName { get; }

    /// <summary>Anchor <paramref name="index"/>'s centre in normalised coordinates.</summary>
    public (float X, float Y) Anchor(int index) => (_anchors[2 * index], _anchors[2 * index + 1]);

    /// <summary>Decodes a packed output (scores, then regressors) and removes overlaps.</summary>
    /// <param name="output"><see cref="OutputLength"/> floats, as the network's batch model returns per image.</param>
    /// <param name="minScore">Candidates below this probability are dropped before overlap removal.</param>
    /// <param name="iou">Overlap at or above which candidates are merged.</param>
    /// <returns>Candidates in normalised input coordinates, best first.</returns>
    public IReadOnlyList<FaceCandidate> Decode(ReadOnlySpan<float> output, float minScore, float iou)
    {
        if (output.Length != OutputLength)
        {
            throw new ArgumentException($"Expected {OutputLength} floats ({AnchorCount} anchors × 17), got {output.Length}.", nameof(output));
        }
        return Decode(output[..AnchorCount], output[AnchorCount..], minScore, iou);
    }

    /// <summary>Decodes separate score and regressor outputs and removes overlaps.</summary>
    /// <param name="scores"><see cref="AnchorCount"/> logits.</param>
    /// <param name="regressors"><see cref="AnchorCount"/> × 16 values.</param>
    /// <param name="minScore">Candidates below this probability are dropped before overlap removal.</param>
    /// <param name="iou">Overlap at or above which candidates are merged.</param>
    /// <returns>Candidates in normalised input coordinates, best first.</returns>
    public IReadOnlyList<FaceCandidate> Decode(ReadOnlySpan<float> scores, ReadOnlySpan<float> regressors, float minScore, float iou)
    {
        if (scores.Length != AnchorCount || regressors.Length != AnchorCount * RegressorLength)
        {
            throw new ArgumentException($"Expected {AnchorCount} scores and {AnchorCount * RegressorLength} regressors, got {scores.Length} and {regressors.Length}.");
        }
        var candidates = new List<FaceCandidate>();
        Span<float> g = stackalloc float[FaceCandidate.GeometryLength];
        for (var i = 0; i < AnchorCount; i++)
        {
            var score = Sigmoid(Math.Clamp(scores[i], -_scoreClip, _scoreClip));
            if (!(score >= minScore))
            {
                continue;
            }
            var r = regressors.Slice(i * RegressorLength, RegressorLength);
            var (ax, ay) = Anchor(i);
            g[0] = ax + r[0] / _scale;
            g[1] = ay + r[1] / _scale;
            g[2] = r[2] / _scale;
            g[3] = r[3] / _scale;
            for (var k = 4; k < RegressorLength; k += 2)
            {
                g[k] = ax + r[k] / _scale;
                g[k + 1] = ay + r[k + 1] / _scale;
            }
            candidates.Add(new FaceCandidate(g, score, NetworkName));
        }
        return WeightedNonMaximumSuppression(candidates, iou);
    }

    /// <summary>MediaPipe's <c>WEIGHTED</c> overlap removal: the best remaining candidate gathers every remaining
    /// candidate whose IoU with it is at least <paramref name="iou"/>; the merged face is their geometry averaged with
    /// their scores as weights, with the best score (and the best candidate's network).</summary>
    /// <remarks>Averaging rather than discarding the overlapping anchors is what makes BlazeFace's keypoints stable;
    /// it is also how candidates of several networks (in one coordinate frame) are merged.</remarks>
    /// <returns>The merged candidates, best first.</returns>
    public static IReadOnlyList<FaceCandidate> WeightedNonMaximumSuppression(IEnumerable<FaceCandidate> candidates, float iou)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        var remaining = candidates.OrderByDescending(c => c.Score).ToList();
        var result = new List<FaceCandidate>();
        Span<double> sum = stackalloc double[FaceCandidate.GeometryLength];
        Span<float> merged = stackalloc float[FaceCandidate.GeometryLength];
        while (remaining.Count > 0)
        {
            var best = remaining[0];
            sum.Clear();
            double weight = 0;
            var kept = new List<FaceCandidate>(remaining.Count);
            foreach (var c in remaining)
            {
                if (ReferenceEquals(c, best) || best.IntersectionOverUnion(c) >= iou)
                {
                    var g = c.Geometry;
                    for (var k = 0; k < FaceCandidate.GeometryLength; k++)
                    {
                        sum[k] += (double)g[k] * c.Score;
                    }
                    weight += c.Score;
                }
                else
                {
                    kept.Add(c);
                }
            }
            for (var k = 0; k < FaceCandidate.GeometryLength; k++)
            {
                merged[k] = weight > 0 ? (float)(sum[k] / weight) : best.Geometry[k];
            }
            result.Add(new FaceCandidate(merged, best.Score, best.Network));
            remaining = kept;
        }
        return result;
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
}
