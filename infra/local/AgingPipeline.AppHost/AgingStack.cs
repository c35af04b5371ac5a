using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AgingPipeline.AppHost;

/// <summary>The local stack as Aspire resources: Azurite, the function app, the event pump and one runner.</summary>
/// <remarks>
/// <para>Every service is an executable resource started the way it runs in Azure or in its container: Azurite from
/// <c>.local/npm</c> (there is no container runtime here), and <c>dotnet X.dll</c> in the project's output folder.
/// The three .NET services get the dashboard's OTLP endpoint, so their logs, metrics and traces (an upload's trace
/// crosses the queue: the runner continues the trace context the function app wrote into the message) show there.</para>
/// <para>Health decides the start order: the function app, the pump and the runner wait for Azurite (its ports
/// accept), and start together. The pump retries a delivery the function app cannot take yet, as Event Grid does; the
/// runner creates the containers and queues it uses itself (<c>Runner:EnsureStorageCreated</c>), so loading and
/// warming up its model overlaps the function app's start.</para>
/// </remarks>
public static class AgingStack
{
    /// <summary>Resource names (also the names of the log files and the keys of <see cref="StackOptions.Settings"/>).</summary>
    public const string Azurite = "azurite", Functions = "functions", EventPump = "event-pump", Runner = "runner";

    /// <summary>Whether <paramref name="resource"/> names one of the stack's services.</summary>
    public static bool IsService(string resource) => resource is Azurite or Functions or EventPump or Runner;

    /// <summary>Adds the stack's resources, its health checks, the restarter and the log files.</summary>
    public static IDistributedApplicationBuilder AddAgingStack(this IDistributedApplicationBuilder builder, StackOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        builder.Services.AddSingleton(options);
        if (options.LogFiles)
        {
            builder.Services.AddHostedService<LogFiles>();
        }
        if (options.RestartDeadServices)
        {
            builder.Services.AddHostedService<RestartDeadServices>();
        }

        var storageReady = $"{Azurite}-accepts";
        builder.Services.AddHealthChecks().AddAsyncCheck(storageReady, async cancellationToken =>
            await AcceptsAsync(options.BlobPort, cancellationToken) && await AcceptsAsync(options.QueuePort, cancellationToken)
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"127.0.0.1:{options.BlobPort} or :{options.QueuePort} does not accept connections yet."));

        string[] storageArgs = options.InMemoryStorage
            ? ["--inMemoryPersistence"]
            : ["--location", Path.Combine(options.DataDirectory, "azurite")];
        var azurite = builder.AddExecutable(Azurite, options.Azurite, options.Root,
            [
                "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
                "--blobPort", Text(options.BlobPort), "--queuePort", Text(options.QueuePort), "--tablePort", Text(options.TablePort),
                "--disableTelemetry", "--skipApiVersionCheck", "--loose", .. storageArgs,
            ])
            .WithHttpEndpoint(port: options.BlobPort, targetPort: options.BlobPort, name: "blob", isProxied: false)
            .WithHttpEndpoint(port: options.QueuePort, targetPort: options.QueuePort, name: "queue", isProxied: false)
            .WithHealthCheck(storageReady);

        var functionsDirectory = options.OutputOf(Path.Combine("functions", "AgingPipeline.Functions"));
        var functions = builder.AddExecutable(Functions, "dotnet", functionsDirectory, "AgingPipeline.Functions.dll")
            .WithHttpEndpoint(port: options.FunctionsPort, targetPort: options.FunctionsPort, name: "http", isProxied: false)
            .WithStorage(options)
            .WithEnvironment("FUNCTIONS_CUSTOMHANDLER_PORT", Text(options.FunctionsPort))
            .WithEnvironment("ASPNETCORE_ENVIRONMENT", options.Environment)
            .WithEnvironment("FunctionApp__EnsureStorageOnStart", "true")
            .WithSettings(options, Functions)
            .WithHttpHealthCheck("/api/health")
            .WaitFor(azurite);

        var pumpDirectory = options.OutputOf(Path.Combine("infra", "local", "AgingPipeline.EventPump"));
        builder.AddExecutable(EventPump, "dotnet", pumpDirectory, "AgingPipeline.EventPump.dll")
            .WithStorage(options)
            .WithEnvironment("DOTNET_ENVIRONMENT", options.Environment)
            .WithEnvironment("EventPump__FunctionAppUrl", $"http://127.0.0.1:{Text(options.FunctionsPort)}")
            .WithEnvironment("EventPump__StateFile", Path.Combine(options.DataDirectory, "event-pump", "state.json"))
            .WithSettings(options, EventPump)
            .WaitFor(azurite);

        if (options.Runner)
        {
            var runnerDirectory = options.OutputOf(Path.Combine("gpu-runner", "AgingPipeline.Runner"));
            builder.AddExecutable(Runner, "dotnet", runnerDirectory, "AgingPipeline.Runner.dll", "--urls", $"http://127.0.0.1:{Text(options.RunnerPort)}")
                .WithHttpEndpoint(port: options.RunnerPort, targetPort: options.RunnerPort, name: "http", isProxied: false)
                .WithStorage(options)
                .WithEnvironment("ASPNETCORE_ENVIRONMENT", options.Environment)
                // As in the runner's container image: two glibc arenas bound libvips' native memory.
                .WithEnvironment("MALLOC_ARENA_MAX", "2")
                .WithSettings(options, Runner)
                .WithHttpHealthCheck("/health")
                .WaitFor(azurite);
        }
        return builder;
    }

    private static IResourceBuilder<ExecutableResource> WithStorage(this IResourceBuilder<ExecutableResource> resource, StackOptions options)
    {
        resource.WithEnvironment("Storage__ConnectionString", options.ConnectionString)
            .WithEnvironment("DOTNET_CLI_TELEMETRY_OPTOUT", "1");
        return options.Telemetry ? resource.WithOtlpExporter() : resource;
    }

    private static IResourceBuilder<ExecutableResource> WithSettings(this IResourceBuilder<ExecutableResource> resource, StackOptions options, string service)
    {
        foreach (var (key, value) in options.SettingsOf(service))
        {
            resource.WithEnvironment(key, value);
        }
        return resource;
    }

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);

    /// <summary>True when something accepts TCP connections on 127.0.0.1:<paramref name="port"/> (how Azurite's
    /// readiness is told, here and by the tests' own Azurite).</summary>
    public static async Task<bool> AcceptsAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
