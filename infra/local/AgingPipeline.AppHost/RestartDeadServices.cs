using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgingPipeline.AppHost;

/// <summary>When and how a dead service is started again.</summary>
/// <remarks>One crashed process (a runner killed for memory, a function app that hit a bug) must not end the stack,
/// storage included; a crash loop must not spin either. So: 1 s, doubling up to 60 s, and back to 1 s once the service
/// has stayed up for 5 minutes.</remarks>
public static class RestartPolicy
{
    /// <summary>How long a service must have run for its restart count to start again from 1.</summary>
    public static readonly TimeSpan Forgiven = TimeSpan.FromMinutes(5);

    /// <summary>The delay before restart number <paramref name="restart"/> (1-based).</summary>
    public static TimeSpan Delay(int restart) => TimeSpan.FromSeconds(Math.Min(60, 1 << Math.Clamp(restart - 1, 0, 6)));

    /// <summary>How a process ended, in words: <c>exit code 3</c>, <c>killed by a signal</c>.</summary>
    /// <remarks>The orchestrator (DCP, written in Go) reports -1 for a process that a signal ended, without the signal;
    /// a shell-style 128 + n is named with its signal.</remarks>
    public static string Reason(int? exitCode) => exitCode switch
    {
        null => "exit code unknown",
        -1 => "killed by a signal",
        > 128 and < 160 => string.Create(CultureInfo.InvariantCulture, $"killed by signal {exitCode - 128} ({SignalName(exitCode.Value - 128)})"),
        _ => string.Create(CultureInfo.InvariantCulture, $"exit code {exitCode}"),
    };

    private static string SignalName(int signal) => signal switch
    {
        1 => "HUP",
        2 => "INT",
        6 => "ABRT",
        9 => "KILL",
        11 => "SEGV",
        15 => "TERM",
        _ => "?",
    };
}

/// <summary>Starts a service of the stack again after it exits (see <see cref="RestartPolicy"/>), with a line saying
/// which one and how it ended; the others keep running.</summary>
/// <remarks>A service stopped from the dashboard (state <c>Stopping</c> before it exits) is left stopped.</remarks>
internal sealed partial class RestartDeadServices(
    ResourceNotificationService notifications,
    ResourceCommandService commands,
    StackOptions options,
    IHostApplicationLifetime lifetime,
    ILogger<RestartDeadServices> logger) : BackgroundService
{
    private readonly Dictionary<string, string?> _lastState = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _restarts = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var change in notifications.WatchAsync(stoppingToken))
        {
            var name = change.Resource.Name;
            if (!AgingStack.IsService(name))
            {
                continue;
            }
            var state = change.Snapshot.State?.Text;
            var previous = _lastState.GetValueOrDefault(name);
            _lastState[name] = state;
            var died = state is "Exited" or "Finished" or "FailedToStart" && previous is "Running" or null && previous != state;
            if (!died || previous is null || lifetime.ApplicationStopping.IsCancellationRequested)
            {
                continue;
            }
            var ran = change.Snapshot.StopTimeStamp - change.Snapshot.StartTimeStamp ?? TimeSpan.Zero;
            var restart = _restarts[name] = ran >= RestartPolicy.Forgiven ? 1 : _restarts.GetValueOrDefault(name) + 1;
            var delay = RestartPolicy.Delay(restart);
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{DateTime.UtcNow:HH:mm:ss} {name} died ({RestartPolicy.Reason(change.Snapshot.ExitCode)}) after {ran.TotalSeconds:0} s; restarting it in {delay.TotalSeconds:0} s (restart {restart}; log: {LogFiles.PathOf(options, name)})");
            LogDied(line);
            _ = RestartAsync(change.Resource, delay, stoppingToken);
        }
    }

    private async Task RestartAsync(IResource resource, TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
            var result = await commands.ExecuteCommandAsync(resource, KnownResourceCommands.StartCommand, cancellationToken);
            if (!result.Success)
            {
                LogRestartFailed(resource.Name, result.Message);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Line}")]
    private partial void LogDied(string line);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Service} could not be started again: {Error}")]
    private partial void LogRestartFailed(string service, string? error);
}
