using System.Buffers;
using System.Runtime.CompilerServices;

namespace AgingPipeline.Imaging.Faces;

/// <summary>An affine map from image to crop coordinates: <c>u = A·x + B·y + E</c>, <c>v = C·x + D·y + F</c>.</summary>
/// <remarks>A face's <see cref="SimilarityTransform"/> is one; the contact-sheet preview composes it with the preview's
/// scaling, whose horizontal and vertical factors may differ by a rounding, so the blend works on the general map.</remarks>
internal readonly record struct CropMap(double A, double B, double C, double D, double E, double F)
{
    /// <summary>The map of <paramref name="transform"/>.</summary>
    public static CropMap Of(SimilarityTransform transform) =>
        new(transform.A, -transform.B, transform.B, transform.A, transform.Tx, transform.Ty);

    /// <summary>This map applied to image coordinates that were scaled by (<paramref name="scaleX"/>,
    /// <paramref name="scaleY"/>) first, i.e. the map from the scaled image's coordinates.</summary>
    public CropMap FromScaled(double scaleX, double scaleY) => new(A / scaleX, B / scaleY, C / scaleX, D / scaleY, E, F);
}

/// <summary>The full-resolution arithmetic of face-aware re-ageing: each face's crop residual is read through its
/// transform and feathered mask and added to the 8-bit input; pixels no mask reaches are copied.</summary>
/// <remarks>
/// <para>Only the bounding box of each face's outer mask ellipse (mapped to the image and clipped) is visited; per
/// pixel the crop coordinates advance by a constant step along the row, the mask weight <c>m</c> is evaluated
/// (<see cref="CropMaskShape"/>) and, where it is positive, the residual is sampled bilinearly (crop pixel centres at
/// <c>j + 0.5</c>, edges replicated). Over the faces the blend accumulates <c>Σ m</c>, <c>Σ m·r</c> and
/// <c>max m</c>, and adds <c>delta = max m · Σ m·r / Σ m</c>, scaled by <see cref="TensorPacker.PixelScale"/>, rounded
/// half up and clamped by the whole-frame blend's own vectorised step (<see cref="ResidualBlend.AddClamped"/>).</para>
/// <para>Why <c>max m · (weighted mean)</c> rather than <c>Σ m·r / max(1, Σ m)</c>: both give one face's
/// <c>m·r</c> where only one face reaches and the plain weighted mean wherever a face's weight is 1, but the latter
/// adds overlapping feathers twice (two coinciding faces with m = 0.4 would add 0.8·r). With the maximum, faces that
/// overlap with the same residual change a pixel exactly as much as one face does, anywhere.</para>
/// <para>Rows are processed in parallel chunks once the boxes hold enough pixels; the row accumulators are rented
/// (<see cref="ArrayPool{T}"/>), so a call allocates only the face list. The alpha band is never written: the output
/// starts as a copy of the input.</para>
/// </remarks>
internal static class FaceBlend
{
    /// <summary>Output rows per parallel work item.</summary>
    private const int RowsPerChunk = 32;

    /// <summary>Box pixels per thread: at about 10 ns per pixel inside a mask on one core of the build machine, 400 000
    /// pixels (a face some 600 pixels across) take about 4 ms, less than handing work to a second thread costs when
    /// other jobs keep the cores busy; a face filling a 1 MP frame or more is split.</summary>
    private const int PixelsPerThread = 400_000;

    /// <summary>One face as the blend sees it.</summary>
    /// <param name="Map">Image (or preview) coordinates to crop coordinates.</param>
    /// <param name="Residual">float32 CHW, 3 × size × size, [-1, 1] units.</param>
    public readonly record struct Face(CropMap Map, ReadOnlyMemory<float> Residual);

    private readonly record struct Box(CropMap Map, ReadOnlyMemory<float> Residual, int X0, int Y0, int X1, int Y1);

