namespace AgingPipeline.UnitTests.Imaging;

/// <summary>Locates the repository, its test fixtures and the shared corpus, wherever the repository is cloned.</summary>
internal static class TestPaths
{
    private static readonly Lazy<string> s_repositoryRoot = new(FindRepositoryRoot);

    /// <summary>The folder that holds <c>AgingPipeline.sln</c>.</summary>
    public static string RepositoryRoot => s_repositoryRoot.Value;

    /// <summary><c>tests/fixtures/models</c>.</summary>
    public static string FixtureModels => Path.Combine(RepositoryRoot, "tests", "fixtures", "models");

    /// <summary>The Pillow test images in <c>../shared/corpus</c>, a sibling of the repository.</summary>
    public static string Corpus => Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "corpus", "pillow-test-images"));

    /// <summary>Reads one corpus file.</summary>
    public static byte[] CorpusFile(string relativePath)
    {
        var path = Path.Combine(Corpus, relativePath);
        Assert.True(File.Exists(path), $"The corpus file {path} is missing; the shared corpus must be a sibling of the repository.");
        return File.ReadAllBytes(path);
    }

    private static string FindRepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AgingPipeline.sln")))
            {
                return directory.FullName;
            }
            directory = directory.Parent;
        }
        throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} contains AgingPipeline.sln.");
    }
}
