using AgingPipeline.Contracts;
using AgingPipeline.Imaging.Faces;

namespace AgingPipeline.UnitTests.Imaging.Faces;

public sealed class FaceBlendTests
{
    private static readonly CropTemplate Template = FaceTestData.Template;

    [Fact]
    public void Row_parallel_blending_gives_the_same_bytes_as_one_thread()
    {
        const int width = 1201, height = 999;
        var input = FaceTestData.RandomPixels(width, height, 4, seed: 13);
        FaceBlend.Face[] faces =
        [
            new(CropMap.Of(FaceTestData.Aligned(1100, 0.3, 600, 500)), FaceTestData.RandomResidual(Template.Size, seed: 1)),
            new(CropMap.Of(FaceTestData.Aligned(400, -1.1, 900, 300)), FaceTestData.RandomResidual(Template.Size, seed: 2)),
        ];
        var mask = new CropMaskShape(Template.Mask, Template.Size);
        var serial = new byte[input.Length];
        var parallel = new byte[input.Length];

        FaceBlend.Apply(input, serial, width, height, 4, faces, Template.Size, mask, 1);
        FaceBlend.Apply(input, parallel, width, height, 4, faces, Template.Size, mask, 8);

        Assert.Equal(serial, parallel);
        Assert.NotEqual(input, serial);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.8)]
    [InlineData(-2.6)]
    public void The_box_of_a_face_holds_every_pixel_its_mask_reaches(double angle)
    {
        const int width = 400, height = 300;
        var transform = FaceTestData.Aligned(250, angle, 210, 140);
        var mask = new CropMaskShape(Template.Mask, Template.Size);

        var box = FaceBlend.BoxOf(CropMap.Of(transform), mask, width, height);

        Assert.NotNull(box);
        var (x0, y0, x1, y1) = box.Value;
        var reached = 0;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var (u, v) = transform.Apply(x + 0.5, y + 0.5);
                if (mask.Weight(u, v) > 0)
                {
                    reached++;
                    Assert.True(x >= x0 && x < x1 && y >= y0 && y < y1, $"({x}, {y}) is reached by the mask but lies outside the box {box}");
                }
            }
        }
        Assert.True(reached > 10_000);
        // Tight: the box is the ellipse's bounding box plus a pixel or two, not the whole picture.
        Assert.True((x1 - x0) * (y1 - y0) < 1.35 * reached * 4 / Math.PI, $"box {box} for {reached} pixels");
    }

    [Fact]
    public void A_face_entirely_outside_the_picture_changes_nothing()
    {
        var input = FaceTestData.RandomPixels(50, 40, 3, seed: 3);
        var output = new byte[input.Length];
        FaceBlend.Face[] faces = [new(CropMap.Of(FaceTestData.Aligned(30, 0, -200, -200)), FaceTestData.ConstantResidual(Template.Size, 1f))];

        FaceBlend.Apply(input, output, 50, 40, 3, faces, Template.Size, new CropMaskShape(Template.Mask, Template.Size), 1);

        Assert.Null(FaceBlend.BoxOf(faces[0].Map, new CropMaskShape(Template.Mask, Template.Size), 50, 40));
        Assert.Equal(input, output);
    }
}
