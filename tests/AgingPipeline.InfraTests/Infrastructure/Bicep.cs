using System.Diagnostics;
using System.Reflection;

namespace AgingPipeline.InfraTests.Infrastructure;

/// <summary>The output of one bicep command.</summary>
public sealed record BicepResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Every diagnostic line (warnings, errors, infos) bicep printed.</summary>
    public IReadOnlyList<string> Diagnostics =>
        StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.Contains(" : Warning ", StringComparison.Ordinal)
                || line.Contains(" : Error ", StringComparison.Ordinal)
                || line.Contains(" : Info ", StringComparison.Ordinal))
            .ToList();

    /// <summary>Everything printed, for assertion messages.</summary>
    public override string ToString() => $"exit {ExitCode}\n{StandardError}";
}

/// <summary>Runs the bicep CLI shipped by the Azure.Bicep.CommandLine.linux-x64 NuGet package.</summary>
public static class Bicep
{
    private static readonly Lazy<string> s_executable = new(Resolve);

    /// <summary>The bicep binary.</summary>
    public static string Executable => s_executable.Value;

    /// <summary>The repository's infra folder.</summary>
    public static string InfraFolder => Path.Combine(RepoPaths.Root, "infra");

    /// <summary>Runs bicep with <paramref name="arguments"/> in the infra folder.</summary>
    public static async Task<BicepResult> RunAsync(IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(Executable)
        {
            WorkingDirectory = InfraFolder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        // No telemetry, no update checks: the tests run without a network.
        start.Environment["BICEP_TELEMETRY_ENABLED"] = "false";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{Executable} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} did not finish within 3 minutes.");
        }
        return new BicepResult(process.ExitCode, await stdout, await stderr);
    }

    private static string Resolve()
    {
        var candidates = new List<string>();
        var packageRoot = typeof(Bicep).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "BicepPackageRoot")?.Value;
        if (!string.IsNullOrEmpty(packageRoot))
        {
            candidates.Add(Path.Combine(packageRoot, "tools", "bicep"));
        }
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var folder = Path.Combine(packages, "azure.bicep.commandline.linux-x64");
        if (Directory.Exists(folder))
        {
            candidates.AddRange(Directory.GetDirectories(folder).OrderDescending(StringComparer.Ordinal).Select(d => Path.Combine(d, "tools", "bicep")));
        }
        var executable = candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("The bicep binary was not found (restore the Azure.Bicep.CommandLine.linux-x64 package). Looked at: " + string.Join(", ", candidates));
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(executable);
            const UnixFileMode execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            if ((mode & UnixFileMode.UserExecute) == 0)
            {
                File.SetUnixFileMode(executable, mode | execute);
            }
        }
        return executable;
    }
}
