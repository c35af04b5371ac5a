using AgingPipeline.Contracts;

namespace AgingPipeline.Imaging.Faces;

/// <summary>The feathered ellipse of a <see cref="CropMask"/>, evaluated in crop pixel coordinates.</summary>
/// <remarks>
/// <para>The outer ellipse has the mask's radii; the inner one the radii less <see cref="CropMask.Feather"/>. Along
/// every ray from the centre the weight is 1 up to the inner ellipse, 0 from the outer one on, and a smoothstep
/// (<c>3t² − 2t³</c>) of the position between the two. With <c>ρo</c>, <c>ρi</c> the normalised radii of a point
/// with respect to the outer and inner ellipse, that position is <c>t = (1 − ρo) / (1 − ρo/ρi)</c>: exact on both
/// ellipses, monotone along the ray, and exactly <c>Feather</c> wide on the axes, at the cost of two square roots and
/// no search for the nearest point of an ellipse.</para>
/// <para>The weight is exactly 0 wherever <c>ρo ≥ 1</c>, which is what keeps every pixel outside the outer ellipse
/// bit for bit unchanged. A feather of 0 gives a hard edge; one at least as large as a radius ramps all the way to the
/// centre.</para>
/// </remarks>
internal readonly struct CropMaskShape
{
    private readonly double _centreX;
    private readonly double _centreY;
    private readonly double _outerX2;
    private readonly double _outerY2;
    private readonly double _innerX2;
    private readonly double _innerY2;
    private readonly bool _hard;

    /// <summary>The mask of a crop whose side is <paramref name="size"/> pixels.</summary>
    public CropMaskShape(CropMask mask, int size)
    {
        ArgumentNullException.ThrowIfNull(mask);
        if (!(mask.RadiusX > 0) || !(mask.RadiusY > 0) || !(mask.Feather >= 0)
            || !float.IsFinite(mask.CentreX) || !float.IsFinite(mask.CentreY)
            || !float.IsFinite(mask.RadiusX) || !float.IsFinite(mask.RadiusY) || !float.IsFinite(mask.Feather))
        {
            throw new ArgumentException($"The crop mask needs positive radii and a non-negative feather, not {mask}.", nameof(mask));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        _centreX = mask.CentreX * (double)size;
        _centreY = mask.CentreY * (double)size;
        RadiusX = mask.RadiusX * (double)size;
        RadiusY = mask.RadiusY * (double)size;
        _outerX2 = 1 / (RadiusX * RadiusX);
        _outerY2 = 1 / (RadiusY * RadiusY);
        _hard = mask.Feather == 0;
        // An inner radius of (almost) zero makes ρi huge and ρo/ρi ≈ 0: the ramp then runs from the rim to the centre.
        var innerX = Math.Max(RadiusX - (mask.Feather * (double)size), 1e-6);
        var innerY = Math.Max(RadiusY - (mask.Feather * (double)size), 1e-6);
        _innerX2 = 1 / (innerX * innerX);
        _innerY2 = 1 / (innerY * innerY);
    }

    /// <summary>Centre in crop pixels.</summary>
    public (double X, double Y) Centre => (_centreX, _centreY);

    /// <summary>Outer horizontal radius in crop pixels.</summary>
    public double RadiusX { get; }

    /// <summary>Outer vertical radius in crop pixels.</summary>
    public double RadiusY { get; }

    /// <summary>Where the line <c>(u + k·stepU, v + k·stepV)</c> lies strictly inside the outer ellipse
    /// (<paramref name="inner"/> false) or the inner one (true): <c>first &lt; k &lt; last</c>.</summary>
    /// <remarks>Lets a row skip the pixels beyond the outer ellipse without evaluating them and give the pixels well
    /// inside the inner one weight 1 without square roots. Callers widen (outer) or narrow (inner) the interval by a
    /// pixel and evaluate <see cref="Weight"/> everywhere else, so rounding here never decides a pixel.</remarks>
    /// <returns>False when the line misses the ellipse.</returns>
    public bool Chord(double u, double v, double stepU, double stepV, bool inner, out double first, out double last)
    {
        var (sx, sy) = inner ? (_innerX2, _innerY2) : (_outerX2, _outerY2);
        var du = u - _centreX;
        var dv = v - _centreY;
        var a = (stepU * stepU * sx) + (stepV * stepV * sy);
        var b = 2 * ((du * stepU * sx) + (dv * stepV * sy));
        var c = (du * du * sx) + (dv * dv * sy) - 1;
        var discriminant = (b * b) - (4 * a * c);
        if (!(a > 0) || !(discriminant > 0))
        {
            first = last = 0;
            return false;
        }
        var root = Math.Sqrt(discriminant);
        first = (-b - root) / (2 * a);
        last = (-b + root) / (2 * a);
        return true;
    }

    /// <summary>The weight in [0, 1] at crop coordinates (<paramref name="u"/>, <paramref name="v"/>).</summary>
    public double Weight(double u, double v)
    {
        var dx = u - _centreX;
        var dy = v - _centreY;
        var dx2 = dx * dx;
        var dy2 = dy * dy;
        var outer = (dx2 * _outerX2) + (dy2 * _outerY2);
        if (!(outer < 1))
        {
            return 0;
        }
        if (_hard)
        {
            return 1;
        }
        var inner = (dx2 * _innerX2) + (dy2 * _innerY2);
        if (inner <= 1)
        {
            return 1;
        }
        var ratio = Math.Sqrt(outer / inner);
        var t = (1 - Math.Sqrt(outer)) / (1 - ratio);
        return t * t * (3 - (2 * t));
    }
}
