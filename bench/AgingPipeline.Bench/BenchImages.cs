using NetVips;

namespace AgingPipeline.Bench;

/// <summary>The fixed image set every mode reads: the held-out characters of <c>tests/fixtures/heldout</c> (256 × 256
/// PNGs) scaled to 1024 × 1024 JPEGs (1 MP) and to 4000 × 3000 JPEGs (12 MP, the character scaled to the height and
/// the sides mirrored), quality 90 with 4:2:0 chroma subsampling as cameras and most web JPEGs use it, written under
/// <c>artifacts/bench/images/</c>.</summary>
/// <remarks>Made from committed files with deterministic libvips operations, so every run (and the Python baseline,
/// which reads the same files) sees the same bytes.</remarks>
internal sealed class BenchImages
{
    private BenchImages(string directory, IReadOnlyList<string> megapixel, IReadOnlyList<string> large)
    {
        Directory = directory;
        OneMegapixel = megapixel;
        TwelveMegapixel = large;
    }

    /// <summary>The folder holding <c>1mp/</c> and <c>12mp/</c>.</summary>
    public string Directory { get; }

    /// <summary>1024 × 1024 JPEGs, one per held-out character.</summary>
    public IReadOnlyList<string> OneMegapixel { get; }

    /// <summary>4000 × 3000 JPEGs.</summary>
    public IReadOnlyList<string> TwelveMegapixel { get; }

    public string OneMegapixelDirectory => Path.Combine(Directory, "1mp");

    /// <summary>Writes the set (again) and returns it.</summary>
    /// <param name="root">Repository root.</param>
    /// <param name="directory">Where to write.</param>
    /// <param name="largeCount">How many 12 MP images (from the first characters).</param>
    public static BenchImages Create(string root, string directory, int largeCount)
    {
        var sources = System.IO.Directory.GetFiles(Path.Combine(root, "tests", "fixtures", "heldout"), "*.png").Order(StringComparer.Ordinal).ToArray();
        if (sources.Length == 0)
        {
            throw new InvalidOperationException("tests/fixtures/heldout has no PNG characters.");
        }
        var small = Path.Combine(directory, "1mp");
        var large = Path.Combine(directory, "12mp");
        foreach (var folder in new[] { small, large })
        {
            if (System.IO.Directory.Exists(folder))
            {
                System.IO.Directory.Delete(folder, recursive: true);
            }
            System.IO.Directory.CreateDirectory(folder);
        }
        var megapixel = new List<string>();
        var twelve = new List<string>();
        for (var i = 0; i < sources.Length; i++)
        {
            using var source = Image.NewFromFile(sources[i], access: Enums.Access.Random);
            using var rgb = source.Bands > 3 ? source.ExtractBand(0, 3) : source.Copy();
            using var oneMp = rgb.Resize(1024.0 / rgb.Width, kernel: Enums.Kernel.Lanczos3);
            var path = Path.Combine(small, $"char-{i:00}.jpg");
            oneMp.Jpegsave(path, q: 90, subsampleMode: Enums.ForeignSubsample.On, keep: Enums.ForeignKeep.None);
            megapixel.Add(path);
            if (i < largeCount)
            {
                using var tall = rgb.Resize(3000.0 / rgb.Height, kernel: Enums.Kernel.Lanczos3);
                using var wide = tall.Embed((4000 - tall.Width) / 2, 0, 4000, 3000, extend: Enums.Extend.Mirror);
                var largePath = Path.Combine(large, $"char-{i:00}.jpg");
                wide.Jpegsave(largePath, q: 90, subsampleMode: Enums.ForeignSubsample.On, keep: Enums.ForeignKeep.None);
                twelve.Add(largePath);
            }
        }
        return new BenchImages(directory, megapixel, twelve);
    }
}
