namespace AgingPipeline.Cli.Models;

/// <summary>Finds the model repository the CLI serves from.</summary>
/// <remarks>Order: <c>--models</c>; the <c>AGING_MODELS</c> environment variable; the <c>models/</c> folder of the
/// repository the binary was built in (found by walking up to <c>AgingPipeline.sln</c>), so that <c>./aging</c> always
/// uses the models committed in the working tree rather than a copy made at build time; finally <c>models/</c> next to
/// the binary, which is where an installed tool keeps the models packed with it.</remarks>
internal static class ModelRoots
{
    /// <summary>Environment variable that names the model repository root.</summary>
    public const string EnvironmentVariable = "AGING_MODELS";

    /// <summary>Resolves the root to serve from.</summary>
    /// <param name="option">The <c>--models</c> value, if given.</param>
    public static string Resolve(string? option)
    {
        if (!string.IsNullOrWhiteSpace(option))
        {
            return Path.GetFullPath(option);
        }
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
        {
            return Path.GetFullPath(fromEnvironment);
        }
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var models = Path.Combine(directory.FullName, "models");
            if (File.Exists(Path.Combine(directory.FullName, "AgingPipeline.sln")) && Directory.Exists(models))
            {
                return models;
            }
        }
        return Path.Combine(AppContext.BaseDirectory, "models");
    }
}
