using System.Diagnostics;
using AgingPipeline.Cli.Tests.Infrastructure;

namespace AgingPipeline.Cli.Tests;

/// <summary>Runs the real <c>aging</c> process under a pseudo-terminal (util-linux <c>script</c>), as a person at a
/// terminal would, and checks that the live progress display is drawn there.</summary>
public sealed class TerminalTests : IDisposable
{
    private readonly TempFolder _temp = new();

    [Fact]
    public async Task The_progress_bar_with_count_rate_and_eta_renders_on_a_terminal()
    {
        var input = _temp.Combine("in");
        for (var i = 0; i < 4; i++)
        {
            using var image = TestImages.CharacterImage(i, 96, 96);
            TestImages.Write(Path.Combine(input, $"c{i}.png"), TestImages.Png(image));
        }
        var command = string.Join(' ', new[]
        {
            "dotnet", CliBinary.Dll, "age", input, "--ages", "20,60", "--out", _temp.Combine("out"),
            "--models", TestModel.Root, "--model", TestModel.Name,
        }.Select(Quote));
        var start = new ProcessStartInfo("script")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-q", "-e", "-f", "-c", command, "/dev/null" })
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["TERM"] = "xterm-256color";
        start.Environment["COLUMNS"] = "120";
        start.Environment.Remove("NO_COLOR");

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        var screen = await stdout + await stderr;

        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}:\n{screen}");
        Assert.Contains("\u001b[", screen);              // escape sequences: it knew it was on a terminal
        Assert.Contains("━", screen);                    // the bar
        Assert.Contains("100%", screen);                 // the percentage column, finished
        Assert.Contains("4/4", screen);                  // the count column
        Assert.Matches(@"\d+\.\d img/s", screen);        // the rate column
        Assert.Matches(@"ETA \d\d:\d\d|in \d\d:\d\d", screen); // the ETA column
        Assert.Contains("4 done, 0 skipped, 0 failed", screen);
    }

    public void Dispose() => _temp.Dispose();

    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
