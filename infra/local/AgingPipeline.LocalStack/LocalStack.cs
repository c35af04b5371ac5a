using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AgingPipeline.AppHost;
using AgingPipeline.Contracts;
using AgingPipeline.Storage;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.DependencyInjection;

namespace AgingPipeline.Testing;

/// <summary>How a <see cref="LocalStack"/> is started.</summary>
/// <param name="Name">Folder name under <c>artifacts/stacks/</c> (logs, model root, Azurite data, pump state).</param>
public sealed record LocalStackOptions(string Name)
{
    /// <summary>Azurite with <c>--location</c> (survives a stop and start) instead of <c>--inMemoryPersistence</c>.</summary>
    public bool PersistentStorage { get; init; }

    /// <summary>The runner's queue visibility timeout: how soon a message of a crashed runner reappears.</summary>
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Jobs one runner processes at once.</summary>
    public int RunnerConcurrency { get; init; } = 2;

    /// <summary>The function app's <c>FunctionApp:EnqueueRecoveryAfter</c>; null keeps its default (2 minutes).</summary>
    /// <remarks>How soon a repeated event sends the message of a job whose first delivery created the record but could
    /// not enqueue (storage went away in between). It must be shorter than the pump's retry budget, which the tests
    /// keep short (delays capped at 5 s).</remarks>
    public TimeSpan? EnqueueRecoveryAfter { get; init; }

    /// <summary>The folder under which <c>stacks/{Name}/</c> is made; the end-to-end tests' <see cref="RepoPaths.Artifacts"/>
    /// unless a caller (the benchmark harness, the browser tests) keeps its stacks elsewhere.</summary>
    public string ArtifactsDirectory { get; init; } = RepoPaths.Artifacts;

    /// <summary>Settings (environment variables) every runner of this stack gets on top of the stack's own, e.g.
    /// <c>Runner__WriteContactSheet</c> or <c>DOTNET_gcServer</c>; overrides passed to
    /// <see cref="LocalStack.StartRunnerAsync"/> still win.</summary>
    public IReadOnlyDictionary<string, string> RunnerSettings { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The build configuration whose <c>bin/{Configuration}/net10.0/</c> programs are started; by default the
    /// caller's own (<see cref="RepoPaths.Configuration"/>).</summary>
    public string Configuration { get; init; } = RepoPaths.Configuration;

    /// <summary>The hosts' environment: <c>ASPNETCORE_ENVIRONMENT</c> of the function app and the runner,
    /// <c>DOTNET_ENVIRONMENT</c> of the event pump; <c>Production</c> runs them as deployed (the browser tests).</summary>
    public string HostEnvironment { get; init; } = "Development";
}

/// <summary>The whole local stack on free loopback ports, started from the same Aspire AppHost as <c>run.sh</c>
/// (<c>infra/local/AgingPipeline.AppHost</c>, through <c>Aspire.Hosting.Testing</c>): a private Azurite, the function
/// app (<c>dotnet AgingPipeline.Functions.dll</c>, the custom handler), the event pump (uploads → OnImageUploaded,
/// aging-jobs-poison → OnPoisonJob) and one runner, plus the tests' short timings.</summary>
/// <remarks>
/// <para>The runner serves a temporary model root: the shipped models (<c>models/character-ager</c>) when they are in
/// the repository, otherwise the small test models, plus the deliberately faulty models of
/// <c>tests/fixtures/faulty-models</c> (never the default).</para>
/// <para>The AppHost's own restarts are off: a test that kills a service starts it again itself. Logs go to
/// <c>artifacts/stacks/{name}/logs/{service}.log</c> (every run of the service, a line where each starts). Dispose stops
/// the AppHost, and with it every service.</para>
/// </remarks>
public sealed class LocalStack : IAsyncDisposable
{
    private readonly LocalStackOptions _options;
    private readonly string _directory;
    private readonly Dictionary<string, int> _starts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ServiceLog> _logs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StackService> _current = new(StringComparer.Ordinal);
    private readonly List<StackService> _runners = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _logCopies = [];
    private Task _follow = Task.CompletedTask;
    private readonly int _functionPort;
    private readonly int _runnerPort;
    private DistributedApplication? _app;
    private Dictionary<string, string> _runnerOverrides = new(StringComparer.Ordinal);

