using System.Globalization;
using System.Runtime.InteropServices;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace AgingPipeline.Testing;

/// <summary>One run of one service of the AppHost (<c>runner#2</c> is the runner's second start): its process id, its
/// state as the orchestrator reports it, and its console output (also written to the service's log file).</summary>
/// <remarks>The orchestrator starts each service as <c>dotnet X.dll</c> (or Azurite's node script) directly, so
/// <see cref="Pid"/> is the service itself: a signal sent to it is what an out-of-memory kill or a container stop
/// would send.</remarks>
public sealed class StackService
{
    private readonly DistributedApplication _app;
    private readonly ServiceLog _log;
    private readonly int _firstLine;
    private int? _lastLine;

    internal StackService(DistributedApplication app, string resource, int start, ServiceLog log, int pid, int firstLine)
    {
        _app = app;
        _log = log;
        Resource = resource;
        Name = string.Create(CultureInfo.InvariantCulture, $"{resource}#{start}");
        Pid = pid;
        _firstLine = firstLine;
    }

    /// <summary>The AppHost's resource name (<c>runner</c>).</summary>
    public string Resource { get; }

    /// <summary>A short name for messages (<c>runner#2</c>).</summary>
    public string Name { get; }

    /// <summary>The process id of this run.</summary>
    public int Pid { get; }

    /// <summary>The service's log file (every run of it, with a line where each starts).</summary>
    public string LogFile => _log.Path;

    /// <summary>True once this run has ended.</summary>
    public bool HasExited => !IsAlive(Pid) || (Current() is { } snapshot && (!IsRunningState(snapshot) || PidOf(snapshot) != Pid));

    /// <summary>The exit code the orchestrator reported (-1 for a process a signal ended); only after <see cref="HasExited"/>.</summary>
    public int ExitCode => Current()?.ExitCode ?? -1;

