namespace AgingPipeline.Inference.Faces;

/// <summary>One detection before it becomes a <c>DetectedFace</c>: a box (centre and size) and BlazeFace's six
/// keypoints in MediaPipe order (of the subject: right eye, left eye, nose tip, mouth, right ear, left ear), in one
/// coordinate frame (normalised network input, or image pixels after <see cref="MapToImage"/>).</summary>
/// <remarks>The geometry is one vector of <see cref="GeometryLength"/> numbers because weighted NMS averages all of it
/// with the same weights; keeping it in one array makes that a single loop.</remarks>
public sealed class FaceCandidate
{
    /// <summary>Centre (2), size (2), six keypoints (12).</summary>
    public const int GeometryLength = 16;

    /// <summary>Keypoints per candidate.</summary>
    public const int KeypointCount = 6;

    private readonly float[] _geometry;

    /// <summary>Creates a candidate.</summary>
    /// <param name="geometry">Centre x, y, width, height, then six keypoints as x, y.</param>
    /// <param name="score">Probability in [0, 1].</param>
    /// <param name="network">The network that produced it (the best-scoring one, after merging).</param>
    public FaceCandidate(ReadOnlySpan<float> geometry, float score, string network)
    {
        if (geometry.Length != GeometryLength)
        {
            throw new ArgumentException($"Expected {GeometryLength} geometry values, got {geometry.Length}.", nameof(geometry));
        }
        ArgumentNullException.ThrowIfNull(network);
        _geometry = geometry.ToArray();
        Score = score;
        Network = network;
    }

    /// <summary>The geometry vector: centre x, y, width, height, then the keypoints as x, y.</summary>
    public ReadOnlySpan<float> Geometry => _geometry;

    /// <summary>Box centre, horizontal.</summary>
    public float CentreX => _geometry[0];

    /// <summary>Box centre, vertical.</summary>
    public float CentreY => _geometry[1];

    /// <summary>Box width.</summary>
    public float Width => _geometry[2];

    /// <summary>Box height.</summary>
    public float Height => _geometry[3];

    /// <summary>Probability in [0, 1].</summary>
    public float Score { get; }

    /// <summary>The network it came from.</summary>
    public string Network { get; }

    /// <summary>Keypoint <paramref name="index"/> (MediaPipe order) as (x, y).</summary>
    public (float X, float Y) Keypoint(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, KeypointCount);
        return (_geometry[4 + 2 * index], _geometry[5 + 2 * index]);
    }

    /// <summary>Maps a candidate in normalised letterbox coordinates ([0, 1]² over a <paramref name="size"/>-pixel
    /// square) to image pixels: <c>x = (u × size − offsetX) / scaleX</c>, sizes by <c>size / scale</c>.</summary>
    /// <param name="size">Side of the network input in pixels.</param>
    /// <param name="scaleX">Letterbox pixels per image pixel, horizontally.</param>
    /// <param name="scaleY">Letterbox pixels per image pixel, vertically.</param>
    /// <param name="offsetX">Where the image's left edge sits in the letterbox, in letterbox pixels.</param>
    /// <param name="offsetY">Where the image's top edge sits in the letterbox, in letterbox pixels.</param>
    public FaceCandidate MapToImage(double size, double scaleX, double scaleY, double offsetX, double offsetY)
    {
        Span<float> g = stackalloc float[GeometryLength];
        g[0] = (float)((_geometry[0] * size - offsetX) / scaleX);
        g[1] = (float)((_geometry[1] * size - offsetY) / scaleY);
        g[2] = (float)(_geometry[2] * size / scaleX);
        g[3] = (float)(_geometry[3] * size / scaleY);
        for (var k = 4; k < GeometryLength; k += 2)
        {
            g[k] = (float)((_geometry[k] * size - offsetX) / scaleX);
            g[k + 1] = (float)((_geometry[k + 1] * size - offsetY) / scaleY);
        }
        return new FaceCandidate(g, Score, Network);
    }

    /// <summary>Intersection over union of the two boxes; 0 when either is empty.</summary>
    public float IntersectionOverUnion(FaceCandidate other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var left = Math.Max(CentreX - Width / 2, other.CentreX - other.Width / 2);
        var right = Math.Min(CentreX + Width / 2, other.CentreX + other.Width / 2);
        var top = Math.Max(CentreY - Height / 2, other.CentreY - other.Height / 2);
        var bottom = Math.Min(CentreY + Height / 2, other.CentreY + other.Height / 2);
        var inner = Math.Max(0, right - left) * Math.Max(0, bottom - top);
        var union = Width * Height + other.Width * other.Height - inner;
        return union > 0 ? inner / union : 0;
    }
}