    private LocalStack(LocalStackOptions options, string directory)
    {
        _options = options;
        _directory = directory;
        _functionPort = AzuriteProcess.FreePort();
        _runnerPort = AzuriteProcess.FreePort();
        Azurite = new StackAzurite(this, AzuriteProcess.FreePort(), AzuriteProcess.FreePort(), AzuriteProcess.FreePort());
        FunctionAppUrl = new Uri($"http://127.0.0.1:{_functionPort}/");
        RunnerUrl = new Uri($"http://127.0.0.1:{_runnerPort}/");
        Http = new HttpClient { BaseAddress = FunctionAppUrl, Timeout = TimeSpan.FromSeconds(120) };
        (ModelRoot, ModelName) = PrepareModelRoot(Path.Combine(directory, "models"));
    }

    /// <summary>The stack's Azurite (stop and start it with its data when <see cref="LocalStackOptions.PersistentStorage"/>).</summary>
    public StackAzurite Azurite { get; }

    /// <summary>The function app (custom handler): its current run.</summary>
    public StackService Functions => Current(AgingStack.Functions);

    /// <summary>The event pump: its current run.</summary>
    public StackService Pump => Current(AgingStack.EventPump);

    /// <summary>The current runner (replaced by every restart).</summary>
    public StackService Runner => Current(AgingStack.Runner);

    /// <summary>Every runner run so far, the current one last.</summary>
    public IReadOnlyList<StackService> RunnerHistory => _runners;

    /// <summary>Base URL of the function app.</summary>
    public Uri FunctionAppUrl { get; }

    /// <summary>Base URL of the runner.</summary>
    public Uri RunnerUrl { get; }

    /// <summary>Client of the function app.</summary>
    public HttpClient Http { get; }

    /// <summary>The default ager the stack serves (<c>character-ager</c> or <c>test-ager</c>).</summary>
    public string ModelName { get; }

    /// <summary>The runner's model root.</summary>
    public string ModelRoot { get; }

    /// <summary>The options the stack was started with.</summary>
    public LocalStackOptions Options => _options;

    /// <summary>The tests' own storage clients.</summary>
    public StorageClients Clients { get; private set; } = null!;

    /// <summary>Job records, read without retries (polling loops retry).</summary>
    public JobStore Jobs => new(Clients.Jobs, Polly.ResiliencePipeline.Empty);

    /// <summary>The job queue and its poison queue.</summary>
    public JobQueue Queue => new(Clients.JobsQueue, Clients.PoisonQueue, Polly.ResiliencePipeline.Empty, Clients.Options);

