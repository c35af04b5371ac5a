namespace AgingPipeline.Testing;

/// <summary>Where the corpus that <see cref="TestCorpus"/> resolved comes from.</summary>
public enum CorpusSource
{
    /// <summary>The folder named by <c>AGING_CORPUS</c>.</summary>
    Environment,

    /// <summary><c>../shared/corpus</c>, a sibling of the repository (the full Pillow set, 713 files).</summary>
    Sibling,

    /// <summary>The subset committed in the repository, <c>tests/fixtures/corpus</c>.</summary>
    Subset,
}

/// <summary>The hostile image corpus (Pillow's test images: truncated streams, fuzzer crash files, decompression
/// bombs, EXIF orientations, animations, formats we refuse): the one place that says where it is.</summary>
/// <remarks>
/// <para>A corpus folder holds <c>pillow-test-images/</c>. It is resolved once per process: <c>AGING_CORPUS</c> when
/// set (it must then hold <c>pillow-test-images/</c>; a wrong path fails loudly, it never falls back); else
/// <c>../shared/corpus</c> when the repository has that sibling; else the subset committed in
/// <c>tests/fixtures/corpus</c>, so that a clone alone passes.</para>
/// <para>Tests that enumerate the corpus use <see cref="Files"/> and hold on whatever set is resolved. Tests that need
/// one particular file use <see cref="ReadFile"/>, which always reads the committed subset, so they always run and
/// always see the same bytes; a file they need must be copied there and named in its README.</para>
/// </remarks>
public static class TestCorpus
{
    /// <summary>The environment variable that points at a corpus folder (one holding <c>pillow-test-images/</c>).</summary>
    public const string Variable = "AGING_CORPUS";

    /// <summary>The folder of Pillow's test images inside a corpus folder.</summary>
    public const string ImagesFolder = "pillow-test-images";

    private static readonly Lazy<(string Root, CorpusSource Source)> s_resolved =
        new(() => Resolve(System.Environment.GetEnvironmentVariable(Variable), SiblingRoot, SubsetRoot));

    /// <summary>The sibling corpus, <c>../shared/corpus</c> relative to the repository root (it may be absent).</summary>
    public static string SiblingRoot => Path.GetFullPath(Path.Combine(RepoPaths.Root, "..", "shared", "corpus"));

    /// <summary>The subset committed in the repository, <c>tests/fixtures/corpus</c> (its README names every file,
    /// its origin and licence).</summary>
    public static string SubsetRoot => Path.Combine(RepoPaths.Root, "tests", "fixtures", "corpus");

    /// <summary>The resolved corpus folder (see the remarks of <see cref="TestCorpus"/>).</summary>
    public static string Root => s_resolved.Value.Root;

    /// <summary>Where <see cref="Root"/> comes from.</summary>
    public static CorpusSource Source => s_resolved.Value.Source;

    /// <summary>Pillow's test images of the resolved corpus: <c>{Root}/pillow-test-images</c>.</summary>
    public static string Images => Path.Combine(Root, ImagesFolder);

    /// <summary>Every file of <see cref="Images"/>, in ordinal order of their full paths.</summary>
    public static IReadOnlyList<string> Files => List(Images);

    /// <summary>Every file of the committed subset, in ordinal order of their full paths, whichever corpus is resolved.</summary>
    public static IReadOnlyList<string> SubsetFiles => List(Path.Combine(SubsetRoot, ImagesFolder));

    /// <summary>One line for reports and failure messages, e.g. <c>pillow-test-images from /work/shared/corpus (sibling), 713 files</c>.</summary>
    public static string Description =>
        $"{ImagesFolder} from {Root} ({Source.ToString().ToLowerInvariant()}), {Files.Count} files";

    /// <summary>The full path of one file of the committed subset, e.g. <c>hopper.jpg</c> or <c>apng/delay.png</c>.</summary>
    /// <exception cref="FileNotFoundException">The file is not in the subset.</exception>
    public static string FilePath(string relativePath)
    {
        var path = Path.GetFullPath(Path.Combine(SubsetRoot, ImagesFolder, relativePath));
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException(
                $"The corpus file {relativePath} is not in the committed subset ({path}). Copy it from ../shared/corpus/{ImagesFolder} "
                + "and name it, with its origin and licence, in tests/fixtures/corpus/README.md.", path);
    }

    /// <summary>Reads one file of the committed subset (see <see cref="FilePath"/>).</summary>
    public static byte[] ReadFile(string relativePath) => File.ReadAllBytes(FilePath(relativePath));

    /// <summary>The resolution rule, apart from the process environment and the file system's state at start-up:
    /// <paramref name="variable"/> (the value of <c>AGING_CORPUS</c>) when it is set, else
    /// <paramref name="siblingRoot"/> when it holds <c>pillow-test-images/</c>, else <paramref name="subsetRoot"/>.</summary>
    /// <exception cref="DirectoryNotFoundException"><c>AGING_CORPUS</c> is set to a folder without
    /// <c>pillow-test-images/</c>, or the committed subset is missing.</exception>
    public static (string Root, CorpusSource Source) Resolve(string? variable, string siblingRoot, string subsetRoot)
    {
        if (!string.IsNullOrWhiteSpace(variable))
        {
            var root = Path.GetFullPath(variable);
            return Directory.Exists(Path.Combine(root, ImagesFolder))
                ? (root, CorpusSource.Environment)
                : throw new DirectoryNotFoundException(
                    $"{Variable}={variable}, but {Path.Combine(root, ImagesFolder)} does not exist; {Variable} names a folder "
                    + $"that holds {ImagesFolder}/, like ../shared/corpus. Unset it to use ../shared/corpus or the committed subset.");
        }
        if (Directory.Exists(Path.Combine(siblingRoot, ImagesFolder)))
        {
            return (Path.GetFullPath(siblingRoot), CorpusSource.Sibling);
        }
        return Directory.Exists(Path.Combine(subsetRoot, ImagesFolder))
            ? (Path.GetFullPath(subsetRoot), CorpusSource.Subset)
            : throw new DirectoryNotFoundException($"Neither {Variable}, nor {siblingRoot}, nor the committed subset {subsetRoot} holds {ImagesFolder}/.");
    }

    private static IReadOnlyList<string> List(string folder) =>
        [.. Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];
}
