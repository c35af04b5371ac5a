using AgingPipeline.Imaging;
using NetVips;

namespace AgingPipeline.Testing;

// Images built in memory with NetVips, after the pipeline's own libvips set-up (VipsRuntime: only PNG, JPEG and WebP
// loaders and savers), as the unit and CLI tests need them.
public static partial class TestImages
{
    /// <summary>Applies the pipeline's libvips set-up once per process (the members below call it first).</summary>
    private static void UsePipelineVips() => VipsRuntime.Initialize(new ImagingOptions());

    /// <summary>A solid-colour image.</summary>
    public static Image Solid(int width, int height, params double[] colour)
    {
        UsePipelineVips();
        using var black = Image.Black(width, height, colour.Length);
        using var filled = black.Linear(Enumerable.Repeat(0.0, colour.Length).ToArray(), colour);
        using var cast = filled.Cast(Enums.BandFormat.Uchar);
        return cast.Copy(interpretation: colour.Length >= 3 ? Enums.Interpretation.Srgb : Enums.Interpretation.Bw);
    }

    /// <summary>An image from interleaved 8-bit pixels.</summary>
    public static Image FromPixels(byte[] pixels, int width, int height, int bands)
    {
        UsePipelineVips();
        using var image = Image.NewFromMemoryCopy<byte>(pixels, width, height, bands, Enums.BandFormat.Uchar);
        return image.Copy(interpretation: bands >= 3 ? Enums.Interpretation.Srgb : Enums.Interpretation.Bw);
    }

    /// <summary>A deterministic pseudo-random RGB image (noise compresses badly, so truncation hits pixel data).</summary>
    public static Image Noise(int width, int height, int seed = 1)
    {
        var random = new Random(seed);
        var pixels = new byte[width * height * 3];
        random.NextBytes(pixels);
        return FromPixels(pixels, width, height, 3);
    }

    /// <summary>A horizontal gradient, smooth enough to survive JPEG.</summary>
    public static Image Gradient(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = (y * width + x) * 3;
                pixels[i] = (byte)(255 * x / Math.Max(1, width - 1));
                pixels[i + 1] = (byte)(255 * y / Math.Max(1, height - 1));
                pixels[i + 2] = 128;
            }
        }
        return FromPixels(pixels, width, height, 3);
    }

    /// <summary>Held-out render number <paramref name="index"/> (wrapping), 8-bit sRGB without alpha, resized to
    /// <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static Image CharacterImage(int index, int width, int height)
    {
        UsePipelineVips();
        var files = s_heldout.Value;
        using var loaded = Image.NewFromFile(files[index % files.Length], access: Enums.Access.Sequential);
        using var flat = loaded.HasAlpha() ? loaded.Flatten(background: [255, 255, 255]) : loaded.Copy();
        using var uchar = flat.Cast(Enums.BandFormat.Uchar);
        using var resized = uchar.ThumbnailImage(width, height: height, size: Enums.Size.Force);
        using var srgb = resized.Copy(interpretation: Enums.Interpretation.Srgb);
        return srgb.CopyMemory(); // in memory: the sequential file read can then be used any number of times
    }

    /// <summary>A character with a solid red band across the top: anything but upright is easy to see.</summary>
    public static Image Marked(int index, int width, int height)
    {
        using var character = CharacterImage(index, width, height);
        using var black = Image.Black(width, Math.Max(4, height / 6), bands: 3);
        using var red = black.Linear([1.0, 1.0, 1.0], [255.0, 0.0, 0.0]);
        using var band = red.Cast(Enums.BandFormat.Uchar);
        using var marked = character.Insert(band, 0, 0);
        return marked.Copy(interpretation: Enums.Interpretation.Srgb);
    }

    /// <summary>The same image with an alpha channel (a transparent border).</summary>
    public static Image WithAlpha(Image image)
    {
        UsePipelineVips();
        using var alpha = Image.Black(image.Width, image.Height).Linear([0.0], [255.0]).Cast(Enums.BandFormat.Uchar);
        using var hole = Image.Black(4, image.Height).Cast(Enums.BandFormat.Uchar);
        using var cut = alpha.Insert(hole, 0, 0);
        using var joined = image.Bandjoin(cut);
        return joined.Copy(interpretation: Enums.Interpretation.Srgb);
    }

    /// <summary>JPEG bytes whose pixels are stored rotated and whose EXIF orientation 6 ("rotate 90° clockwise")
    /// makes them display as <paramref name="upright"/>.</summary>
    public static byte[] JpegWithOrientation6(Image upright)
    {
        UsePipelineVips();
        using var stored = upright.Rot(Enums.Angle.D270);
        using var oriented = stored.Mutate(m => m.Set(GValue.GIntType, "orientation", 6));
        return oriented.JpegsaveBuffer(q: 92);
    }

    /// <summary>PNG bytes (libvips defaults).</summary>
    public static byte[] Png(Image image)
    {
        UsePipelineVips();
        return image.PngsaveBuffer();
    }

    /// <summary>JPEG bytes at <paramref name="quality"/>.</summary>
    public static byte[] Jpeg(Image image, int quality = 95)
    {
        UsePipelineVips();
        return image.JpegsaveBuffer(q: quality);
    }

    /// <summary>WebP bytes at quality 90 (lossy unless <paramref name="lossless"/>).</summary>
    public static byte[] WebP(Image image, bool lossless = false)
    {
        UsePipelineVips();
        return image.WebpsaveBuffer(q: 90, lossless: lossless);
    }

    /// <summary>Lossless WebP bytes (libvips' default effort).</summary>
    public static byte[] WebPLossless(Image image)
    {
        UsePipelineVips();
        return image.WebpsaveBuffer(lossless: true);
    }

    /// <summary>Reads a PNG/JPEG/WebP back with libvips (for assertions on outputs).</summary>
    public static Image Load(byte[] encoded)
    {
        UsePipelineVips();
        return Image.NewFromBuffer(encoded, access: Enums.Access.Random, failOn: Enums.FailOn.Error);
    }

    /// <summary>The value of band <paramref name="band"/> at (x, y).</summary>
    public static double Pixel(Image image, int x, int y, int band) => image.Getpoint(x, y)[band];

    /// <summary>Mean absolute difference per pixel and band of two images of one size (0–255), over the first three
    /// bands.</summary>
    public static double MeanDifference(Image a, Image b)
    {
        UsePipelineVips();
        using var a3 = a.Bands > 3 ? a.ExtractBand(0, 3) : a.Copy();
        using var b3 = b.Bands > 3 ? b.ExtractBand(0, 3) : b.Copy();
        using var difference = a3.Subtract(b3);
        using var absolute = difference.Abs();
        return absolute.Avg();
    }

    /// <summary>Writes bytes, creating folders.</summary>
    public static void Write(string path, byte[] bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }
}
