using System.CommandLine;
using AgingPipeline.Cli.Batch;
using AgingPipeline.Cli.Models;

namespace AgingPipeline.Cli.Infrastructure;

/// <summary>The options shared by several commands, created once per command tree.</summary>
internal sealed class CliOptions
{
    /// <summary>Machine-readable output on stdout (every command).</summary>
    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Write one JSON document to stdout instead of tables (for scripts).",
        Recursive = true,
    };

    /// <summary>No progress and no notes; errors and the result only.</summary>
    public Option<bool> Quiet { get; } = new("--quiet", "-q")
    {
        Description = "Show no progress and no notes; only errors and the result.",
        Recursive = true,
    };

    /// <summary>Target ages.</summary>
    public static Option<string[]> Ages(bool required) => new("--ages", "-a")
    {
        Description = "Target ages in years, comma-separated, e.g. 20,40,60 (5–90, at most 8).",
        Required = required,
        Arity = required ? ArgumentArity.OneOrMore : ArgumentArity.ZeroOrMore,
    };

    /// <summary>Model name and optional version.</summary>
    public static Option<string?> Model() => new("--model", "-m")
    {
        Description = "Model as name[:version] (default: character-ager, newest valid version).",
    };

    /// <summary>Which part of each picture is aged.</summary>
    public static Option<string?> Region() => new("--region", "-r")
    {
        Description = "What to age: auto (the faces found, else the whole picture; default), faces (the faces found; a picture without one fails with NoFaceFound) or whole (the whole picture).",
        HelpName = "auto|faces|whole",
    };

    /// <summary>Root of a local model repository.</summary>
    public static Option<string?> Models() => new("--models")
    {
        Description = $"Model repository root ({{name}}/{{version}}/model.json). Default: ${ModelRoots.EnvironmentVariable}, else models/ of this repository, else models/ next to the tool.",
    };

    /// <summary>Storage connection string.</summary>
    public static Option<string?> Connection() => new("--connection")
    {
        Description = $"Storage connection string (default: ${StorageConnection.ConnectionStringVariable}, else the local Azurite: UseDevelopmentStorage=true).",
    };

    /// <summary>Storage account URL for Entra ID sign-in.</summary>
    public static Option<string?> AccountUrl() => new("--account-url")
    {
        Description = "Blob endpoint of an Azure storage account, e.g. https://myaccount.blob.core.windows.net; signs in with DefaultAzureCredential (az login, managed identity, AZURE_* environment variables).",
    };

    /// <summary>Overwrite existing outputs.</summary>
    public static Option<bool> Force() => new("--force", "-f")
    {
        Description = "Write outputs again even when they already exist.",
    };
}
