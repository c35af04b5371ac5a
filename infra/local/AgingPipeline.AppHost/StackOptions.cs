using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace AgingPipeline.AppHost;

/// <summary>Where and how the local stack runs: the <c>Stack</c> section of the AppHost's configuration (command line
/// <c>--Stack:FunctionsPort=7071</c>, environment <c>Stack__FunctionsPort</c>, or the arguments a test passes to
/// <c>DistributedApplicationTestingBuilder</c>).</summary>
/// <remarks>Ports and folders are settings, not literals, so that the tests can run several stacks at once on free
/// ports, each with its own data and logs.</remarks>
public sealed record StackOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Stack";

    /// <summary>The repository (the folder holding <c>AgingPipeline.sln</c>).</summary>
    public required string Root { get; init; }

    /// <summary>Data of this stack: Azurite's blobs and queues, the pump's state and <c>logs/</c>; <c>.local/</c> by default.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The build configuration whose <c>bin/{Configuration}/net10.0/</c> programs are started (the AppHost's own
    /// by default: building the AppHost builds them).</summary>
    public required string Configuration { get; init; }

    /// <summary><c>ASPNETCORE_ENVIRONMENT</c> of the function app and the runner, <c>DOTNET_ENVIRONMENT</c> of the pump.</summary>
    public string Environment { get; init; } = "Development";

    /// <summary>Azurite's blob port.</summary>
    public int BlobPort { get; init; } = 10000;

    /// <summary>Azurite's queue port.</summary>
    public int QueuePort { get; init; } = 10001;

    /// <summary>Azurite's table port.</summary>
    public int TablePort { get; init; } = 10002;

    /// <summary>The function app's port (<c>FUNCTIONS_CUSTOMHANDLER_PORT</c>).</summary>
    public int FunctionsPort { get; init; } = 7071;

    /// <summary>The runner's port.</summary>
    public int RunnerPort { get; init; } = 7072;

    /// <summary>Azurite keeps its data in memory (<c>--inMemoryPersistence</c>) instead of <c>{DataDirectory}/azurite</c>.</summary>
    public bool InMemoryStorage { get; init; }

    /// <summary>Whether one runner is started.</summary>
    public bool Runner { get; init; } = true;

    /// <summary>The .NET services export logs, metrics and traces to the dashboard's OTLP endpoint.</summary>
    /// <remarks>Off when nothing listens (the tests run the AppHost without a dashboard): Aspire would still point the
    /// services at a default endpoint, and every export would fail and be retried.</remarks>
    public bool Telemetry { get; init; } = true;

    /// <summary>A service that exits is started again after a back-off (<see cref="RestartPolicy"/>).</summary>
    public bool RestartDeadServices { get; init; } = true;

    /// <summary>The AppHost copies every service's console output into <c>{DataDirectory}/logs/{service}.log</c>.</summary>
    /// <remarks>Off where the caller keeps those files itself (the tests' LocalStack, with its own markers).</remarks>
    public bool LogFiles { get; init; } = true;

    /// <summary>Extra environment per service (<c>Stack:Settings:runner:Storage__VisibilityTimeout</c>): the tests'
    /// short timings, the bench's runner settings. They win over the stack's own.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Settings { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);

    /// <summary>Azurite's executable: <c>AZURITE_BIN</c>, else <c>.local/npm</c> where run.sh and test.sh install it.</summary>
    public string Azurite =>
        System.Environment.GetEnvironmentVariable("AZURITE_BIN") is { Length: > 0 } overridden
            ? overridden
            : Path.Combine(Root, ".local", "npm", "node_modules", ".bin", "azurite");

    /// <summary>The connection string every service gets.</summary>
    public string ConnectionString =>
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        string.Create(CultureInfo.InvariantCulture, $"BlobEndpoint=http://127.0.0.1:{BlobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{QueuePort}/devstoreaccount1;");

    /// <summary>The output folder of a service's project.</summary>
    public string OutputOf(string projectDirectory) => Path.Combine(Root, projectDirectory, "bin", Configuration, "net10.0");

    /// <summary>The extra settings of one service (empty when none).</summary>
    public IReadOnlyDictionary<string, string> SettingsOf(string service) =>
        Settings.TryGetValue(service, out var settings) ? settings : new Dictionary<string, string>();

    /// <summary>Reads the <c>Stack</c> section; what is not set keeps its default.</summary>
    public static StackOptions From(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        var root = section["Root"] ?? FindRoot();
        var defaults = new StackOptions { Root = root, DataDirectory = Path.Combine(root, ".local"), Configuration = OwnConfiguration() };
        int Port(string key, int fallback) => section.GetValue(key, fallback);
        return defaults with
        {
            DataDirectory = section["DataDirectory"] ?? defaults.DataDirectory,
            Configuration = section["Configuration"] ?? defaults.Configuration,
            Environment = section["Environment"] ?? defaults.Environment,
            BlobPort = Port(nameof(BlobPort), defaults.BlobPort),
            QueuePort = Port(nameof(QueuePort), defaults.QueuePort),
            TablePort = Port(nameof(TablePort), defaults.TablePort),
            FunctionsPort = Port(nameof(FunctionsPort), defaults.FunctionsPort),
            RunnerPort = Port(nameof(RunnerPort), defaults.RunnerPort),
            InMemoryStorage = section.GetValue(nameof(InMemoryStorage), defaults.InMemoryStorage),
            Runner = section.GetValue(nameof(Runner), defaults.Runner),
            RestartDeadServices = section.GetValue(nameof(RestartDeadServices), defaults.RestartDeadServices),
            Telemetry = section.GetValue(nameof(Telemetry), defaults.Telemetry),
            LogFiles = section.GetValue(nameof(LogFiles), defaults.LogFiles),
            Settings = section.GetSection(nameof(Settings)).GetChildren().ToDictionary(
                static service => service.Key,
                static service => (IReadOnlyDictionary<string, string>)service.GetChildren()
                    .ToDictionary(static s => s.Key, static s => s.Value ?? string.Empty, StringComparer.Ordinal),
                StringComparer.Ordinal),
        };
    }

    private static string OwnConfiguration() =>
        typeof(StackOptions).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AgingPipeline.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("AgingPipeline.sln not found above " + AppContext.BaseDirectory + "; set Stack:Root.");
    }
}
