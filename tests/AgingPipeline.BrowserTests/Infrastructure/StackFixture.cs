using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using AgingPipeline.IntegrationTests.Infrastructure;
using AgingPipeline.Storage;
using Microsoft.Playwright;

namespace AgingPipeline.BrowserTests.Infrastructure;

/// <summary>The whole local stack, as real processes on free loopback ports, plus one Chromium: a private Azurite
/// (the integration tests' <see cref="AzuriteInstance"/>), the function app (<c>dotnet AgingPipeline.Functions.dll</c>),
/// the event pump and one runner serving the shipped model (or the small test model while none is shipped).</summary>
/// <remarks>Every process gets its settings through environment variables, as <c>run.sh</c> passes them; their output
/// goes to <c>artifacts/logs/</c> next to the test binaries' project, so a failing test explains itself.</remarks>
public sealed class StackFixture : IAsyncLifetime
{
    /// <summary>Debian's Chromium; Playwright never downloads a browser here.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] s_chromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private readonly List<StackProcess> _processes = [];
    private AzuriteInstance? _azurite;
    private IPlaywright? _playwright;

    /// <summary>Base URL of the function app, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string BaseUrl { get; private set; } = string.Empty;

    /// <summary>The browser.</summary>
    public IBrowser Browser { get; private set; } = null!;

    /// <summary>The model the stack serves.</summary>
    public string ModelName { get; private set; } = string.Empty;

    /// <summary>Where screenshots and logs go (git-ignored).</summary>
    public static string ArtifactsDirectory { get; } = Path.Combine(RepoPaths.Root, "tests", "AgingPipeline.BrowserTests", "artifacts");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException(
                $"{ChromiumPath} is missing. Install Debian's Chromium (tests/AgingPipeline.BrowserTests/ensure-chromium.sh, or apt-get install -y chromium); never `playwright install`.");
        }
        Directory.CreateDirectory(Path.Combine(ArtifactsDirectory, "logs"));

        _azurite = await AzuriteInstance.StartAsync();
        await _azurite.CreateClients().EnsureCreatedAsync();

        var (modelRoot, modelName) = ChooseModel();
        ModelName = modelName;
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // bin/{Configuration}/net10.0/
        var storage = new Dictionary<string, string>
        {
            ["Storage__ConnectionString"] = _azurite.ConnectionString,
            ["Storage__RetryBaseDelay"] = "00:00:00.100",
            ["Storage__RetryMaxDelay"] = "00:00:01",
        };

        var functionPort = FreePort();
        BaseUrl = $"http://127.0.0.1:{functionPort}";
        var functions = Start("functions", Path.Combine("functions", "AgingPipeline.Functions"), "AgingPipeline.Functions", configuration, [], new(storage)
        {
            ["FUNCTIONS_CUSTOMHANDLER_PORT"] = functionPort.ToString(),
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Uploads__DefaultModel"] = modelName,
        });

        var runnerPort = FreePort();
        var runner = Start("runner", Path.Combine("gpu-runner", "AgingPipeline.Runner"), "AgingPipeline.Runner", configuration,
            ["--urls", $"http://127.0.0.1:{runnerPort}"], new(storage)
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["Inference__ModelRoot"] = modelRoot,
                ["Inference__DefaultModel"] = modelName,
                ["Inference__IntraOpThreads"] = "2",
                ["Inference__InterOpThreads"] = "1",
                ["Runner__MaxConcurrentJobs"] = "2",
                ["Runner__MinPollInterval"] = "00:00:00.200",
                ["Runner__MaxPollInterval"] = "00:00:01",
            });

        await WaitForHttpAsync(functions, $"{BaseUrl}/api/health", TimeSpan.FromSeconds(90));

        var stateFile = Path.Combine(Path.GetTempPath(), $"aging-browser-tests-{Guid.NewGuid():N}", "state.json");
        Start("event-pump", Path.Combine("infra", "local", "AgingPipeline.EventPump"), "AgingPipeline.EventPump", configuration, [], new(storage)
        {
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["EventPump__FunctionAppUrl"] = BaseUrl,
            ["EventPump__StateFile"] = stateFile,
            ["EventPump__PollInterval"] = "00:00:00.250",
        });

        await WaitForHttpAsync(runner, $"http://127.0.0.1:{runnerPort}/health", TimeSpan.FromSeconds(180));

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = s_chromiumArgs,
        });
    }

    /// <summary>Everything the processes wrote so far (for failure messages).</summary>
    public string Logs()
    {
        var text = new StringBuilder();
        foreach (var process in _processes)
        {
            text.AppendLine($"----- {process.Name} (last lines) -----").AppendLine(process.Tail(60));
        }
        return text.ToString();
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        _playwright?.Dispose();
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync();
        }
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }

    /// <summary>The shipped model when it is in the repository, otherwise the small test model.</summary>
    private static (string Root, string Name) ChooseModel()
    {
        var shipped = Path.Combine(RepoPaths.Root, "models");
        if (Directory.Exists(Path.Combine(shipped, "character-ager"))
            && Directory.EnumerateFiles(Path.Combine(shipped, "character-ager"), "model.json", SearchOption.AllDirectories).Any())
        {
            return (shipped, "character-ager");
        }
        return (Path.Combine(RepoPaths.Root, "tests", "fixtures", "models"), "test-ager");
    }

    private StackProcess Start(string name, string projectDirectory, string assembly, string configuration, string[] args, Dictionary<string, string> environment)
    {
        var directory = Path.Combine(RepoPaths.Root, projectDirectory, "bin", configuration, "net10.0");
        var dll = Path.Combine(directory, assembly + ".dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is missing; build the test project (it builds the stack's projects first).");
        }
        var process = StackProcess.Start(name, dll, directory, args, environment, Path.Combine(ArtifactsDirectory, "logs", name + ".log"));
        _processes.Add(process);
        return process;
    }

    private async Task WaitForHttpAsync(StackProcess process, string url, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        var last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.Name} exited with {process.ExitCode} before {url} answered.\n{Logs()}");
            }
            try
            {
                using var response = await http.GetAsync(url);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
                last = $"HTTP {(int)response.StatusCode}";
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                last = ex.GetType().Name;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"{url} did not answer 2xx within {timeout.TotalSeconds:0} s (last: {last}).\n{Logs()}");
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }
}

/// <summary>One <c>dotnet some.dll</c> process whose output is kept in memory and in a log file.</summary>
public sealed class StackProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Queue<string> _tail = new();

    private StackProcess(string name, Process process, StreamWriter log)
    {
        Name = name;
        _process = process;
        _log = log;
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static StackProcess Start(string name, string dll, string workingDirectory, string[] args, Dictionary<string, string> environment, string logFile)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var log = new StreamWriter(logFile, append: false) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{name} did not start.");
        var instance = new StackProcess(name, process, log);
        process.OutputDataReceived += (_, e) => instance.Append(e.Data);
        process.ErrorDataReceived += (_, e) => instance.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return instance;
    }

    public string Tail(int lines)
    {
        lock (_tail)
        {
            return string.Join(Environment.NewLine, _tail.Skip(Math.Max(0, _tail.Count - lines)));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        lock (_tail)
        {
            _log.Dispose();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_tail)
        {
            _tail.Enqueue(line);
            if (_tail.Count > 400)
            {
                _tail.Dequeue();
            }
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
