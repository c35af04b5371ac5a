using AgingPipeline.Testing;

namespace AgingPipeline.UnitTests.Imaging;

/// <summary>Locates the repository and its test fixtures, wherever the repository is cloned. The image corpus is
/// <see cref="TestCorpus"/>'s.</summary>
internal static class TestPaths
{
    /// <summary>The folder that holds <c>AgingPipeline.sln</c>.</summary>
    public static string RepositoryRoot => RepoPaths.Root;

    /// <summary><c>tests/fixtures/models</c>.</summary>
    public static string FixtureModels => Path.Combine(RepositoryRoot, "tests", "fixtures", "models");
}