    /// <summary>Starts the AppHost and waits until Azurite accepts and the function app and the runner are healthy.</summary>
    public static async Task<LocalStack> StartAsync(LocalStackOptions options)
    {
        var directory = Path.Combine(options.ArtifactsDirectory, "stacks", options.Name);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
        Directory.CreateDirectory(directory);
        var stack = new LocalStack(options, directory);
        try
        {
            await stack.StartAllAsync();
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>The AppHost's <c>Stack</c> settings for this stack: its ports and folders, the hosts' environment, and the
    /// tests' timings on top of what every stack gets.</summary>
    private string[] AppHostArguments()
    {
        var args = new List<string>
        {
            $"Stack:Root={RepoPaths.Root}",
            $"Stack:DataDirectory={_directory}",
            $"Stack:Configuration={_options.Configuration}",
            $"Stack:Environment={_options.HostEnvironment}",
            $"Stack:BlobPort={Azurite.BlobPort}",
            $"Stack:QueuePort={Azurite.QueuePort}",
            $"Stack:TablePort={Azurite.TablePort}",
            $"Stack:FunctionsPort={_functionPort}",
            $"Stack:RunnerPort={_runnerPort}",
            $"Stack:InMemoryStorage={!_options.PersistentStorage}",
            "Stack:RestartDeadServices=false",
            "Stack:Telemetry=false",
            // The stack's ServiceLog writes logs/{service}.log (with start markers and the tests' notes).
            "Stack:LogFiles=false",
        };
        var functions = new Dictionary<string, string>(StorageSettings, StringComparer.Ordinal)
        {
            ["Uploads__DefaultModel"] = ModelName,
        };
        if (_options.EnqueueRecoveryAfter is { } recovery)
        {
            functions["FunctionApp__EnqueueRecoveryAfter"] = recovery.ToString("c");
        }
        var pump = new Dictionary<string, string>(StorageSettings, StringComparer.Ordinal)
        {
            ["EventPump__PollInterval"] = "00:00:00.250",
            ["EventPump__RetryMaxDelay"] = "00:00:05",
            ["PoisonPump__PollInterval"] = "00:00:00.250",
            ["PoisonPump__RetryVisibilityTimeout"] = "00:00:02",
        };
        var runner = new Dictionary<string, string>(StorageSettings, StringComparer.Ordinal)
        {
            ["Storage__VisibilityTimeout"] = _options.VisibilityTimeout.ToString("c"),
            ["Inference__ModelRoot"] = ModelRoot,
            ["Inference__DefaultModel"] = ModelName,
            ["Inference__IntraOpThreads"] = "2",
            ["Inference__InterOpThreads"] = "1",
            ["Runner__MaxConcurrentJobs"] = _options.RunnerConcurrency.ToString(CultureInfo.InvariantCulture),
            ["Runner__MinPollInterval"] = "00:00:00.200",
            ["Runner__MaxPollInterval"] = "00:00:01",
        };
        foreach (var (service, settings) in new[] { (AgingStack.Functions, functions), (AgingStack.EventPump, pump), (AgingStack.Runner, runner) })
        {
            args.AddRange(settings.Select(s => $"Stack:Settings:{service}:{s.Key}={s.Value}"));
        }
        return [.. args];
    }

    private async Task StartAllAsync()
    {
        var entryPoint = typeof(StackOptions).Assembly.EntryPoint?.DeclaringType
            ?? throw new InvalidOperationException("The AppHost assembly has no entry point.");
        var builder = await DistributedApplicationTestingBuilder.CreateAsync(entryPoint, AppHostArguments(), static (app, host) =>
        {
            app.DisableDashboard = true;
        });
        // The runner's settings of this stack (LocalStackOptions.RunnerSettings) and of the test (StartRunnerAsync's
        // overrides) win over the stack's own; read at every start, so a restart picks up new overrides.
        var runner = builder.Resources.OfType<ExecutableResource>().Single(r => r.Name == AgingStack.Runner);
        builder.CreateResourceBuilder(runner).WithEnvironment(context =>
        {
            foreach (var (key, value) in _options.RunnerSettings.Concat(_runnerOverrides))
            {
                context.EnvironmentVariables[key] = value;
            }
        });
        _app = await builder.BuildAsync();
        foreach (var service in new[] { AgingStack.Azurite, AgingStack.Functions, AgingStack.EventPump, AgingStack.Runner })
        {
            _logs[service] = new ServiceLog(Path.Combine(_directory, "logs", service + ".log"));
        }
        _follow = FollowAsync(_stopping.Token);
        await _app.StartAsync();

        Clients = new StorageClients(new StorageOptions
        {
            ConnectionString = Azurite.ConnectionString,
            RetryBaseDelay = TimeSpan.FromMilliseconds(100),
            RetryMaxDelay = TimeSpan.FromSeconds(1),
            NetworkTimeout = TimeSpan.FromSeconds(20),
        });
        await WaitForRunAsync(AgingStack.Azurite, null, TimeSpan.FromSeconds(60), previousPid: null);
        await Azurite.WaitUntilAcceptingAsync(TimeSpan.FromSeconds(60));
        await WaitForRunAsync(AgingStack.Functions, new Uri(FunctionAppUrl, "api/health"), TimeSpan.FromSeconds(120), previousPid: null);
        await WaitForRunAsync(AgingStack.EventPump, null, TimeSpan.FromSeconds(60), previousPid: null);
        await WaitForRunAsync(AgingStack.Runner, new Uri(RunnerUrl, "health"), TimeSpan.FromSeconds(180), previousPid: null);
    }

    /// <summary>Settings every component gets for storage: short retries (the connection string comes from the AppHost).</summary>
    private static Dictionary<string, string> StorageSettings => new(StringComparer.Ordinal)
    {
        ["Storage__RetryBaseDelay"] = "00:00:00.100",
        ["Storage__RetryMaxDelay"] = "00:00:01",
    };

    /// <summary>Starts the function app again (after <see cref="KillFunctionsAsync"/>) and waits for <c>/api/health</c>.</summary>
    public Task StartFunctionsAsync() => RestartAsync(AgingStack.Functions, new Uri(FunctionAppUrl, "api/health"), TimeSpan.FromSeconds(90));

    /// <summary>Stops the function app (SIGKILL: a crash, as far as its callers can tell).</summary>
    public async Task KillFunctionsAsync()
    {
        Functions.Note("SIGKILL by the test");
        await Functions.KillAsync();
    }

    /// <summary>Starts the runner again (the previous run must have exited) and waits until <c>/health</c> is healthy
    /// (model loaded and warmed up).</summary>
    /// <param name="overrides">Settings that replace the stack's runner settings from now on (also for later
    /// restarts), e.g. <c>Storage__VisibilityTimeout</c>; null keeps the current ones.</param>
    public async Task StartRunnerAsync(IReadOnlyDictionary<string, string>? overrides = null)
    {
        if (!Runner.HasExited)
        {
            throw new InvalidOperationException("The runner is still running; stop it first.");
        }
        if (overrides is not null)
        {
            _runnerOverrides = new Dictionary<string, string>(overrides, StringComparer.Ordinal);
        }
        await RestartAsync(AgingStack.Runner, new Uri(RunnerUrl, "health"), TimeSpan.FromSeconds(180));
    }

    /// <summary>SIGKILLs the runner: it dies mid-whatever, as in an out-of-memory kill or a lost node.</summary>
    public async Task KillRunnerAsync()
    {
        Runner.Note("SIGKILL by the test");
        await Runner.KillAsync();
    }

    /// <summary>Sends SIGTERM to the runner and waits for it to exit.</summary>
    /// <returns>The exit code.</returns>
    public async Task<int> TerminateRunnerAsync(TimeSpan timeout)
    {
        Runner.Note("SIGTERM by the test");
        Runner.Signal(ServiceProcess.SigTerm);
        if (!await Runner.WaitForExitAsync(timeout))
        {
            throw new TimeoutException($"The runner did not exit within {timeout.TotalSeconds:0} s of SIGTERM.\n{Logs()}");
        }
        return Runner.ExitCode;
    }

    /// <summary>The runner's <c>/metrics</c>.</summary>
    public async Task<RunnerMetricsSnapshot> RunnerMetricsAsync()
    {
        using var http = new HttpClient { BaseAddress = RunnerUrl, Timeout = TimeSpan.FromSeconds(10) };
        return (await http.GetFromJsonAsync<RunnerMetricsSnapshot>("metrics", JsonSerializerOptions.Web))!;
    }

    /// <summary>Writes a blob into <c>uploads</c> with the Azure SDK, as any program would (no API involved).</summary>
    /// <returns>The job id OnImageUploaded will give it (derived from container, name and ETag).</returns>
    public async Task<string> PutUploadAsync(string blobName, byte[] content, IDictionary<string, string>? metadata = null)
    {
        var response = await Clients.Uploads.GetBlobClient(blobName).UploadAsync(new BinaryData(content), new BlobUploadOptions { Metadata = metadata });
        return JobIds.FromBlob(BlobNames.UploadsContainer, blobName, response.Value.ETag.ToString());
    }

    /// <summary>Reads a job record; null when it does not exist (yet) or storage is unreachable right now.</summary>
    public async Task<JobRecord?> TryGetJobAsync(string jobId)
    {
        try
        {
            return (await Jobs.GetAsync(jobId))?.Record;
        }
        catch (Exception ex) when (ex is PipelineException or Azure.RequestFailedException or HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>Waits until every job has a record in a final state.</summary>
    /// <remarks>Polls the oldest unfinished jobs first, at most 64 per round, so that a corpus of hundreds of jobs
    /// does not flood Azurite with reads while the pipeline works.</remarks>
    public async Task<IReadOnlyDictionary<string, JobRecord>> WaitForJobsAsync(IReadOnlyCollection<string> jobIds, TimeSpan timeout)
    {
        var done = new Dictionary<string, JobRecord>(StringComparer.Ordinal);
        var pending = jobIds.Distinct().ToList();
        var deadline = DateTime.UtcNow + timeout;
        while (pending.Count > 0)
        {
            foreach (var jobId in pending.Take(64).ToArray())
            {
                if (await TryGetJobAsync(jobId) is { } record && JobStateMachine.IsTerminal(record.State))
                {
                    done[jobId] = record;
                    pending.Remove(jobId);
                }
            }
            if (pending.Count == 0)
            {
                break;
            }
            if (DateTime.UtcNow > deadline)
            {
                var states = new List<string>();
                foreach (var jobId in pending.Take(10))
                {
                    var record = await TryGetJobAsync(jobId);
                    states.Add($"{jobId}: {record?.State.ToString() ?? "no record"} (attempts {record?.Attempts}, {record?.InputBlob})");
                }
                throw new TimeoutException($"{pending.Count} of {jobIds.Count} jobs were not finished after {timeout.TotalSeconds:0} s:\n  "
                    + string.Join("\n  ", states) + "\n" + Logs());
            }
            await Task.Delay(TimeSpan.FromMilliseconds(pending.Count > 64 ? 1000 : 250));
        }
        return done;
    }

    /// <summary>Waits until one job has a record in a final state.</summary>
    public async Task<JobRecord> WaitForJobAsync(string jobId, TimeSpan timeout) => (await WaitForJobsAsync([jobId], timeout))[jobId];

    /// <summary>The names of the blobs in <c>aged/{jobId}/</c>, without the folder.</summary>
    public async Task<IReadOnlyList<string>> ListOutputsAsync(string jobId)
    {
        var names = new List<string>();
        await foreach (var item in Clients.Aged.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix: jobId + "/", CancellationToken.None))
        {
            names.Add(item.Name[(jobId.Length + 1)..]);
        }
        return names;
    }

    /// <summary>Downloads a blob of the <c>aged</c> container.</summary>
    public async Task<byte[]> DownloadOutputAsync(string blobName) =>
        (await Clients.Aged.GetBlobClient(blobName).DownloadContentAsync()).Value.Content.ToArray();

    /// <summary>Throws unless the function app, the pump and the runner are alive and both health endpoints answer 2xx.</summary>
    public async Task AssertAliveAsync()
    {
        foreach (var service in new[] { Functions, Pump, Runner })
        {
            if (service.HasExited)
            {
                throw new InvalidOperationException($"{service.Name} exited with {service.ExitCode}.\n{Logs()}");
            }
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        foreach (var url in new[] { new Uri(FunctionAppUrl, "api/health"), new Uri(RunnerUrl, "health") })
        {
            using var response = await http.GetAsync(url);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"{url} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        }
    }

    /// <summary>The last lines of every process's output, for failure messages.</summary>
    public string Logs(int lines = 40)
    {
        var text = new StringBuilder();
        foreach (var service in new[] { AgingStack.Azurite, AgingStack.Functions, AgingStack.EventPump, AgingStack.Runner })
        {
            if (_current.TryGetValue(service, out var run))
            {
                text.AppendLine($"----- {run.Name} ({run.LogFile}) -----").AppendLine(run.Tail(lines));
            }
            else if (_logs.TryGetValue(service, out var log))
            {
                var all = log.Lines(0, null);
                text.AppendLine($"----- {service}, not running ({log.Path}) -----").AppendLine(string.Join(Environment.NewLine, all.Skip(Math.Max(0, all.Count - lines))));
            }
        }
        return text.ToString();
    }

    /// <summary>Every line of every runner's log (all restarts).</summary>
    public string AllRunnerLogs() => string.Join("\n", _runners.Select(r => r.ReadLog()));

    /// <summary>Approximate lengths of the job queue and its poison queue (visible and invisible messages).</summary>
    public async Task<(int Jobs, int Poison)> QueueLengthsAsync()
    {
        var jobs = await Clients.JobsQueue.GetPropertiesAsync();
        var poison = await Clients.PoisonQueue.GetPropertiesAsync();
        return (jobs.Value.ApproximateMessagesCount, poison.Value.ApproximateMessagesCount);
    }

    /// <summary>Starts the built <c>aging</c> CLI (<c>cli/AgingPipeline.Cli/bin/{Configuration}/net10.0/aging.dll</c>)
    /// as a child process pointed at this stack's storage (<c>AGING_STORAGE_CONNECTION_STRING</c>); its output goes to
    /// <c>logs/cli-{n}.log</c>. For runs that are killed; <see cref="RunCliAsync"/> runs one to its end.</summary>
    /// <remarks>The caller's project must build the CLI (a build-only project reference, as for the runner).</remarks>
    public ServiceProcess StartCli(IEnumerable<string> args) =>
        StartDotnet("cli", Path.Combine("cli", "AgingPipeline.Cli"), "aging", [.. args], CliEnvironment);

    /// <summary>Runs the built <c>aging</c> CLI to its end (see <see cref="StartCli"/>), with stdout and stderr kept
    /// apart (stdout carries <c>--json</c> documents); both are also written to <c>logs/cli-{n}.log</c>.</summary>
    /// <exception cref="TimeoutException">It ran longer than <paramref name="timeout"/> (it is killed).</exception>
    public async Task<CliOutcome> RunCliAsync(IEnumerable<string> args, TimeSpan timeout)
    {
        var directory = Path.Combine(RepoPaths.Root, "cli", "AgingPipeline.Cli", "bin", _options.Configuration, "net10.0");
        var dll = Path.Combine(directory, "aging.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is missing; build the caller's project (it must reference the CLI) in {_options.Configuration}.");
        }
        var start = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in CliEnvironment)
        {
            start.Environment[key] = value;
        }
        var n = _starts["cli"] = _starts.GetValueOrDefault("cli") + 1;
        using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = true;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        var outcome = new CliOutcome(process.ExitCode, await stdout, await stderr);
        var logFile = Path.Combine(_directory, "logs", $"cli-{n}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
        await File.WriteAllTextAsync(logFile, $"# {DateTime.UtcNow:O} dotnet {string.Join(' ', start.ArgumentList)}\n{outcome}\n");
        return timedOut
            ? throw new TimeoutException($"aging ran longer than {timeout.TotalSeconds:0} s and was killed.\n{outcome}")
            : outcome;
    }

    private Dictionary<string, string> CliEnvironment => new(StringComparer.Ordinal)
    {
        ["AGING_STORAGE_CONNECTION_STRING"] = Azurite.ConnectionString,
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
    };

    /// <summary>Stops every service of the stack.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            try
            {
                await _app.StopAsync();
            }
            catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException)
            {
            }
            await _app.DisposeAsync();
        }
        await _stopping.CancelAsync();
        await _follow;
        await Task.WhenAll(_logCopies);
        foreach (var log in _logs.Values)
        {
            log.Dispose();
        }
        _stopping.Dispose();
        Http.Dispose();
    }

    internal StackService Current(string service) =>
        _current.TryGetValue(service, out var run) ? run : throw new InvalidOperationException($"{service} has not started.");

    /// <summary>Starts a service that has exited again (the AppHost's start command) and waits for its new run.</summary>
    internal async Task RestartAsync(string service, Uri? health, TimeSpan timeout)
    {
        var previous = Current(service);
        if (!previous.HasExited)
        {
            await previous.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
        var resource = _app!.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == service);
        var result = await _app.Services.GetRequiredService<ResourceCommandService>().ExecuteCommandAsync(resource, KnownResourceCommands.StartCommand);
        if (!result.Success)
        {
            throw new InvalidOperationException($"{service} could not be started again: {result.Message}\n{Logs()}");
        }
        await WaitForRunAsync(service, health, timeout, previous.Pid);
    }

    /// <summary>Waits until <paramref name="service"/> runs with a process other than <paramref name="previousPid"/>,
    /// records that run, then waits for <paramref name="health"/> to answer 2xx.</summary>
    private async Task WaitForRunAsync(string service, Uri? health, TimeSpan timeout, int? previousPid)
    {
        var notifications = _app!.Services.GetRequiredService<ResourceNotificationService>();
        using var cts = new CancellationTokenSource(timeout);
        ResourceEvent started;
        try
        {
            started = await notifications.WaitForResourceAsync(service, e =>
                StackService.IsRunningState(e.Snapshot) && StackService.PidOf(e.Snapshot) is { } pid && pid != previousPid
                || e.Snapshot.State?.Text is "FailedToStart" or "Exited" or "Finished" && previousPid is null, cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{service} did not start within {timeout.TotalSeconds:0} s.\n{Logs()}");
        }
        if (StackService.PidOf(started.Snapshot) is not { } newPid || !StackService.IsRunningState(started.Snapshot))
        {
            throw new InvalidOperationException($"{service} did not start ({started.Snapshot.State?.Text}, exit code {started.Snapshot.ExitCode}).\n{Logs()}");
        }
        var n = _starts[service] = _starts.GetValueOrDefault(service) + 1;
        var log = _logs[service];
        // The first run owns the log from its start (its output files are found, and their backlog read, only once it
        // runs); a later run starts here: a process writes its first line about a second after the orchestrator reports
        // it running, and its new output files are found on that same report.
        var firstLine = n == 1 ? 0 : log.Count;
        if (_current.TryGetValue(service, out var previous))
        {
            previous.Close();
        }
        log.Add(string.Create(CultureInfo.InvariantCulture, $"# {DateTime.UtcNow:O} {service}#{n} started, pid {newPid}"));
        var run = new StackService(_app, service, n, log, newPid, firstLine);
        _current[service] = run;
        if (service == AgingStack.Runner)
        {
            _runners.Add(run);
        }
        if (health is not null)
        {
            await WaitForHttpAsync(run, health, timeout);
        }
    }

    /// <summary>Copies every service's console output into its <see cref="ServiceLog"/>: each run's output files as the
    /// orchestrator writes them (<see cref="DcpOutputTail"/>, found by the resource's instance id), or, where those
    /// files are not found, the AppHost's log stream (kept under the resource's instance id, known once the resource has
    /// been created; it relays the same lines later).</summary>
    private async Task FollowAsync(CancellationToken cancellationToken)
    {
        var notifications = _app!.Services.GetRequiredService<ResourceNotificationService>();
        var loggers = _app.Services.GetRequiredService<ResourceLoggerService>();
        var tailedRuns = new HashSet<string>(StringComparer.Ordinal);
        var tailedServices = new HashSet<string>(StringComparer.Ordinal);
        var streamedServices = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await foreach (var change in notifications.WatchAsync(cancellationToken))
            {
                var service = change.Resource.Name;
                if (!_logs.TryGetValue(service, out var log) || streamedServices.Contains(service))
                {
                    continue;
                }
                var found = false;
                foreach (var tail in DcpOutputTail.FindRuns(change.ResourceId))
                {
                    found = true;
                    if (tailedRuns.Add(tail.Uid))
                    {
                        tailedServices.Add(service);
                        log.Attach(tail);
                        _logCopies.Add(tail.FollowAsync(log, cancellationToken));
                    }
                }
                if (found)
                {
                    continue;
                }
                else if (StackService.IsRunningState(change.Snapshot) && !tailedServices.Contains(service))
                {
                    // No output files to follow for this service: take the AppHost's stream for all its runs.
                    streamedServices.Add(service);
                    _logCopies.Add(CopyAsync(loggers, change.ResourceId, log, cancellationToken));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task CopyAsync(ResourceLoggerService loggers, string resourceId, ServiceLog log, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var batch in loggers.WatchAsync(resourceId).WithCancellation(cancellationToken))
            {
                foreach (var line in batch)
                {
                    log.Add(line.Content);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private ServiceProcess StartDotnet(string name, string projectDirectory, string assembly, string[] args, Dictionary<string, string> environment)
    {
        var directory = Path.Combine(RepoPaths.Root, projectDirectory, "bin", _options.Configuration, "net10.0");
        var dll = Path.Combine(directory, assembly + ".dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is missing; build the test project or the bench (they build the stack's projects first) in {_options.Configuration}.");
        }
        var n = _starts[name] = _starts.GetValueOrDefault(name) + 1;
        return ServiceProcess.Start($"{name}#{n}", "dotnet", [dll, .. args], directory, environment, Path.Combine(_directory, "logs", $"{name}-{n}.log"));
    }

    private async Task WaitForHttpAsync(StackService process, Uri url, TimeSpan timeout)
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
            await Task.Delay(200);
        }
        throw new TimeoutException($"{url} did not answer 2xx within {timeout.TotalSeconds:0} s (last: {last}).\n{Logs()}");
    }

    /// <summary>Copies the served models into <paramref name="root"/>: the shipped ones when present (the lead commits
    /// them to <c>models/</c>) unless <c>AGING_E2E_MODEL=test</c>, otherwise the test models; plus the faulty test-only
    /// models.</summary>
    private static (string Root, string DefaultModel) PrepareModelRoot(string root)
    {
        var shipped = Path.Combine(RepoPaths.Root, "models");
        var forceTestModel = Environment.GetEnvironmentVariable("AGING_E2E_MODEL") == "test";
        var (source, name) = !forceTestModel && Directory.Exists(Path.Combine(shipped, "character-ager"))
            && Directory.EnumerateFiles(Path.Combine(shipped, "character-ager"), "model.json", SearchOption.AllDirectories).Any()
            ? (shipped, "character-ager")
            : (Path.Combine(RepoPaths.Root, "tests", "fixtures", "models"), "test-ager");
        foreach (var folder in new[] { source, Path.Combine(RepoPaths.Root, "tests", "fixtures", "faulty-models") })
        {
            foreach (var model in Directory.EnumerateDirectories(folder))
            {
                CopyDirectory(model, Path.Combine(root, Path.GetFileName(model)));
            }
        }
        return (root, name);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
        }
        foreach (var directory in Directory.EnumerateDirectories(from))
        {
            CopyDirectory(directory, Path.Combine(to, Path.GetFileName(directory)));
        }
    }
}

/// <summary>The runner's <c>/metrics</c> (the fields the tests and the bench read).</summary>
public sealed record RunnerMetricsSnapshot(long JobsInFlight, long JobsSucceeded, long JobsFailed, long JobsRetried, long JobsPoisoned, long OutputsWritten)
{
    /// <summary>Batching figures per served model.</summary>
    public IReadOnlyList<RunnerModelMetrics> Models { get; init; } = [];

    /// <summary>Job-seconds per stage since the runner started.</summary>
    public IReadOnlyList<RunnerStageMetrics> Stages { get; init; } = [];
}

/// <summary>Batching figures of one served model in <c>/metrics</c>.</summary>
public sealed record RunnerModelMetrics(string Name, string Version, string ExecutionProvider, int MaxBatch, long Batches, long Requests, int LargestBatch, double RunSeconds);

/// <summary>Count and total seconds of one runner stage in <c>/metrics</c>.</summary>
public sealed record RunnerStageMetrics(string Stage, long Count, double TotalSeconds);

/// <summary>How a run of the <c>aging</c> CLI ended (<see cref="LocalStack.RunCliAsync"/>).</summary>
/// <param name="ExitCode">The process exit code.</param>
/// <param name="Stdout">Standard output (the <c>--json</c> document).</param>
/// <param name="Stderr">Standard error (messages, notes).</param>
public sealed record CliOutcome(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The exit code and both outputs, for an assertion message.</summary>
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}
