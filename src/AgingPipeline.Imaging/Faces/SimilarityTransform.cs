using AgingPipeline.Contracts;

namespace AgingPipeline.Imaging.Faces;

/// <summary>A 2-D similarity: rotation, uniform scale and translation, no shear and no reflection.
/// <c>x' = A·x − B·y + Tx</c>, <c>y' = B·x + A·y + Ty</c> with <c>A = s·cos θ</c>, <c>B = s·sin θ</c>.</summary>
/// <remarks>
/// <para><b>Conventions of the head-crop template</b> (one home for them; <see cref="FaceCropSampler"/> and
/// <see cref="FaceComposer"/> follow them, and <c>training/croptemplate.py</c> uses the same parameters a, b, tx, ty):</para>
/// <list type="bullet">
/// <item>Coordinates are continuous. Pixel <c>i</c> covers <c>[i, i + 1)</c>; its centre is <c>i + 0.5</c>. This holds
/// for the orientation-applied input image (the detector's keypoints are in these coordinates: an eye centred on pixel
/// 10 is at 10.5) and for the crop, whose side is <see cref="CropTemplate.Size"/> pixels. It is the convention of the
/// whole-frame path too (<see cref="ResidualBlend"/>: centres aligned).</item>
/// <item>A template position <c>f</c> (a fraction of the crop side) is the crop coordinate <c>f × Size</c>: 0 is the
/// crop's left or top edge, 1 its right or bottom edge, so 0.5 is the boundary between the two middle pixels of an
/// even-sized crop.</item>
/// <item>The transform of a face maps <em>image</em> coordinates to <em>crop</em> coordinates
/// (<see cref="ToTemplate"/>). Crop pixel <c>(j, i)</c> is sampled at the image point
/// <c>Inverse().Apply(j + 0.5, i + 0.5)</c>, and an image pixel <c>(x, y)</c> reads the crop at
/// <c>Apply(x + 0.5, y + 0.5)</c>; bilinear sampling of either grid then reads value index <c>coordinate − 0.5</c>.
/// Warp and inverse are therefore exact inverses; nothing is off by half a pixel.</item>
/// <item><see cref="Scale"/> is crop pixels per image pixel: below 1 the crop is smaller than the face in the picture.</item>
/// <item>The mask (<see cref="CropMask"/>) is evaluated in template units, i.e. crop coordinates divided by the size.</item>
/// </list>
/// </remarks>
public readonly record struct SimilarityTransform
{
    /// <summary>Creates the transform <c>x' = a·x − b·y + tx</c>, <c>y' = b·x + a·y + ty</c>.</summary>
    /// <param name="a"><c>s·cos θ</c>.</param>
    /// <param name="b"><c>s·sin θ</c>.</param>
    /// <param name="tx">Horizontal translation.</param>
    /// <param name="ty">Vertical translation.</param>
    /// <exception cref="ArgumentException">The scale is zero or not finite.</exception>
    public SimilarityTransform(double a, double b, double tx, double ty)
    {
        var scale = Math.Sqrt((a * a) + (b * b));
        if (!(scale > 0) || !double.IsFinite(scale) || !double.IsFinite(tx) || !double.IsFinite(ty))
        {
            throw new ArgumentException($"A similarity needs a finite, non-zero scale and translation, not a={a}, b={b}, tx={tx}, ty={ty}.");
        }
        A = a;
        B = b;
        Tx = tx;
        Ty = ty;
    }

    /// <summary>The identity.</summary>
    public static SimilarityTransform Identity { get; } = new(1, 0, 0, 0);

    /// <summary><c>s·cos θ</c>.</summary>
    public double A { get; }

    /// <summary><c>s·sin θ</c>.</summary>
    public double B { get; }

    /// <summary>Horizontal translation.</summary>
    public double Tx { get; }

    /// <summary>Vertical translation.</summary>
    public double Ty { get; }

    /// <summary>The uniform scale s (&gt; 0): output units per input unit.</summary>
    public double Scale => Math.Sqrt((A * A) + (B * B));

    /// <summary>The rotation θ in radians, in (−π, π]; positive turns +x towards +y (clockwise on screen, y being
    /// downwards).</summary>
    public double Angle => Math.Atan2(B, A);

    /// <summary>Scale by <paramref name="scale"/> and rotate by <paramref name="angle"/> radians about the origin, then
    /// translate.</summary>
    public static SimilarityTransform Create(double scale, double angle, double tx, double ty) =>
        new(scale * Math.Cos(angle), scale * Math.Sin(angle), tx, ty);

    /// <summary>The least-squares similarity taking <paramref name="source"/> points to
    /// <paramref name="destination"/> points (Umeyama 1991, in 2-D).</summary>
    /// <remarks>In 2-D Umeyama's solution is closed-form: with both point sets centred and read as complex numbers,
    /// <c>A + iB = Σ q̃ · conj(p̃) / Σ |p̃|²</c>, the translation puts the centroids on each other. A complex
    /// multiplier cannot reflect, so a mirrored face (its left eye on the right) becomes a half-turn rather than a
    /// mirror image; the model then sees the face upside down rather than a flipped one, which the keypoints would not
    /// justify either way.</remarks>
    /// <exception cref="ArgumentException">The spans differ in length, hold fewer than two points, or the source
    /// points all coincide (no scale can be fitted).</exception>
    public static SimilarityTransform Fit(ReadOnlySpan<Point2> source, ReadOnlySpan<Point2> destination)
    {
        if (source.Length != destination.Length || source.Length < 2)
        {
            throw new ArgumentException($"Two or more point pairs are needed, not {source.Length} and {destination.Length} points.");
        }
        double sx = 0, sy = 0, dx = 0, dy = 0;
        for (var i = 0; i < source.Length; i++)
        {
            sx += source[i].X;
            sy += source[i].Y;
            dx += destination[i].X;
            dy += destination[i].Y;
        }
        var n = source.Length;
        (sx, sy, dx, dy) = (sx / n, sy / n, dx / n, dy / n);
        double numA = 0, numB = 0, spread = 0;
        for (var i = 0; i < n; i++)
        {
            var x = source[i].X - sx;
            var y = source[i].Y - sy;
            var u = destination[i].X - dx;
            var v = destination[i].Y - dy;
            numA += (x * u) + (y * v);
            numB += (x * v) - (y * u);
            spread += (x * x) + (y * y);
        }
        if (!(spread > 1e-12) || !double.IsFinite(spread))
        {
            throw new ArgumentException("The source points coincide (or are not finite); no similarity can be fitted.", nameof(source));
        }
        var a = numA / spread;
        var b = numB / spread;
        if (!((a * a) + (b * b) > 1e-24))
        {
            throw new ArgumentException("The destination points coincide; no similarity can be fitted.", nameof(destination));
        }
        return new SimilarityTransform(a, b, dx - ((a * sx) - (b * sy)), dy - ((b * sx) + (a * sy)));
    }

    /// <summary>The transform from the face's image coordinates to crop coordinates of <paramref name="template"/>:
    /// the least-squares fit of (left eye, right eye, mouth) to the template's points × <see cref="CropTemplate.Size"/>.</summary>
    /// <exception cref="ArgumentException">The face's keypoints coincide.</exception>
    public static SimilarityTransform ToTemplate(DetectedFace face, CropTemplate template)
    {
        ArgumentNullException.ThrowIfNull(face);
        ArgumentNullException.ThrowIfNull(template);
        var size = template.Size;
        ReadOnlySpan<Point2> source = [face.LeftEye, face.RightEye, face.Mouth];
        ReadOnlySpan<Point2> destination =
        [
            new(template.LeftEye.X * size, template.LeftEye.Y * size),
            new(template.RightEye.X * size, template.RightEye.Y * size),
            new(template.Mouth.X * size, template.Mouth.Y * size),
        ];
        return Fit(source, destination);
    }

    /// <summary>Maps one point.</summary>
    public Point2 Apply(Point2 point)
    {
        var (x, y) = Apply((double)point.X, point.Y);
        return new Point2((float)x, (float)y);
    }

    /// <summary>Maps one point in double precision.</summary>
    public (double X, double Y) Apply(double x, double y) => ((A * x) - (B * y) + Tx, (B * x) + (A * y) + Ty);

    /// <summary>The inverse transform (crop to image for a face's transform).</summary>
    public SimilarityTransform Inverse()
    {
        var d = (A * A) + (B * B);
        var ia = A / d;
        var ib = -B / d;
        return new SimilarityTransform(ia, ib, -((ia * Tx) - (ib * Ty)), -((ib * Tx) + (ia * Ty)));
    }

    /// <summary>The composition <c>this ∘ first</c>: applies <paramref name="first"/>, then this transform.</summary>
    public SimilarityTransform After(SimilarityTransform first) => new(
        (A * first.A) - (B * first.B),
        (A * first.B) + (B * first.A),
        (A * first.Tx) - (B * first.Ty) + Tx,
        (B * first.Tx) + (A * first.Ty) + Ty);
}
