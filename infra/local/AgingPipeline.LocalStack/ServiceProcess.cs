using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace AgingPipeline.Testing;

/// <summary>One process of the stack (Azurite, or <c>dotnet some.dll</c>) whose output goes to a log file, with the
/// last lines kept in memory for failure messages.</summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    /// <summary>SIGKILL: the process dies at once, nothing runs.</summary>
    public const int SigKill = 9;

    /// <summary>SIGTERM: the polite stop a container orchestrator sends first.</summary>
    public const int SigTerm = 15;

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Queue<string> _tail = new();

    private ServiceProcess(string name, Process process, StreamWriter log, string logFile)
    {
        Name = name;
        _process = process;
        _log = log;
        LogFile = logFile;
        Pid = process.Id;
    }

    /// <summary>A short name for messages (<c>runner#2</c>).</summary>
    public string Name { get; }

    /// <summary>The process id.</summary>
    public int Pid { get; }

    /// <summary>Where the output is written.</summary>
    public string LogFile { get; }

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code (only after <see cref="HasExited"/>).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Starts <paramref name="executable"/> with its output captured into <paramref name="logFile"/>.</summary>
    public static ServiceProcess Start(string name, string executable, IEnumerable<string> args, string workingDirectory, IReadOnlyDictionary<string, string> environment, string logFile)
    {
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
        var log = new StreamWriter(logFile, append: false) { AutoFlush = true };
        log.WriteLine($"# {DateTime.UtcNow:O} {executable} {string.Join(' ', start.ArgumentList)} (in {workingDirectory})");
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{name} did not start.");
        var instance = new ServiceProcess(name, process, log, logFile);
        process.OutputDataReceived += (_, e) => instance.Append(e.Data);
        process.ErrorDataReceived += (_, e) => instance.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return instance;
    }

    /// <summary>The last <paramref name="lines"/> lines of output.</summary>
    public string Tail(int lines = 60)
    {
        lock (_tail)
        {
            return string.Join(Environment.NewLine, _tail.Skip(Math.Max(0, _tail.Count - lines)));
        }
    }

    /// <summary>The whole log so far, read from its file.</summary>
    public string ReadLog()
    {
        lock (_tail)
        {
            using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }

    /// <summary>Sends a POSIX signal (<see cref="SigTerm"/>, <see cref="SigKill"/>) to the process.</summary>
    public void Signal(int signal)
    {
        if (!_process.HasExited && Kill(Pid, signal) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (!_process.HasExited)
            {
                throw new InvalidOperationException($"kill({Pid}, {signal}) failed with errno {errno}.");
            }
        }
    }

    /// <summary>Waits for the process to exit (and its output to be drained).</summary>
    /// <returns>False when it was still running after <paramref name="timeout"/>.</returns>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Kills the process and everything it started (SIGKILL), and waits for it.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync();
    }

    /// <summary>Peak resident set size in KiB (<c>VmHWM</c> of <c>/proc/{pid}/status</c>), or null once exited.</summary>
    public long? PeakRssKiB()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var digits = new string(line.AsSpan(6).ToArray().Where(char.IsDigit).ToArray());
                    return long.Parse(digits, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    /// <summary>Writes a marker line into the log (what the test did, and when).</summary>
    public void Note(string text) => Append($"# test: {DateTime.UtcNow:HH:mm:ss.fff} {text}");

    /// <summary>Stops the process and closes its log.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        lock (_tail)
        {
            _log.Dispose();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_tail)
        {
            _tail.Enqueue(line);
            if (_tail.Count > 400)
            {
                _tail.Dequeue();
            }
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
