using System.Text;

namespace AgingPipeline.Testing;

/// <summary>Follows the two files into which Aspire's orchestrator (DCP) writes one run's stdout and stderr as it reads
/// them from the process: <c>{temp}/aspire-dcp*/{uid}_out</c> and <c>_err</c>, one line per line of output (sequence
/// number, time read, text). A restarted resource gets new files under a new uid.</summary>
/// <remarks>The AppHost's log stream (<c>ResourceLoggerService</c>) serves the same lines, but up to about 3 s later on
/// this machine. Reading the files, a test sees a line milliseconds after the service wrote it, and can tell when it
/// has read everything written so far (<see cref="CaughtUp"/>) instead of waiting out the relay.</remarks>
internal sealed class DcpOutputTail
{
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(20);

    private readonly string[] _paths;
    private readonly long[] _offsets;
    private readonly List<byte>[] _partial;

    private DcpOutputTail(string uid, string directory)
    {
        Uid = uid;
        _paths = [Path.Combine(directory, uid + "_out"), Path.Combine(directory, uid + "_err")];
        _offsets = new long[_paths.Length];
        _partial = [.. _paths.Select(_ => new List<byte>())];
    }

    /// <summary>The orchestrator's id of the run (the <c>{uid}</c> in the file names).</summary>
    public string Uid { get; }

    /// <summary>The output files of every run so far of the resource with instance id <paramref name="resourceId"/>
    /// (e.g. <c>runner-djnszzra</c>): the orchestrator names the resource in the first line of its own log of each run,
    /// <c>resource-executable-{uid}.log</c> (<c>"Executable": "/runner-djnszzra"</c>).</summary>
    public static IEnumerable<DcpOutputTail> FindRuns(string resourceId)
    {
        var name = $"\"Executable\": \"/{resourceId}\"";
        foreach (var directory in Directory.EnumerateDirectories(Path.GetTempPath(), "aspire-dcp*"))
        {
            foreach (var runLog in Directory.EnumerateFiles(directory, "resource-executable-*.log"))
            {
                var uid = Path.GetFileNameWithoutExtension(runLog)["resource-executable-".Length..];
                if (File.Exists(Path.Combine(directory, uid + "_out")) && FirstLine(runLog)?.Contains(name, StringComparison.Ordinal) == true)
                {
                    yield return new DcpOutputTail(uid, directory);
                }
            }
        }
    }

    private static string? FirstLine(string path)
    {
        try
        {
            using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            return reader.ReadLine();
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>True when every byte the orchestrator has written to the files so far has been read.</summary>
    public bool CaughtUp
    {
        get
        {
            for (var i = 0; i < _paths.Length; i++)
            {
                if (LengthOf(_paths[i]) > Interlocked.Read(ref _offsets[i]))
                {
                    return false;
                }
            }
            return true;
        }
    }

    /// <summary>Adds every complete line to <paramref name="log"/> as it is written, until cancelled (then reads what is
    /// left once more).</summary>
    public async Task FollowAsync(ServiceLog log, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = false;
            for (var i = 0; i < _paths.Length; i++)
            {
                read |= ReadNew(i, log);
            }
            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            if (!read)
            {
                try
                {
                    await Task.Delay(s_pollInterval, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    // One more pass picks up what the service wrote last.
                }
            }
        }
    }

    private bool ReadNew(int index, ServiceLog log)
    {
        var path = _paths[index];
        if (LengthOf(path) is var length && length == Interlocked.Read(ref _offsets[index]))
        {
            return false;
        }
        byte[] bytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var offset = Interlocked.Read(ref _offsets[index]);
            if (stream.Length < offset)
            {
                // Truncated or replaced: start again at its beginning.
                offset = 0;
                _partial[index].Clear();
            }
            stream.Seek(offset, SeekOrigin.Begin);
            bytes = new byte[stream.Length - offset];
            stream.ReadExactly(bytes);
            Interlocked.Exchange(ref _offsets[index], offset + bytes.Length);
        }
        catch (IOException)
        {
            return false;
        }
        var partial = _partial[index];
        var start = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != (byte)'\n')
            {
                continue;
            }
            partial.AddRange(bytes.AsSpan(start, i - start));
            log.Add(WithoutSequenceNumber(Encoding.UTF8.GetString([.. partial]).TrimEnd('\r')));
            partial.Clear();
            start = i + 1;
        }
        partial.AddRange(bytes.AsSpan(start));
        return bytes.Length > 0;
    }

    /// <summary>The line as the AppHost's log stream gives it: time read, then the text.</summary>
    private static string WithoutSequenceNumber(string line)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        return space > 0 && line.AsSpan(0, space).IndexOfAnyExceptInRange('0', '9') < 0 ? line[(space + 1)..] : line;
    }

    private static long LengthOf(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
