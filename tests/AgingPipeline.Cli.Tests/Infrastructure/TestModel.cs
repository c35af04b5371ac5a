namespace AgingPipeline.Cli.Tests.Infrastructure;

/// <summary>The CLI as the tests run it as a real process (paths in the repository are the shared
/// <see cref="RepoPaths"/>).</summary>
public static class CliBinary
{
    /// <summary>The CLI's dll, copied next to the tests by the project reference.</summary>
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "aging.dll");
}

/// <summary>The model the tests age with: the shipped one when it is in the repository, else the analytic test model.</summary>
public static class TestModel
{
    /// <summary>The repository root to pass as --models.</summary>
    public static string Root { get; }

    /// <summary>The model name to pass as --model.</summary>
    public static string Name { get; }

    /// <summary>True when the analytic test model is used (its age-50 output equals its input).</summary>
    public static bool IsTestModel { get; }

    static TestModel()
    {
        var shipped = Path.Combine(RepoPaths.Root, "models", "character-ager");
        if (Directory.Exists(shipped) && Directory.EnumerateFiles(shipped, "model.json", SearchOption.AllDirectories).Any())
        {
            (Root, Name, IsTestModel) = (Path.Combine(RepoPaths.Root, "models"), "character-ager", false);
        }
        else
        {
            (Root, Name, IsTestModel) = (Path.Combine(RepoPaths.Root, "tests", "fixtures", "models"), "test-ager", true);
        }
    }
}

/// <summary>A scratch folder deleted at the end.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "aging-cli-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
