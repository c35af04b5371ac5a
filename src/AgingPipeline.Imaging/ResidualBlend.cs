using System.Numerics;
using System.Runtime.CompilerServices;

namespace AgingPipeline.Imaging;

/// <summary>The full-resolution arithmetic of re-ageing: bilinear upsampling of a model-resolution residual fused with
/// its addition to the 8-bit input, in one pass over the output.</summary>
/// <remarks>
/// <para>Bilinear interpolation is separable. Each residual row is upsampled horizontally once (a few thousand floats)
/// when an output row first needs it; every output row is then a lerp of two such rows, added to the input row,
/// rounded and clamped — a few vector operations per byte, no full-size float image. On the 2-core build machine this
/// does a 1 MP RGB image in about 2 ms on one core, where libvips' general <c>affine</c> (float, bilinear) followed by
/// the addition took 35–45 ms for the same result (BENCHMARKS.md). The unit tests keep that libvips formulation as the
/// oracle and require agreement within one level.</para>
/// <para>Pixel centres are aligned (output X + 0.5 = scale × (residual x + 0.5)) and edges replicate, i.e. the
/// source coordinate is clamped to the content rectangle. Channels beyond the residual's three (alpha) are copied.</para>
/// </remarks>
internal static class ResidualBlend
{
    /// <summary>Output rows per parallel work item: enough to amortise the two cached residual rows.</summary>
    private const int RowsPerChunk = 64;

    /// <summary>Pixels per thread: a 1 MP image takes about 2 ms on one core, less than handing work to a second
    /// thread costs when other jobs keep the cores busy; a 12 MP one is split.</summary>
    private const int PixelsPerThread = 2_000_000;

