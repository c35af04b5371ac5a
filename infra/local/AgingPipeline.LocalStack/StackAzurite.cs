using AgingPipeline.AppHost;

namespace AgingPipeline.Testing;

/// <summary>The Azurite of a <see cref="LocalStack"/>: its ports (fixed for the stack's life), its connection string,
/// and stop / start again (with its data when the stack's storage is persistent).</summary>
public sealed class StackAzurite
{
    private readonly LocalStack _stack;

    internal StackAzurite(LocalStack stack, int blobPort, int queuePort, int tablePort)
    {
        _stack = stack;
        (BlobPort, QueuePort, TablePort) = (blobPort, queuePort, tablePort);
    }

    /// <summary>The blob port.</summary>
    public int BlobPort { get; }

    /// <summary>The queue port.</summary>
    public int QueuePort { get; }

    /// <summary>The table port.</summary>
    public int TablePort { get; }

    /// <summary>The current run of Azurite.</summary>
    public StackService Process => _stack.Current(AgingStack.Azurite);

    /// <summary>The connection string every component of the stack gets (ports never change across restarts).</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AzuriteProcess.AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{QueuePort}/devstoreaccount1;";

    /// <summary>Stops Azurite with SIGTERM (it closes its servers and flushes its data), SIGKILL after 15 s.</summary>
    public async Task StopAsync()
    {
        var process = Process;
        process.Note("SIGTERM");
        process.Signal(ServiceProcess.SigTerm);
        if (!await process.WaitForExitAsync(TimeSpan.FromSeconds(15)))
        {
            await process.KillAsync();
        }
    }

    /// <summary>Starts Azurite again on the same ports and waits until it accepts connections.</summary>
    public async Task StartAsync()
    {
        await _stack.RestartAsync(AgingStack.Azurite, health: null, TimeSpan.FromSeconds(60));
        await WaitUntilAcceptingAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>Waits until the blob and queue ports accept connections.</summary>
    internal async Task WaitUntilAcceptingAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!(await AcceptsAsync(BlobPort) && await AcceptsAsync(QueuePort)))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Azurite did not accept connections on :{BlobPort} and :{QueuePort} within {timeout.TotalSeconds:0} s.\n{_stack.Logs()}");
            }
            await Task.Delay(100);
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new System.Net.Sockets.TcpClient();
        try
        {
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
