using AgingPipeline.Imaging;
using NetVips;

namespace AgingPipeline.UnitTests.Imaging;

/// <summary>The fused upsample-and-add against libvips' general formulation of the same arithmetic (float bilinear
/// <c>affine</c> with aligned pixel centres and replicated edges, × 127.5, + input, + 0.5, truncating cast): the
/// composer's first implementation, kept here as the oracle.</summary>
public sealed class ResidualBlendTests
{
    [Theory]
    // source size, bands, model size, content rectangle, threads
    [InlineData(1024, 1024, 3, 64, 0, 0, 64, 64, 2)] // the benchmark's 1 MP case
    [InlineData(333, 97, 3, 32, 0, 11, 32, 10, 2)] // padded landscape, odd sizes
    [InlineData(97, 333, 4, 32, 11, 0, 10, 32, 1)] // padded portrait with alpha, one thread
    [InlineData(40, 30, 3, 64, 0, 8, 64, 48, 2)] // smaller than the model (downsampling)
    [InlineData(257, 129, 4, 16, 0, 4, 16, 8, 3)] // chunks that do not divide the rows
    public void Matches_libvips_bilinear_affine_within_one_level(int width, int height, int bands, int model, int cx, int cy, int cw, int ch, int threads)
    {
        var random = new Random(width * 31 + height);
        var input = new byte[width * height * bands];
        random.NextBytes(input);
        var residual = new float[3 * model * model];
        for (var i = 0; i < residual.Length; i++)
        {
            // Mostly small changes, some beyond the 8-bit range so that clamping is exercised at both ends.
            residual[i] = (float)((random.NextDouble() * 2.4) - 1.2) * (random.Next(4) == 0 ? 1f : 0.2f);
        }
        var geometry = new ModelInputGeometry(model, model, cx, cy, cw, ch, width, height);

        var output = new byte[input.Length];
        ResidualBlend.Apply(input, output, residual, geometry, bands, threads);
        var expected = Reference(input, residual, geometry, bands);

        var worst = 0;
        var off = 0;
        for (var i = 0; i < output.Length; i++)
        {
            var d = Math.Abs(output[i] - expected[i]);
            worst = Math.Max(worst, d);
            off += d > 0 ? 1 : 0;
        }
        Assert.True(worst <= 1, $"largest difference {worst} levels");
        // Differences of one level come only from float rounding at exact .5 boundaries: rare.
        Assert.True(off < output.Length / 100, $"{off} of {output.Length} values differ by one level");
        if (bands == 4)
        {
            for (var i = 3; i < output.Length; i += 4)
            {
                Assert.Equal(input[i], output[i]);
            }
        }
    }

    [Fact]
    public void Refuses_buffers_of_the_wrong_size()
    {
        var geometry = new ModelInputGeometry(8, 8, 0, 0, 8, 8, 10, 10);
        Assert.Throws<ArgumentException>(() => ResidualBlend.Apply(new byte[299], new byte[299], new float[192], geometry, 3, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ResidualBlend.Apply(new byte[200], new byte[200], new float[192], geometry, 2, 1));
    }

    private static byte[] Reference(byte[] input, float[] residual, ModelInputGeometry g, int bands)
    {
        var interleaved = new float[residual.Length];
        TensorPacker.ToInterleaved(residual, g.ModelWidth, g.ModelHeight, 3, interleaved);
        using var source = Image.NewFromMemory(input, g.SourceWidth, g.SourceHeight, bands, Enums.BandFormat.Uchar);
        using var model = Image.NewFromMemoryCopy<float>(interleaved, g.ModelWidth, g.ModelHeight, 3, Enums.BandFormat.Float);
        using var content = model.ExtractArea(g.ContentX, g.ContentY, g.ContentWidth, g.ContentHeight);
        using var bilinear = Interpolate.NewFromName("bilinear");
        using var upsampled = content.Affine(
            [(double)g.SourceWidth / g.ContentWidth, 0, 0, (double)g.SourceHeight / g.ContentHeight],
            interpolate: bilinear,
            oarea: [0, 0, g.SourceWidth, g.SourceHeight],
            idx: 0.5,
            idy: 0.5,
            odx: -0.5,
            ody: -0.5,
            extend: Enums.Extend.Copy);
        using var delta = upsampled.Linear([TensorPacker.PixelScale], [0.5]);
        using var colour = bands == 4 ? source.ExtractBand(0, 3) : source.Copy();
        using var sum = colour.Add(delta);
        using var clamped = sum.Cast(Enums.BandFormat.Uchar);
        if (bands == 4)
        {
            using var alpha = source.ExtractBand(3);
            using var joined = clamped.Bandjoin(alpha);
            return joined.WriteToMemory<byte>();
        }
        return clamped.WriteToMemory<byte>();
    }
}
