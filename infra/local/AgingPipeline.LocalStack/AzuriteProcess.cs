using System.Net;
using System.Net.Sockets;
using AgingPipeline.AppHost;

namespace AgingPipeline.Testing;

/// <summary>A private Azurite (blob + queue) on free loopback ports: in memory, or persisted in a folder
/// (<c>--location</c>) so that it can be stopped and started again on the same ports with its data.</summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    /// <summary>The well-known key of Azurite's development account.</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly string? _location;
    private readonly string _logDirectory;
    private int _starts;

    /// <summary>Creates the (not yet started) instance.</summary>
    /// <param name="location">Data folder; null for <c>--inMemoryPersistence</c>.</param>
    /// <param name="logDirectory">Where <c>azurite-{n}.log</c> go.</param>
    public AzuriteProcess(string? location, string logDirectory)
    {
        _location = location;
        _logDirectory = logDirectory;
    }

    /// <summary>Arguments added to every start, e.g. <c>--oauth basic --cert … --key …</c> (HTTPS with bearer-token
    /// checks; <see cref="ConnectionString"/> then does not apply).</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>The blob port, once started.</summary>
    public int BlobPort { get; private set; }

    /// <summary>The queue port, once started.</summary>
    public int QueuePort { get; private set; }

    /// <summary>The table port, once started.</summary>
    public int TablePort { get; private set; }

    /// <summary>The running process, or null while stopped.</summary>
    public ServiceProcess? Process { get; private set; }

    /// <summary>The connection string every component of the stack gets (ports never change across restarts).</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{QueuePort}/devstoreaccount1;";

    /// <summary>Starts Azurite: on free ports the first time, on the same ports afterwards.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Process is { HasExited: false })
        {
            throw new InvalidOperationException("Azurite is already running.");
        }
        var executable = RepoPaths.Azurite;
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"Azurite is not installed at {executable}. Run ./test.sh once (it installs it with npm into .local/npm).");
        }
        var firstStart = BlobPort == 0;
        for (var attempt = 1; ; attempt++)
        {
            if (firstStart)
            {
                (BlobPort, QueuePort, TablePort) = (FreePort(), FreePort(), FreePort());
            }
            var args = new List<string>
            {
                "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
                "--blobPort", BlobPort.ToString(), "--queuePort", QueuePort.ToString(), "--tablePort", TablePort.ToString(),
                "--disableTelemetry", "--skipApiVersionCheck", "--loose",
            };
            if (_location is null)
            {
                args.Add("--inMemoryPersistence");
            }
            else
            {
                Directory.CreateDirectory(_location);
                args.AddRange(["--location", _location]);
            }
            args.AddRange(ExtraArguments);
            var process = ServiceProcess.Start($"azurite#{++_starts}", executable, args, RepoPaths.Root, new Dictionary<string, string>(),
                Path.Combine(_logDirectory, $"azurite-{_starts}.log"));
            if (await WaitUntilListeningAsync(process, TimeSpan.FromSeconds(60), cancellationToken))
            {
                Process = process;
                return;
            }
            var tail = process.Tail();
            await process.DisposeAsync();
            if (attempt >= 3)
            {
                throw new InvalidOperationException($"Azurite did not start listening after {attempt} attempts:\n{tail}");
            }
        }
    }

    /// <summary>Stops Azurite with SIGTERM (it closes its servers and flushes its data), SIGKILL after 15 s.</summary>
    public async Task StopAsync()
    {
        if (Process is not { } process)
        {
            return;
        }
        process.Note("SIGTERM");
        process.Signal(ServiceProcess.SigTerm);
        if (!await process.WaitForExitAsync(TimeSpan.FromSeconds(15)))
        {
            await process.KillAsync();
        }
        await process.DisposeAsync();
        Process = null;
    }

    /// <summary>Stops Azurite.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Process is { } process)
        {
            await process.DisposeAsync();
            Process = null;
        }
    }

    private async Task<bool> WaitUntilListeningAsync(ServiceProcess process, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                return false;
            }
            if (await AgingStack.AcceptsAsync(BlobPort, cancellationToken) && await AgingStack.AcceptsAsync(QueuePort, cancellationToken))
            {
                return true;
            }
            await Task.Delay(100, cancellationToken);
        }
        return false;
    }

    /// <summary>A port that was free a moment ago.</summary>
    public static int FreePort()
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