    /// <summary>Sends a POSIX signal (<see cref="ServiceProcess.SigTerm"/>, <see cref="ServiceProcess.SigKill"/>).</summary>
    public void Signal(int signal)
    {
        if (IsAlive(Pid) && Kill(Pid, signal) != 0 && IsAlive(Pid))
        {
            throw new InvalidOperationException($"kill({Pid}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>SIGKILLs this run and waits until the orchestrator has seen it end.</summary>
    public async Task KillAsync()
    {
        Signal(ServiceProcess.SigKill);
        await WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Waits until this run has ended (as the orchestrator reports it).</summary>
    /// <returns>False when it was still running after <paramref name="timeout"/>.</returns>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _app.Services.GetRequiredService<ResourceNotificationService>().WaitForResourceAsync(Resource,
                e => !IsRunningState(e.Snapshot) || PidOf(e.Snapshot) != Pid, cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The last <paramref name="lines"/> lines of this run's output.</summary>
    /// <remarks>Like <see cref="ReadLog"/>, it first lets the lines in flight arrive.</remarks>
    public string Tail(int lines = 60)
    {
        _log.Settle();
        var all = _log.Lines(_firstLine, _lastLine);
        return string.Join(Environment.NewLine, all.Skip(Math.Max(0, all.Count - lines)));
    }

    /// <summary>This run's whole output so far.</summary>
    /// <remarks>The orchestrator relays a service's output with a delay (it reads the process's pipes into files and
    /// streams those), so a line written just before something the test observed in storage may not be here yet. This
    /// first waits until the lines read up to now have arrived (at most 2 s).</remarks>
    public string ReadLog()
    {
        _log.Settle();
        return string.Join(Environment.NewLine, _log.Lines(_firstLine, _lastLine));
    }

    /// <summary>Writes a marker line into the log (what the test did, and when).</summary>
    public void Note(string text) => _log.Add(string.Create(CultureInfo.InvariantCulture, $"# test: {DateTime.UtcNow:HH:mm:ss.fff} {text}"));

    /// <summary>Peak resident set size in KiB (<c>VmHWM</c> of <c>/proc/{pid}/status</c>), or null once exited.</summary>
    public long? PeakRssKiB()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(new string(line.AsSpan(6).ToArray().Where(char.IsDigit).ToArray()), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    /// <summary>Ends this run's share of the log (the next run of the service starts).</summary>
    internal void Close() => _lastLine ??= _log.Count;

    /// <summary>The process id the orchestrator reports for an executable resource (<c>executable.pid</c>), or null
    /// while it has none.</summary>
    public static int? PidOf(CustomResourceSnapshot snapshot) =>
        snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value switch
        {
            int pid => pid,
            long pid => (int)pid,
            string text when int.TryParse(text, CultureInfo.InvariantCulture, out var pid) => pid,
            _ => null,
        };

    /// <summary>Whether the orchestrator reports the resource as running.</summary>
    public static bool IsRunningState(CustomResourceSnapshot snapshot) => snapshot.State?.Text == KnownResourceStates.Running;

    private CustomResourceSnapshot? Current() =>
        _app.Services.GetRequiredService<ResourceNotificationService>().TryGetCurrentState(Resource, out var e) ? e.Snapshot : null;

    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}

/// <summary>Every line a service wrote while the stack ran (all its runs), kept in memory and in a file.</summary>
internal sealed class ServiceLog : IDisposable
{
    private readonly List<string> _lines = [];
    private readonly StreamWriter _file;

    public ServiceLog(string path)
    {
        Path = path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        _file = new StreamWriter(path, append: false) { AutoFlush = true };
    }

    public string Path { get; }

    public int Count
    {
        get
        {
            lock (_lines)
            {
                return _lines.Count;
            }
        }
    }

    /// <summary>The longest <see cref="Settle"/> waits: longer than the relay delays of the AppHost's log stream seen
    /// here (up to about 2 s on a busy machine, noted at the end of each log file).</summary>
    public static readonly TimeSpan MaxSettle = TimeSpan.FromSeconds(2);

    /// <summary>How long a service followed through its output files (<see cref="DcpOutputTail"/>) must have written
    /// nothing new before <see cref="Settle"/> takes its lines as complete.</summary>
    public static readonly TimeSpan QuietWindow = TimeSpan.FromMilliseconds(300);

    private readonly List<DcpOutputTail> _tails = [];
    private long _lastStampTicks = DateTimeOffset.MinValue.UtcTicks;
    private TimeSpan _maxDelay;

    /// <summary>Lines of this service now also come from <paramref name="tail"/> (one run's output files), so
    /// <see cref="Settle"/> can tell when it has read them all.</summary>
    public void Attach(DcpOutputTail tail)
    {
        lock (_tails)
        {
            _tails.Add(tail);
        }
    }

    /// <summary>Waits until the lines the service wrote before this call are here: a line that the orchestrator read
    /// after this call has arrived (lines arrive in order), or, for a service followed through its output files, every
    /// byte of them has been read and nothing new came for <see cref="QuietWindow"/>; at most <see cref="MaxSettle"/>
    /// (a quiet service followed through the AppHost's log stream).</summary>
    public void Settle()
    {
        var now = DateTimeOffset.UtcNow.UtcTicks;
        var deadline = Environment.TickCount64 + (long)MaxSettle.TotalMilliseconds;
        long? quietSince = null;
        while (Interlocked.Read(ref _lastStampTicks) < now && Environment.TickCount64 < deadline)
        {
            if (TailsCaughtUp())
            {
                quietSince ??= Environment.TickCount64;
                if (Environment.TickCount64 - quietSince >= (long)QuietWindow.TotalMilliseconds)
                {
                    return;
                }
            }
            else
            {
                quietSince = null;
            }
            Thread.Sleep(20);
        }
    }

    private bool TailsCaughtUp()
    {
        lock (_tails)
        {
            return _tails.Count > 0 && _tails.TrueForAll(t => t.CaughtUp);
        }
    }

    public void Add(string line)
    {
        // The orchestrator prefixes each line with the time it read it from the process: how late it arrives here.
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        if (space > 20 && DateTimeOffset.TryParse(line.AsSpan(0, space), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var read))
        {
            Interlocked.Exchange(ref _lastStampTicks, read.UtcTicks);
            if (DateTimeOffset.UtcNow - read is var delay && delay > _maxDelay)
            {
                _maxDelay = delay;
            }
        }
        lock (_lines)
        {
            _lines.Add(line);
            try
            {
                _file.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    public List<string> Lines(int from, int? to)
    {
        lock (_lines)
        {
            var end = Math.Min(to ?? _lines.Count, _lines.Count);
            return _lines.GetRange(from, Math.Max(0, end - from));
        }
    }

    public void Dispose()
    {
        lock (_lines)
        {
            _file.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# longest relay delay of a line: {_maxDelay.TotalMilliseconds:0} ms"));
            _file.Dispose();
        }
    }
}
