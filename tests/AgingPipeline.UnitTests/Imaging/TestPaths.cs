namespace AgingPipeline.UnitTests.Imaging;

/// <summary>Old names for two of the shared <see cref="RepoPaths"/>, kept only while <c>ShippedModels/</c> still uses
/// them (that folder is being changed elsewhere); new code uses <see cref="RepoPaths.Root"/> and
/// <see cref="RepoPaths.FixtureModels"/>.</summary>
internal static class TestPaths
{
    /// <summary><see cref="RepoPaths.Root"/>.</summary>
    public static string RepositoryRoot => RepoPaths.Root;

    /// <summary><see cref="RepoPaths.FixtureModels"/>.</summary>
    public static string FixtureModels => RepoPaths.FixtureModels;
}
