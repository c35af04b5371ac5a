using System.Collections.Concurrent;
using System.Globalization;
using AgingPipeline.AppHost;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgingPipeline.InfraTests;

/// <summary>The AppHost that <c>run.sh</c> starts keeps its services running: a service that dies is started again,
/// with a line saying which one and how it ended, and the others are left alone (what <c>supervise.sh</c> did for each
/// service before the stack moved into the AppHost; <see cref="SupervisorTests"/> covers <c>supervise.sh</c>, which
/// now keeps the AppHost itself running).</summary>
public sealed class AppHostRestartTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "aging-apphost-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_killed_service_is_started_again_with_a_line_saying_so_while_the_others_keep_running()
    {
        // The stack without the runner (no model loading): Azurite, the function app, the event pump.
        string[] args =
        [
            $"Stack:Root={RepoPaths.Root}",
            $"Stack:DataDirectory={_directory}",
            $"Stack:Configuration={RepoPaths.Configuration}",
            $"Stack:BlobPort={AzuriteProcess.FreePort()}",
            $"Stack:QueuePort={AzuriteProcess.FreePort()}",
            $"Stack:TablePort={AzuriteProcess.FreePort()}",
            $"Stack:FunctionsPort={AzuriteProcess.FreePort()}",
            $"Stack:RunnerPort={AzuriteProcess.FreePort()}",
            "Stack:InMemoryStorage=true",
            "Stack:Runner=false",
            "Stack:Telemetry=false",
        ];
        var entryPoint = typeof(StackOptions).Assembly.EntryPoint!.DeclaringType!;
        var builder = await DistributedApplicationTestingBuilder.CreateAsync(entryPoint, args, static (app, _) => app.DisableDashboard = true);
        var lines = new LineCollector();
        builder.Services.AddLogging(logging => logging.AddProvider(lines));
        await using var app = await builder.BuildAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await app.StartAsync(timeout.Token);
        var notifications = app.Services.GetRequiredService<ResourceNotificationService>();

        var pump = await RunningPidAsync(notifications, AgingStack.EventPump, previous: null, timeout.Token);
        var functions = await RunningPidAsync(notifications, AgingStack.Functions, previous: null, timeout.Token);
        Assert.Equal(0, Kill(pump, 9));

        var restarted = await RunningPidAsync(notifications, AgingStack.EventPump, previous: pump, timeout.Token);
        Assert.NotEqual(pump, restarted);
        Assert.Contains(lines.All, line => System.Text.RegularExpressions.Regex.IsMatch(line,
            @"event-pump died \(killed by a signal\) after \d+ s; restarting it in 1 s \(restart 1; log: .*event-pump\.log\)"));
        Assert.True(notifications.TryGetCurrentState(AgingStack.Functions, out var now) && StackService.PidOf(now.Snapshot) == functions,
            "the function app was restarted too");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(6, 32)]
    [InlineData(7, 60)]
    [InlineData(30, 60)]
    public void The_back_off_doubles_from_1_s_up_to_60_s(int restart, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), RestartPolicy.Delay(restart));

    private static async Task<int> RunningPidAsync(ResourceNotificationService notifications, string resource, int? previous, CancellationToken cancellationToken)
    {
        var e = await notifications.WaitForResourceAsync(resource,
            e => StackService.IsRunningState(e.Snapshot) && StackService.PidOf(e.Snapshot) is { } pid && pid != previous, cancellationToken);
        return StackService.PidOf(e.Snapshot)!.Value;
    }

    private static int Kill(int pid, int signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        return kill.ExitCode;
    }

    /// <summary>Every message the AppHost logs.</summary>
    private sealed class LineCollector : ILoggerProvider, ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyCollection<string> All => [.. _lines];

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue(formatter(state, exception));

        public void Dispose()
        {
        }
    }
}
