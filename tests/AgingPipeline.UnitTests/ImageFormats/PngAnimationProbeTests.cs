using AgingPipeline.ImageFormats;

namespace AgingPipeline.UnitTests.ImageFormats;

/// <summary>An APNG's frame count from its <c>acTL</c> chunk, read from the chunk headers alone.</summary>
public sealed class PngAnimationProbeTests
{
    [Fact]
    public void An_animation_declares_its_frames_and_a_still_has_one()
    {
        Assert.True(PngAnimationProbe.CountFrames(TestCorpus.ReadFile("apng/delay.png")) > 1);
        Assert.Equal(1, PngAnimationProbe.CountFrames(TestCorpus.ReadFile("hopper.png")));
    }

    [Fact]
    public void A_chunk_list_cut_short_counts_as_one_frame()
    {
        var animation = TestCorpus.ReadFile("apng/delay.png");
        Assert.Equal(1, PngAnimationProbe.CountFrames(animation.AsSpan(0, 20)));
        Assert.Equal(1, PngAnimationProbe.CountFrames([]));
    }
}
