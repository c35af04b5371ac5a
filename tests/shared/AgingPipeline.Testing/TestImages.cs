using NetVips;

namespace AgingPipeline.Testing;

/// <summary>Decoded facts about an image, from a full decode with NetVips.</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Bands">Bands (3 RGB, 4 RGBA, …).</param>
/// <param name="Loader">The libvips loader that read it (<c>pngload_buffer</c>, …).</param>
public sealed record DecodedFacts(int Width, int Height, int Bands, string Loader);

/// <summary>The one helper for test images, shared by every test project and <c>bench/</c>: inputs (character images
/// from <c>tests/fixtures/heldout</c>, re-encoded and resized with NetVips; images built in code, see
/// <c>TestImages.Built.cs</c>; PNG, GIF and JPEG bytes written by hand without libvips, see <c>TestImages.Bytes.cs</c>)
/// and checks of outputs (full decodes, pixel differences).</summary>
/// <remarks>The members here use NetVips as it comes (nothing blocked): <see cref="Gif(int)"/> writes a GIF, which the
/// pipeline's libvips set-up refuses. The members that build <see cref="Image"/>s first apply that set-up
/// (<see cref="AgingPipeline.Imaging.VipsRuntime"/>), as the pipeline would, so a process that used them can no longer
/// call <see cref="Gif(int)"/>.</remarks>
public static partial class TestImages
{
    private static readonly Lazy<string[]> s_heldout = new(() =>
        [.. Directory.GetFiles(RepoPaths.Heldout, "*.png").Order(StringComparer.Ordinal)]);

    /// <summary>One of the held-out character images (256×256 RGB PNG).</summary>
    public static byte[] Character(int index) => File.ReadAllBytes(s_heldout.Value[index % s_heldout.Value.Length]);

    /// <summary>A character image re-encoded as <paramref name="format"/> (<c>png</c>, <c>jpg</c>, <c>webp</c>),
    /// optionally scaled by <paramref name="scale"/>.</summary>
    public static byte[] Character(int index, string format, double scale = 1.0)
    {
        using var source = Image.NewFromBuffer(Character(index));
        using var scaled = scale == 1.0 ? source.Copy() : source.Resize(scale, kernel: Enums.Kernel.Linear);
        return format switch
        {
            "png" => scaled.PngsaveBuffer(compression: 1),
            "jpg" => scaled.JpegsaveBuffer(q: 90),
            "webp" => scaled.WebpsaveBuffer(q: 90),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "png, jpg or webp"),
        };
    }

    /// <summary>A GIF of a character image (a format the pipeline refuses, whatever the file is called).</summary>
    public static byte[] Gif(int index)
    {
        using var source = Image.NewFromBuffer(Character(index));
        return source.GifsaveBuffer();
    }

    /// <summary>Decodes every pixel (libvips is lazy: <c>Avg</c> forces the whole image through the loader) with
    /// <c>failOn: error</c>, so a truncated or corrupt file throws.</summary>
    /// <exception cref="VipsException">The bytes are not a decodable image.</exception>
    public static DecodedFacts Decode(byte[] content)
    {
        using var image = Image.NewFromBuffer(content, failOn: Enums.FailOn.Error);
        _ = image.Avg();
        return new DecodedFacts(image.Width, image.Height, image.Bands, image.Get("vips-loader") as string ?? "?");
    }

    /// <summary>Mean absolute difference of two images' pixels (0–255 scale, over the common bands).</summary>
    public static double MeanAbsoluteDifference(byte[] a, byte[] b)
    {
        using var first = Image.NewFromBuffer(a, failOn: Enums.FailOn.Error);
        using var second = Image.NewFromBuffer(b, failOn: Enums.FailOn.Error);
        if (first.Width != second.Width || first.Height != second.Height)
        {
            throw new ArgumentException($"Sizes differ: {first.Width}×{first.Height} and {second.Width}×{second.Height}.");
        }
        var bands = Math.Min(Math.Min(first.Bands, second.Bands), 3);
        using var x = first.ExtractBand(0, bands).Cast(Enums.BandFormat.Float);
        using var y = second.ExtractBand(0, bands).Cast(Enums.BandFormat.Float);
        using var difference = (x - y).Abs();
        return difference.Avg();
    }
}
