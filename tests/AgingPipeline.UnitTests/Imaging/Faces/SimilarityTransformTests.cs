using AgingPipeline.Contracts;
using AgingPipeline.Imaging.Faces;

namespace AgingPipeline.UnitTests.Imaging.Faces;

public sealed class SimilarityTransformTests
{
    private static readonly CropTemplate Template = FaceTestData.Template;

    [Theory]
    [InlineData(200, 0.0, 320, 240)]
    [InlineData(37, 0.7, 20, 15)]
    [InlineData(1500, -2.9, 1900, 40)]
    [InlineData(64, Math.PI, 0, 0)]
    public void Template_points_map_to_the_face_and_back_within_half_a_pixel(double side, double angle, double x, double y)
    {
        var face = FaceTestData.Face(Template, FaceTestData.CropToImage(Template, side, angle, x, y));

        var toCrop = SimilarityTransform.ToTemplate(face, Template);
        var toImage = toCrop.Inverse();

        (Point2 Image, Point2 Template)[] pairs = [(face.LeftEye, Template.LeftEye), (face.RightEye, Template.RightEye), (face.Mouth, Template.Mouth)];
        foreach (var (image, template) in pairs)
        {
            var crop = new Point2(template.X * Template.Size, template.Y * Template.Size);
            AssertNear(crop, toCrop.Apply(image), 0.5 * toCrop.Scale);
            AssertNear(image, toImage.Apply(crop), 0.5);
            AssertNear(image, toImage.Apply(toCrop.Apply(image)), 1e-3);
        }
    }

    [Theory]
    [InlineData(2.5, 0.0, 10, -4)]
    [InlineData(0.04, 1.2, 300.5, 80.25)]
    [InlineData(0.5, -0.35, -20, 500)]
    [InlineData(7, 3.0, 0, 0)]
    public void Fitting_a_rotated_scaled_and_translated_template_recovers_the_motion(double scale, double angle, double tx, double ty)
    {
        var motion = SimilarityTransform.Create(scale, angle, tx, ty);
        Point2[] source = [new(24.3f, 28.2f), new(39.7f, 28.2f), new(32f, 44.8f)];
        var destination = source.Select(motion.Apply).ToArray();

        var fitted = SimilarityTransform.Fit(source, destination);

        Assert.Equal(scale, fitted.Scale, scale * 1e-4);
        Assert.Equal(0, Math.IEEERemainder(fitted.Angle - angle, 2 * Math.PI), 1e-4);
        Assert.Equal(tx, fitted.Tx, Math.Max(1e-3, Math.Abs(tx) * 1e-4) + scale * 1e-3);
        Assert.Equal(ty, fitted.Ty, Math.Max(1e-3, Math.Abs(ty) * 1e-4) + scale * 1e-3);
    }

    [Fact]
    public void The_least_squares_fit_is_not_beaten_by_any_nearby_similarity()
    {
        // Noisy keypoints that no similarity fits exactly.
        Point2[] source = [new(100, 120), new(160, 118), new(133, 190)];
        Point2[] destination = [new(24.3f, 28.2f), new(39.7f, 28.2f), new(32f, 44.8f)];
        var fitted = SimilarityTransform.Fit(source, destination);
        var best = SquaredError(fitted, source, destination);
        Assert.True(best > 0.01, "precondition: the points are not an exact similarity");

        foreach (var (da, db, dx, dy) in new[] { (1e-3, 0.0, 0.0, 0.0), (0.0, 1e-3, 0.0, 0.0), (0.0, 0.0, 0.05, 0.0), (0.0, 0.0, 0.0, 0.05) })
        {
            foreach (var sign in new[] { -1.0, 1.0 })
            {
                var nearby = new SimilarityTransform(fitted.A + (sign * da), fitted.B + (sign * db), fitted.Tx + (sign * dx), fitted.Ty + (sign * dy));
                Assert.True(SquaredError(nearby, source, destination) > best, $"({da}, {db}, {dx}, {dy}) × {sign} fits better");
            }
        }
    }

    [Fact]
    public void Inverse_and_composition_undo_each_other()
    {
        var t = SimilarityTransform.Create(0.3, 2.2, 14, -7);

        var identity = t.After(t.Inverse());

        Assert.Equal(1, identity.A, 1e-12);
        Assert.Equal(0, identity.B, 1e-12);
        Assert.Equal(0, identity.Tx, 1e-9);
        Assert.Equal(0, identity.Ty, 1e-9);
        Assert.Equal(1 / 0.3, t.Inverse().Scale, 1e-9);
        Assert.Equal(-2.2, t.Inverse().Angle, 1e-12);
        var p = new Point2(3, 4);
        AssertNear(t.Apply(t.Apply(p)), t.After(t).Apply(p), 1e-3);
    }

    [Fact]
    public void A_positive_angle_turns_x_towards_y()
    {
        var quarter = SimilarityTransform.Create(1, Math.PI / 2, 0, 0);
        AssertNear(new Point2(0, 1), quarter.Apply(new Point2(1, 0)), 1e-6);
    }

    [Fact]
    public void Coinciding_keypoints_are_refused()
    {
        var p = new Point2(5, 5);
        var face = new DetectedFace(new FaceBox(0, 0, 10, 10), 0.9f, p, p, p, p, p, p, "test");
        Assert.Throws<ArgumentException>(() => SimilarityTransform.ToTemplate(face, Template));
        Assert.Throws<ArgumentException>(() => SimilarityTransform.Fit([p], [p]));
        Assert.Throws<ArgumentException>(() => new SimilarityTransform(0, 0, 1, 1));
    }

    private static double SquaredError(SimilarityTransform t, Point2[] source, Point2[] destination)
    {
        double sum = 0;
        for (var i = 0; i < source.Length; i++)
        {
            var (x, y) = t.Apply(source[i].X, source[i].Y);
            sum += ((x - destination[i].X) * (x - destination[i].X)) + ((y - destination[i].Y) * (y - destination[i].Y));
        }
        return sum;
    }

    private static void AssertNear(Point2 expected, Point2 actual, double tolerance)
    {
        var distance = Math.Sqrt(Math.Pow(expected.X - actual.X, 2) + Math.Pow(expected.Y - actual.Y, 2));
        Assert.True(distance <= tolerance, $"{actual} is {distance:0.####} from {expected} (tolerance {tolerance})");
    }
}
