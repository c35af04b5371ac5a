using System.Diagnostics;
using System.Text;

namespace AgingPipeline.InfraTests;

/// <summary><c>infra/local/supervise.sh</c>, the part of <c>run.sh</c> that keeps the local stack running, driven
/// with stand-in services (plain <c>sleep</c> processes) so that no stack has to be built or started.</summary>
/// <remarks>Issue 15: <c>run.sh</c> used to end the whole stack when any one service died.</remarks>
public sealed class SupervisorTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "aging-supervise-" + Guid.NewGuid().ToString("N"));

    public SupervisorTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_service_that_dies_is_restarted_with_a_line_saying_so_while_the_others_keep_running_and_SIGINT_stops_all()
    {
        var script = Path.Combine(_directory, "stack.sh");
        var supervise = Path.Combine(RepoPaths.Root, "infra", "local", "supervise.sh");
        var runScript = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "run.sh"));
        Assert.Contains("source \"$ROOT/infra/local/supervise.sh\"", runScript, StringComparison.Ordinal);
        Assert.EndsWith("supervise\n", runScript, StringComparison.Ordinal);

        // "steady" runs until killed; "flaky" exits with 3 on its first start and then stays up. Each start appends
        // "<service> <pid>" to pids.txt.
        await File.WriteAllTextAsync(script, $$"""
            set -euo pipefail
            source '{{supervise}}'
            trap 'stop_all; exit 0' INT TERM
            start_steady() { sleep 1000 & track steady start_steady $!; echo "steady $!" >> '{{_directory}}/pids.txt'; }
            start_flaky() {
              if [[ -e '{{_directory}}/flaky-once' ]]; then sleep 1000 & else touch '{{_directory}}/flaky-once'; (sleep 0.2; exit 3) & fi
              track flaky start_flaky $!; echo "flaky $!" >> '{{_directory}}/pids.txt'
            }
            start_steady
            start_flaky
            supervise
            """.Replace("\r", string.Empty, StringComparison.Ordinal));
        var start = new ProcessStartInfo("bash", [script]) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var stack = Process.Start(start)!;
        var stderr = new StringBuilder();
        stack.ErrorDataReceived += (_, e) => { lock (stderr) { stderr.AppendLine(e.Data); } };
        stack.BeginErrorReadLine();
        _ = stack.StandardOutput.ReadToEndAsync();
        string Err() { lock (stderr) { return stderr.ToString(); } }

        try
        {
            // The flaky service's exit is reported and it is started again.
            await Poll.UntilAsync(() => Task.FromResult(Pids("flaky").Count == 2), TimeSpan.FromSeconds(20), () => "flaky restarted\n" + Err());
            Assert.Matches(@"flaky died \(exit code 3\) after \d+ s; restarting it in 1 s \(restart 1", Err());

            // SIGKILL of the steady one: reported with the signal, restarted; the flaky one is not touched.
            var steady = Pids("steady").Single();
            var flaky = Pids("flaky")[^1];
            Process.GetProcessById(steady).Kill();
            await Poll.UntilAsync(() => Task.FromResult(Pids("steady").Count == 2), TimeSpan.FromSeconds(20), () => "steady restarted\n" + Err());
            Assert.Contains("steady died (killed by signal 9 (KILL))", Err(), StringComparison.Ordinal);
            Assert.True(IsAlive(flaky), "the flaky service was stopped when the steady one died");
            Assert.True(IsAlive(Pids("steady")[^1]));
            Assert.False(stack.HasExited, "the stack ended when one service died\n" + Err());

            // Ctrl-C: everything stops. A shell whose parent ignores SIGINT (a test run started in the background, as CI
            // may be) inherits the ignored disposition and cannot trap it (POSIX); run.sh traps INT and TERM with the
            // same handler, so TERM stands in for Ctrl-C there.
            var signal = SigIntIgnoredHere() ? 15 : 2;
            Assert.Equal(0, Kill(stack.Id, signal));
            Assert.True(stack.WaitForExit(20_000), $"the stack did not stop on signal {signal}\n" + Err());
            await Poll.UntilAsync(() => Task.FromResult(!IsAlive(flaky) && !IsAlive(Pids("steady")[^1])), TimeSpan.FromSeconds(10), () => "services stopped");
        }
        finally
        {
            if (!stack.HasExited)
            {
                stack.Kill(entireProcessTree: true);
            }
            foreach (var line in File.Exists(Path.Combine(_directory, "pids.txt")) ? File.ReadAllLines(Path.Combine(_directory, "pids.txt")) : [])
            {
                var pid = int.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                if (IsAlive(pid))
                {
                    Kill(pid, 9);
                }
            }
        }
    }

    private List<int> Pids(string service)
    {
        var file = Path.Combine(_directory, "pids.txt");
        return !File.Exists(file)
            ? []
            : File.ReadAllLines(file).Where(l => l.StartsWith(service + " ", StringComparison.Ordinal))
                .Select(l => int.Parse(l[(service.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
    }

    /// <summary>Whether <paramref name="pid"/> is a running process (not gone, not a zombie).</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>True when this process ignores SIGINT (bit 1 of <c>SigIgn</c> in <c>/proc/self/status</c>), which its
    /// children inherit.</summary>
    private static bool SigIntIgnoredHere()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        var mask = ulong.Parse(line["SigIgn:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        return (mask & 0x2) != 0;
    }

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/> with <c>kill</c>; returns its exit code.</summary>
    private static int Kill(int pid, int signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        return kill.ExitCode;
    }
}
