using AgingPipeline.Imaging;
using NetVips;

namespace AgingPipeline.Cli.Tests.Infrastructure;

/// <summary>Makes test inputs from the held-out character renders with libvips.</summary>
public static class TestImages
{
    static TestImages()
    {
        VipsRuntime.Initialize(new ImagingOptions());
    }

    /// <summary>Held-out render number <paramref name="index"/> (wrapping), 8-bit sRGB without alpha, resized to
    /// <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static Image Character(int index, int width, int height)
    {
        var files = Directory.GetFiles(RepoPaths.Heldout, "*.png").Order(StringComparer.Ordinal).ToArray();
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
        using var character = Character(index, width, height);
        using var black = Image.Black(width, Math.Max(4, height / 6), bands: 3);
        using var red = black.Linear([1.0, 1.0, 1.0], [255.0, 0.0, 0.0]);
        using var band = red.Cast(Enums.BandFormat.Uchar);
        using var marked = character.Insert(band, 0, 0);
        return marked.Copy(interpretation: Enums.Interpretation.Srgb);
    }

    /// <summary>The same image with an alpha channel (a transparent border).</summary>
    public static Image WithAlpha(Image image)
    {
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
        using var stored = upright.Rot(Enums.Angle.D270);
        using var oriented = stored.Mutate(m => m.Set(GValue.GIntType, "orientation", 6));
        return oriented.JpegsaveBuffer(q: 92);
    }

    public static byte[] Png(Image image) => image.PngsaveBuffer();

    public static byte[] Jpeg(Image image, int quality = 90) => image.JpegsaveBuffer(q: quality);

    public static byte[] WebP(Image image, bool lossless = false) => image.WebpsaveBuffer(q: 90, lossless: lossless);

    /// <summary>Mean absolute difference per pixel and band of two images of one size (0–255).</summary>
    public static double MeanDifference(Image a, Image b)
    {
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
