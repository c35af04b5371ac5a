using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using AgingPipeline.Storage;

namespace AgingPipeline.IntegrationTests.Infrastructure;

/// <summary>Starts a private Azurite (blob + queue) on free loopback ports with in-memory persistence, and stops it.</summary>
/// <remarks>Container and queue names are fixed by <c>BlobNames</c>, so tests cannot be isolated by name prefixes;
/// every test class gets its own Azurite instead (a second or two to start), and tests inside a class use unique
/// blob names and assert on their own job ids.</remarks>
public sealed class AzuriteInstance : IAsyncDisposable
{
    /// <summary>The well-known key of Azurite's development account.</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process _process;
    private readonly StringBuilder _output;

    private AzuriteInstance(Process process, StringBuilder output, int blobPort, int queuePort)
    {
        _process = process;
        _output = output;
        BlobPort = blobPort;
        QueuePort = queuePort;
    }

    public int BlobPort { get; }

    public int QueuePort { get; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{QueuePort}/devstoreaccount1;";

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static async Task<AzuriteInstance> StartAsync(CancellationToken cancellationToken = default)
    {
        var executable = RepoPaths.Azurite;
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"Azurite is not installed at {executable}. Run ./test.sh (it installs it with npm into .local/npm).");
        }
        for (var attempt = 1; ; attempt++)
        {
            var (blobPort, queuePort, tablePort) = (FreePort(), FreePort(), FreePort());
            var output = new StringBuilder();
            var start = new ProcessStartInfo(executable)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[]
            {
                "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
                "--blobPort", blobPort.ToString(), "--queuePort", queuePort.ToString(), "--tablePort", tablePort.ToString(),
                "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--loose",
            })
            {
                start.ArgumentList.Add(arg);
            }
            var process = Process.Start(start) ?? throw new InvalidOperationException("Azurite did not start.");
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var instance = new AzuriteInstance(process, output, blobPort, queuePort);
            if (await instance.WaitUntilListeningAsync(TimeSpan.FromSeconds(60), cancellationToken))
            {
                return instance;
            }
            var log = instance.Output;
            await instance.DisposeAsync();
            if (attempt >= 3)
            {
                throw new InvalidOperationException($"Azurite did not start listening after {attempt} attempts. Output:\n{log}");
            }
        }
    }

    public StorageClients CreateClients(Action<StorageOptions>? configure = null)
    {
        var options = new StorageOptions { ConnectionString = ConnectionString, RetryBaseDelay = TimeSpan.FromMilliseconds(50), RetryMaxDelay = TimeSpan.FromMilliseconds(500) };
        configure?.Invoke(options);
        return new StorageClients(options);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private async Task<bool> WaitUntilListeningAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                return false;
            }
            if (await AcceptsAsync(BlobPort, cancellationToken) && await AcceptsAsync(QueuePort, cancellationToken))
            {
                return true;
            }
            await Task.Delay(100, cancellationToken);
        }
        return false;
    }

    private static async Task<bool> AcceptsAsync(int port, CancellationToken cancellationToken)
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

/// <summary>Paths inside the repository.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Azurite =>
        Environment.GetEnvironmentVariable("AZURITE_BIN") is { Length: > 0 } overridden
            ? overridden
            : Path.Combine(Root, ".local", "npm", "node_modules", ".bin", "azurite");

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AgingPipeline.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("AgingPipeline.sln not found above " + AppContext.BaseDirectory);
    }
}
