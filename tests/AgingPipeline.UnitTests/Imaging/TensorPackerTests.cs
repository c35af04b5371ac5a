using AgingPipeline.Imaging;

namespace AgingPipeline.UnitTests.Imaging;

public sealed class TensorPackerTests
{
    [Fact]
    public void Packs_interleaved_pixels_into_planar_channels()
    {
        // 2 × 2 RGB: (0,1,2) (3,4,5) / (6,7,8) (255,127,128).
        byte[] pixels = [0, 1, 2, 3, 4, 5, 6, 7, 8, 255, 127, 128];
        var tensor = new float[12];

        TensorPacker.PackInterleaved(pixels, 2, 2, 3, tensor);

        float V(byte b) => b / 127.5f - 1f;
        Assert.Equal([V(0), V(3), V(6), V(255)], tensor[..4]);
        Assert.Equal([V(1), V(4), V(7), V(127)], tensor[4..8]);
        Assert.Equal([V(2), V(5), V(8), V(128)], tensor[8..]);
        Assert.Equal(-1f, tensor[0]);
        Assert.Equal(1f, tensor[3]);
    }

    [Fact]
    public void Transposes_planar_back_to_interleaved()
    {
        float[] planar = [1, 2, 3, 4, 10, 20, 30, 40, 100, 200, 300, 400];
        var interleaved = new float[12];

        TensorPacker.ToInterleaved(planar, 2, 2, 3, interleaved);

        Assert.Equal([1f, 10, 100, 2, 20, 200, 3, 30, 300, 4, 40, 400], interleaved);
    }

    [Fact]
    public void Turns_an_output_image_into_a_residual()
    {
        var residual = new float[3];
        TensorPacker.OutputImageToResidual([0.5f, -1f, 1f], [0.25f, -1f, -1f], residual);
        Assert.Equal([0.25f, 0f, 2f], residual);
    }

    [Fact]
    public void Refuses_mismatched_lengths()
    {
        Assert.Throws<ArgumentException>(() => TensorPacker.PackInterleaved(new byte[11], 2, 2, 3, new float[12]));
        Assert.Throws<ArgumentException>(() => TensorPacker.PackInterleaved(new byte[12], 2, 2, 3, new float[13]));
        Assert.Throws<ArgumentException>(() => TensorPacker.ToInterleaved(new float[12], 2, 2, 3, new float[11]));
        Assert.Throws<ArgumentOutOfRangeException>(() => TensorPacker.ToInterleaved([], 0, 2, 3, []));
    }
}
