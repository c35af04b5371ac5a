using AgingPipeline.Contracts;
using AgingPipeline.Imaging;

namespace AgingPipeline.UnitTests.Imaging;

public sealed class ImagingOptionsTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        var options = new ImagingOptions();
        Assert.Empty(options.Validate());
        Assert.Equal(50L * 1024 * 1024, options.Limits.MaxBytes);
        Assert.Equal(40_000_000, options.Limits.MaxPixels);
        Assert.Equal(1, options.Limits.MaxFrames);
        Assert.Equal([ImageFormat.Png, ImageFormat.Jpeg, ImageFormat.WebP], options.Limits.AcceptedFormats);
    }

    [Fact]
    public void Lists_every_problem()
    {
        var options = new ImagingOptions
        {
            Limits = new InputLimits
            {
                MaxBytes = 0,
                MinDimension = 100,
                MaxDimension = 50,
                MaxFrames = 0,
                AcceptedFormats = [ImageFormat.Unknown],
            },
            FlattenBackground = [1, 2],
            JpegQuality = 101,
        };
        var errors = options.Validate();
        Assert.Equal(6, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("Limits: MaxBytes", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Limits: AcceptedFormats", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => new ImageHeaderReader(options));
    }
}
