using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using AgingPipeline.Storage;

namespace AgingPipeline.Cli.Tests.Infrastructure;

/// <summary>A private Azurite (blob + queue, in memory) on free loopback ports, with the pipeline's containers,
/// shared by the tests of a class.</summary>
/// <remarks>The minimal start/stop logic of tests/AgingPipeline.IntegrationTests' AzuriteInstance, copied rather than
/// referenced so that these tests do not build the function app and the event pump.</remarks>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly StringBuilder _output = new();
    private Process? _process;
    private int _blobPort;
    private int _queuePort;

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{_blobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{_queuePort}/devstoreaccount1;";

    public StorageClients Clients { get; private set; } = null!;

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

    public async Task InitializeAsync()
    {
        if (!File.Exists(RepoPaths.Azurite))
        {
            throw new InvalidOperationException(
                $"Azurite is not installed at {RepoPaths.Azurite}: run ./test.sh, or npm install --prefix .local/npm azurite@3.35.0.");
        }
        for (var attempt = 1; ; attempt++)
        {
            (_blobPort, _queuePort) = (FreePort(), FreePort());
            var start = new ProcessStartInfo(RepoPaths.Azurite)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[]
            {
                "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
                "--blobPort", _blobPort.ToString(CultureInfo.InvariantCulture), "--queuePort", _queuePort.ToString(CultureInfo.InvariantCulture),
                "--tablePort", FreePort().ToString(CultureInfo.InvariantCulture),
                "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--loose",
            })
            {
                start.ArgumentList.Add(arg);
            }
            _process = Process.Start(start) ?? throw new InvalidOperationException("Azurite did not start.");
            _process.OutputDataReceived += (_, e) => Append(e.Data);
            _process.ErrorDataReceived += (_, e) => Append(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            if (await WaitUntilListeningAsync(TimeSpan.FromSeconds(60)))
            {
                break;
            }
            await StopAsync();
            if (attempt >= 3)
            {
                throw new InvalidOperationException($"Azurite did not start listening after {attempt} attempts:\n{Output}");
            }
        }
        Clients = new StorageClients(new StorageOptions
        {
            ConnectionString = ConnectionString,
            RetryBaseDelay = TimeSpan.FromMilliseconds(50),
            RetryMaxDelay = TimeSpan.FromMilliseconds(500),
        });
        await Clients.EnsureCreatedAsync();
    }

    public Task DisposeAsync() => StopAsync();

    private async Task StopAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            process.Dispose();
            _process = null;
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private async Task<bool> WaitUntilListeningAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited)
            {
                return false;
            }
            if (await AcceptsAsync(_blobPort) && await AcceptsAsync(_queuePort))
            {
                return true;
            }
            await Task.Delay(100);
        }
        return false;
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
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
