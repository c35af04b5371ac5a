using System.Diagnostics;
using System.Text;
using System.Text.Json;
using AgingPipeline.Cli.Infrastructure;

namespace AgingPipeline.Cli.Tests.Infrastructure;

/// <summary>The outcome of one CLI invocation.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Stdout parsed as JSON.</summary>
    public JsonElement Json
    {
        get
        {
            using var document = JsonDocument.Parse(Stdout);
            return document.RootElement.Clone();
        }
    }

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Runs the CLI in-process (the very command tree of the tool) or as a real process.</summary>
public static class CliRun
{
    /// <summary>Runs in this process, with stdout and stderr captured (neither is a terminal).</summary>
    public static async Task<CliResult> InProcessAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exitCode = await AgingCli.RunAsync(args, new CliConsole(stdout, stderr, outputIsTerminal: false, errorIsTerminal: false));
        return new CliResult(exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary><c>dotnet aging.dll …</c> with stdout and stderr redirected.</summary>
    private static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(CliBinary.Dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        return start;
    }

    /// <summary>Starts <c>dotnet aging.dll …</c> as a child process.</summary>
    public static Process Start(IEnumerable<string> args, StringBuilder output)
    {
        var start = StartInfo(args);
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Runs <c>dotnet aging.dll …</c> as a child process to its end, with stdout and stderr kept apart.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="environment">Variables to set in the child's environment; a null value removes the variable.</param>
    /// <param name="timeout">The child is killed after this long, and the run fails.</param>
    public static async Task<CliResult> ProcessAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string?> environment, TimeSpan timeout)
    {
        var start = StartInfo(args);
        foreach (var (key, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"aging {string.Join(' ', start.ArgumentList.Skip(1))} ran longer than {timeout.TotalSeconds:0} s.\n{await stdout}\n{await stderr}");
        }
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }
}
