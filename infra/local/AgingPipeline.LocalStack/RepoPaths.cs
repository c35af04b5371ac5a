namespace AgingPipeline.Testing;

/// <summary>Paths inside (and next to) the repository.</summary>
public static class RepoPaths
{
    /// <summary>The folder holding <c>AgingPipeline.sln</c>, found by walking up from the calling program's binaries.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary><c>tests/fixtures/heldout</c>: held-out character renders (256×256 RGB PNG).</summary>
    public static string Heldout => Path.Combine(Root, "tests", "fixtures", "heldout");

    /// <summary><c>tests/fixtures/models</c>: the tiny ONNX test models (<c>test-ager</c>, …).</summary>
    public static string FixtureModels => Path.Combine(Root, "tests", "fixtures", "models");

    /// <summary>Azurite, installed by <c>test.sh</c>/<c>run.sh</c> into <c>.local/npm</c> (or <c>AZURITE_BIN</c>).</summary>
    public static string Azurite =>
        Environment.GetEnvironmentVariable("AZURITE_BIN") is { Length: > 0 } overridden
            ? overridden
            : Path.Combine(Root, ".local", "npm", "node_modules", ".bin", "azurite");

    /// <summary>Logs, reports and stack data of the end-to-end tests (git-ignored: <c>artifacts/</c>); the default
    /// folder of <see cref="LocalStackOptions.ArtifactsDirectory"/>.</summary>
    public static string Artifacts { get; } = Path.Combine(Root, "tests", "AgingPipeline.EndToEndTests", "artifacts");

    /// <summary>The build configuration the calling program was built with (<c>bin/{Configuration}/net10.0/</c>); the
    /// stack's projects are built in the same configuration because the test project (or the bench) references them.</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    /// <summary>True when the long runs are asked for (<c>AGING_LONG=1</c>).</summary>
    public static bool LongRun => Environment.GetEnvironmentVariable("AGING_LONG") is "1" or "true" or "yes";

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AgingPipeline.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("AgingPipeline.sln not found above " + AppContext.BaseDirectory);
    }
}