    /// <summary>Writes <paramref name="input"/> with every face's masked residual added into
    /// <paramref name="output"/>.</summary>
    /// <param name="input">Interleaved 8-bit pixels, <paramref name="bands"/> per pixel (3, or 4 with alpha).</param>
    /// <param name="output">Same size as <paramref name="input"/>.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="bands">3 or 4.</param>
    /// <param name="faces">The faces; their residuals must hold 3 × size × size floats.</param>
    /// <param name="size">The crop side in pixels.</param>
    /// <param name="mask">The template's mask.</param>
    /// <param name="parallelism">Most threads to use; 1 runs on the caller's thread.</param>
    public static void Apply(byte[] input, byte[] output, int width, int height, int bands, IReadOnlyList<Face> faces, int size, CropMaskShape mask, int parallelism)
    {
        if (bands is < 3 or > 4)
        {
            throw new ArgumentOutOfRangeException(nameof(bands), bands, "Only RGB and RGBA images are composed.");
        }
        if (input.Length != (long)width * height * bands || output.Length != input.Length)
        {
            throw new ArgumentException($"The input and output must hold {width} × {height} × {bands} bytes.", nameof(input));
        }
        input.AsSpan().CopyTo(output);
        var boxes = new List<Box>(faces.Count);
        long pixels = 0;
        foreach (var face in faces)
        {
            if (face.Residual.Length != 3 * size * size)
            {
                throw new ArgumentException($"A face residual must hold 3 × {size} × {size} floats, not {face.Residual.Length}.", nameof(faces));
            }
            if (BoxOf(face.Map, mask, width, height) is { } box)
            {
                boxes.Add(new Box(face.Map, face.Residual, box.X0, box.Y0, box.X1, box.Y1));
                pixels += (long)(box.X1 - box.X0) * (box.Y1 - box.Y0);
            }
        }
        if (boxes.Count == 0)
        {
            return;
        }
        int top = int.MaxValue, bottom = 0, left = int.MaxValue, right = 0;
        foreach (var b in boxes)
        {
            (top, bottom, left, right) = (Math.Min(top, b.Y0), Math.Max(bottom, b.Y1), Math.Min(left, b.X0), Math.Max(right, b.X1));
        }
        var all = boxes.ToArray();
        var chunks = (bottom - top + RowsPerChunk - 1) / RowsPerChunk;
        parallelism = (int)Math.Min(parallelism, 1 + (pixels / PixelsPerThread));
        if (parallelism <= 1 || chunks == 1)
        {
            ApplyRows(input, output, width, bands, all, size, mask, left, right, top, bottom);
            return;
        }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, chunk =>
        {
            var first = top + (chunk * RowsPerChunk);
            ApplyRows(input, output, width, bands, all, size, mask, left, right, first, Math.Min(bottom, first + RowsPerChunk));
        });
    }

    /// <summary>The pixels whose centres may fall inside the outer mask ellipse of a face, clipped to the image;
    /// null when none do.</summary>
    /// <remarks>The ellipse <c>centre + (Rx cos φ, Ry sin φ)</c> in the crop maps to <c>P + N·(Rx cos φ, Ry sin φ)</c>
    /// in the image (N the inverse of the map's linear part), whose half-extents are the norms of N's rows scaled by
    /// the radii. A pixel more on each side absorbs rounding; the mask weight is exactly 0 there anyway.</remarks>
    internal static (int X0, int Y0, int X1, int Y1)? BoxOf(CropMap map, CropMaskShape mask, int width, int height)
    {
        var determinant = (map.A * map.D) - (map.B * map.C);
        var n00 = map.D / determinant;
        var n01 = -map.B / determinant;
        var n10 = -map.C / determinant;
        var n11 = map.A / determinant;
        var (cu, cv) = mask.Centre;
        var du = cu - map.E;
        var dv = cv - map.F;
        var px = (n00 * du) + (n01 * dv);
        var py = (n10 * du) + (n11 * dv);
        var hx = Math.Sqrt(Square(n00 * mask.RadiusX) + Square(n01 * mask.RadiusY));
        var hy = Math.Sqrt(Square(n10 * mask.RadiusX) + Square(n11 * mask.RadiusY));
        if (!double.IsFinite(px) || !double.IsFinite(py) || !double.IsFinite(hx) || !double.IsFinite(hy))
        {
            return null;
        }
        // Pixel x is a candidate when its centre x + 0.5 lies in [px − hx, px + hx].
        var x0 = Math.Max(0, Math.Floor(px - hx - 0.5) - 1);
        var x1 = Math.Min(width, Math.Ceiling(px + hx - 0.5) + 2);
        var y0 = Math.Max(0, Math.Floor(py - hy - 0.5) - 1);
        var y1 = Math.Min(height, Math.Ceiling(py + hy - 0.5) + 2);
        return x0 < x1 && y0 < y1 ? ((int)x0, (int)y0, (int)x1, (int)y1) : null;
    }

    private static double Square(double v) => v * v;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ApplyRows(byte[] source, byte[] destination, int width, int bands, Box[] boxes, int size, CropMaskShape mask, int left, int right, int firstRow, int endRow)
    {
        var span = right - left;
        var weights = ArrayPool<float>.Shared.Rent(span);
        var peaks = ArrayPool<float>.Shared.Rent(span);
        var sums = ArrayPool<float>.Shared.Rent(3 * span);
        var deltas = ArrayPool<float>.Shared.Rent(bands * span);
        try
        {
            for (var y = firstRow; y < endRow; y++)
            {
                int rowLeft = int.MaxValue, rowRight = int.MinValue;
                foreach (var box in boxes)
                {
                    if (y >= box.Y0 && y < box.Y1)
                    {
                        rowLeft = Math.Min(rowLeft, box.X0);
                        rowRight = Math.Max(rowRight, box.X1);
                    }
                }
                if (rowLeft >= rowRight)
                {
                    continue;
                }
                var offset = rowLeft - left;
                var count = rowRight - rowLeft;
                weights.AsSpan(offset, count).Clear();
                peaks.AsSpan(offset, count).Clear();
                sums.AsSpan(3 * offset, 3 * count).Clear();
                foreach (var box in boxes)
                {
                    if (y >= box.Y0 && y < box.Y1)
                    {
                        Accumulate(box, mask, size, y, left, weights, peaks, sums);
                    }
                }
                // The row's delta in 8-bit units, bands per pixel, 0 where no mask reaches and for alpha; then the
                // whole-frame path's vectorised add, which gives the input byte back wherever the delta is 0.
                var delta = deltas.AsSpan(0, count * bands);
                delta.Clear();
                for (int i = 0, o = 0; i < count; i++, o += bands)
                {
                    var w = weights[offset + i];
                    if (w > 0)
                    {
                        var k = peaks[offset + i] * TensorPacker.PixelScale / w;
                        var s = 3 * (offset + i);
                        delta[o] = sums[s] * k;
                        delta[o + 1] = sums[s + 1] * k;
                        delta[o + 2] = sums[s + 2] * k;
                    }
                }
                var start = ((y * width) + rowLeft) * bands;
                ResidualBlend.AddClamped(source.AsSpan(start, count * bands), delta, destination.AsSpan(start, count * bands));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(weights);
            ArrayPool<float>.Shared.Return(peaks);
            ArrayPool<float>.Shared.Return(sums);
            ArrayPool<float>.Shared.Return(deltas);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Accumulate(Box box, CropMaskShape mask, int size, int y, int left, float[] weights, float[] peaks, float[] sums)
    {
        var map = box.Map;
        var px = box.X0 + 0.5;
        var py = y + 0.5;
        var u0 = (map.A * px) + (map.B * py) + map.E;
        var v0 = (map.C * px) + (map.D * py) + map.F;
        // Visit only the chord of the outer ellipse (widened by a pixel); inside the inner chord (narrowed by a pixel)
        // the weight is 1 without evaluating it.
        if (!mask.Chord(u0, v0, map.A, map.C, inner: false, out var outerFirst, out var outerLast))
        {
            return;
        }
        var start = (int)Math.Max(box.X0, box.X0 + Math.Floor(outerFirst) - 1);
        var end = (int)Math.Min(box.X1, box.X0 + Math.Ceiling(outerLast) + 2);
        int innerStart = int.MaxValue, innerEnd = int.MinValue;
        if (mask.Chord(u0, v0, map.A, map.C, inner: true, out var innerFirst, out var innerLast))
        {
            innerStart = (int)Math.Clamp(box.X0 + Math.Ceiling(innerFirst) + 1, int.MinValue, int.MaxValue);
            innerEnd = (int)Math.Clamp(box.X0 + Math.Floor(innerLast), int.MinValue, int.MaxValue);
        }
        var residual = box.Residual.Span;
        var plane = size * size;
        var red = residual[..plane];
        var green = residual.Slice(plane, plane);
        var blue = residual.Slice(2 * plane, plane);
        var last = size - 1;
        var u = u0 + ((start - box.X0) * map.A);
        var v = v0 + ((start - box.X0) * map.C);
        for (var x = start; x < end; x++, u += map.A, v += map.C)
        {
            var m = x >= innerStart && x < innerEnd ? 1f : (float)mask.Weight(u, v);
            if (m <= 0)
            {
                continue;
            }
            var sx = Math.Clamp(u - 0.5, 0, last);
            var sy = Math.Clamp(v - 0.5, 0, last);
            var ix = (int)sx;
            var iy = (int)sy;
            var fx = (float)(sx - ix);
            var fy = (float)(sy - iy);
            var dx = ix < last ? 1 : 0;
            var dy = iy < last ? size : 0;
            var p00 = (iy * size) + ix;
            var p10 = p00 + dx;
            var p01 = p00 + dy;
            var p11 = p01 + dx;
            var i = x - left;
            weights[i] += m;
            peaks[i] = Math.Max(peaks[i], m);
            var s = 3 * i;
            sums[s] += m * Bilinear(red, p00, p10, p01, p11, fx, fy);
            sums[s + 1] += m * Bilinear(green, p00, p10, p01, p11, fx, fy);
            sums[s + 2] += m * Bilinear(blue, p00, p10, p01, p11, fx, fy);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Bilinear(ReadOnlySpan<float> p, int p00, int p10, int p01, int p11, float fx, float fy)
    {
        var upper = p[p00] + ((p[p10] - p[p00]) * fx);
        var lower = p[p01] + ((p[p11] - p[p01]) * fx);
        return upper + ((lower - upper) * fy);
    }
}