    /// <summary>Writes <paramref name="input"/> + upsampled(<paramref name="residual"/>) × 127.5, rounded and clamped to
    /// [0, 255], into <paramref name="output"/>.</summary>
    /// <param name="input">Interleaved 8-bit pixels, <paramref name="bands"/> per pixel (3, or 4 with alpha).</param>
    /// <param name="output">Same size as <paramref name="input"/>.</param>
    /// <param name="residual">float32 CHW residual of the whole model input, in [-1, 1] units.</param>
    /// <param name="geometry">Where the content sits in the model input and the full-resolution size.</param>
    /// <param name="bands">Bands of <paramref name="input"/> and <paramref name="output"/>.</param>
    /// <param name="parallelism">Most threads to use (one per <see cref="PixelsPerThread"/> pixels at most); 1 runs on
    /// the caller's thread.</param>
    public static void Apply(byte[] input, byte[] output, float[] residual, ModelInputGeometry geometry, int bands, int parallelism)
    {
        int width = geometry.SourceWidth, height = geometry.SourceHeight;
        if (bands is < 3 or > 4)
        {
            throw new ArgumentOutOfRangeException(nameof(bands), bands, "Only RGB and RGBA images are composed.");
        }
        if (input.Length != width * height * bands || output.Length != input.Length)
        {
            throw new ArgumentException($"The input and output must hold {width} × {height} × {bands} bytes.", nameof(input));
        }
        var columns = Taps(width, geometry.ContentWidth);
        var rows = Taps(height, geometry.ContentHeight);
        var chunks = (height + RowsPerChunk - 1) / RowsPerChunk;
        parallelism = Math.Min(parallelism, 1 + (int)((long)width * height / PixelsPerThread));
        if (parallelism <= 1 || chunks == 1)
        {
            ApplyRows(input, output, residual, geometry, bands, columns, rows, 0, height);
            return;
        }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, chunk =>
        {
            var first = chunk * RowsPerChunk;
            ApplyRows(input, output, residual, geometry, bands, columns, rows, first, Math.Min(height, first + RowsPerChunk));
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ApplyRows(byte[] input, byte[] output, float[] residual, ModelInputGeometry g, int bands, Tap[] columns, Tap[] rows, int firstRow, int endRow)
    {
        var rowLength = g.SourceWidth * bands;
        // The two horizontally upsampled residual rows the current output row lies between, in 8-bit units; output
        // rows go downwards, so each residual row is upsampled at most twice per chunk.
        var upper = new float[rowLength];
        var lower = new float[rowLength];
        int upperIndex = -1, lowerIndex = -1;
        var delta = new float[rowLength];
        for (var y = firstRow; y < endRow; y++)
        {
            var tap = rows[y];
            if (upperIndex != tap.Index)
            {
                if (lowerIndex == tap.Index)
                {
                    (upper, lower) = (lower, upper);
                    (upperIndex, lowerIndex) = (lowerIndex, upperIndex);
                }
                else
                {
                    UpsampleRow(residual, g, g.ContentY + tap.Index, bands, columns, upper);
                    upperIndex = tap.Index;
                }
            }
            if (lowerIndex != tap.Next)
            {
                UpsampleRow(residual, g, g.ContentY + tap.Next, bands, columns, lower);
                lowerIndex = tap.Next;
            }
            Lerp(upper, lower, tap.Fraction, delta);
            AddClamped(input.AsSpan(y * rowLength, rowLength), delta, output.AsSpan(y * rowLength, rowLength));
        }
    }

    /// <summary>One residual row of the content rectangle, upsampled to the full width, interleaved with
    /// <paramref name="bands"/> values per pixel (0 for alpha), in 8-bit units.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UpsampleRow(float[] residual, ModelInputGeometry g, int modelRow, int bands, Tap[] columns, float[] destination)
    {
        var plane = g.ModelWidth * g.ModelHeight;
        for (var c = 0; c < 3; c++)
        {
            var line = residual.AsSpan(c * plane + modelRow * g.ModelWidth + g.ContentX, g.ContentWidth);
            for (int x = 0, o = c; x < columns.Length; x++, o += bands)
            {
                var t = columns[x];
                var a = line[t.Index];
                destination[o] = (a + (line[t.Next] - a) * t.Fraction) * TensorPacker.PixelScale;
            }
        }
        if (bands == 4)
        {
            for (var o = 3; o < destination.Length; o += 4)
            {
                destination[o] = 0f;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Lerp(float[] a, float[] b, float t, float[] destination)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vt = new Vector<float>(t);
            for (; i <= destination.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var va = new Vector<float>(a, i);
                (va + ((new Vector<float>(b, i) - va) * vt)).CopyTo(destination, i);
            }
        }
        for (; i < destination.Length; i++)
        {
            destination[i] = a[i] + ((b[i] - a[i]) * t);
        }
    }

    /// <summary>output = clamp(trunc(input + delta + 0.5), 0, 255): round half up, as a truncating cast after + 0.5.</summary>
    /// <remarks>Also the last step of the face blend (<see cref="Faces.FaceBlend"/>), so that both paths round alike; a
    /// delta of exactly 0 gives the input byte back.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AddClamped(ReadOnlySpan<byte> input, ReadOnlySpan<float> delta, Span<byte> output)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var half = new Vector<float>(0.5f);
            var zero = Vector<int>.Zero;
            var max = new Vector<int>(255);
            var floats = Vector<float>.Count;
            for (; i <= input.Length - Vector<byte>.Count; i += Vector<byte>.Count)
            {
                Vector.Widen(new Vector<byte>(input[i..]), out var low16, out var high16);
                Vector.Widen(low16, out var q0, out var q1);
                Vector.Widen(high16, out var q2, out var q3);
                var r0 = Sum(q0, delta.Slice(i, floats), half, zero, max);
                var r1 = Sum(q1, delta.Slice(i + floats, floats), half, zero, max);
                var r2 = Sum(q2, delta.Slice(i + (2 * floats), floats), half, zero, max);
                var r3 = Sum(q3, delta.Slice(i + (3 * floats), floats), half, zero, max);
                var packed = Vector.Narrow(Vector.Narrow(r0, r1), Vector.Narrow(r2, r3));
                packed.CopyTo(output[i..]);
            }
        }
        for (; i < input.Length; i++)
        {
            // Negative sums truncate towards zero, and every negative value clamps to 0 anyway.
            output[i] = (byte)Math.Clamp((int)(input[i] + delta[i] + 0.5f), 0, 255);
        }
    }

    private static Vector<uint> Sum(Vector<uint> pixels, ReadOnlySpan<float> delta, Vector<float> half, Vector<int> zero, Vector<int> max)
    {
        var sum = Vector.ConvertToSingle(pixels) + new Vector<float>(delta) + half;
        return Vector.AsVectorUInt32(Vector.Min(Vector.Max(Vector.ConvertToInt32(sum), zero), max));
    }

    /// <summary>For each of <paramref name="outputLength"/> output positions, the two source positions (of
    /// <paramref name="sourceLength"/>) and the weight of the second, pixel centres aligned, edges clamped.</summary>
    private static Tap[] Taps(int outputLength, int sourceLength)
    {
        var taps = new Tap[outputLength];
        var scale = (double)sourceLength / outputLength;
        for (var i = 0; i < outputLength; i++)
        {
            var s = Math.Clamp(((i + 0.5) * scale) - 0.5, 0, sourceLength - 1);
            var index = (int)s;
            taps[i] = new Tap(index, Math.Min(index + 1, sourceLength - 1), (float)(s - index));
        }
        return taps;
    }

    private readonly record struct Tap(int Index, int Next, float Fraction);
}
