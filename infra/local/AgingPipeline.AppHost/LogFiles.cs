using Microsoft.Extensions.Hosting;

namespace AgingPipeline.AppHost;

/// <summary>Copies every service's console output into <c>{DataDirectory}/logs/{service}.log</c> (the dashboard shows
/// the same lines), so that a run without a browser, CI included, still leaves the logs behind.</summary>
internal sealed class LogFiles(ResourceNotificationService notifications, ResourceLoggerService logs, StackOptions options) : BackgroundService
{
    /// <summary>The log file of a service.</summary>
    public static string PathOf(StackOptions options, string service) => Path.Combine(options.DataDirectory, "logs", service + ".log");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A resource's logs are kept under its instance id (e.g. runner-xkcd), known once it has been created.
        var copying = new HashSet<string>(StringComparer.Ordinal);
        var copies = new List<Task>();
        try
        {
            await foreach (var change in notifications.WatchAsync(stoppingToken))
            {
                if (AgingStack.IsService(change.Resource.Name) && copying.Add(change.ResourceId))
                {
                    copies.Add(CopyAsync(change.ResourceId, change.Resource.Name, stoppingToken));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        await Task.WhenAll(copies);
    }

    private async Task CopyAsync(string resourceId, string service, CancellationToken cancellationToken)
    {
        var path = PathOf(options, service);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var file = new StreamWriter(path, append: false) { AutoFlush = true };
        try
        {
            await foreach (var batch in logs.WatchAsync(resourceId).WithCancellation(cancellationToken))
            {
                foreach (var line in batch)
                {
                    await file.WriteLineAsync(line.Content);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
