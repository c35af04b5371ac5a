using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using AgingPipeline.Cli.Batch;
using AgingPipeline.Cli.Infrastructure;
using AgingPipeline.Cli.Models;
using AgingPipeline.Cli.Offline;
using AgingPipeline.Contracts;

namespace AgingPipeline.Cli;

/// <summary>The <c>aging</c> command tree and its invocation: parsing, error reporting and exit codes.</summary>
internal static class AgingCli
{
    /// <summary>Environment variable that makes unexpected errors print their full details.</summary>
    public const string DebugVariable = "AGING_DEBUG";

    /// <summary>Builds the command tree writing to <paramref name="console"/>.</summary>
    public static RootCommand CreateRootCommand(CliConsole console)
    {
        var common = new CliOptions();
        var root = new RootCommand(
            "aging: age illustrated characters. 'age' works offline on local files; 'batch' sends a folder through the pipeline " +
            "(storage → function app → runner), follows it and downloads the results; 'status' and 'get' look at batches and " +
            "jobs; 'models' lists the models a repository serves.")
        {
            common.Json,
            common.Quiet,
            AgeCommand.Create(common, console),
            BatchCommand.Create(common, console),
            StatusCommand.Create(common, console),
            GetCommand.Create(common, console),
            ModelsCommand.Create(common, console),
        };
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new HelpWithExitCodesAction((HelpAction)help.Action!);
        return root;
    }

    /// <summary>Parses and runs a command line.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="console">Where to write.</param>
    /// <param name="handleTermination">Turn Ctrl-C and SIGTERM into cancellation (the real process; not in-process tests).</param>
    /// <param name="cancellationToken">Cancels the command (in-process callers).</param>
    /// <returns>The exit code (see <see cref="ExitCodes"/>).</returns>
    public static async Task<int> RunAsync(string[] args, CliConsole console, bool handleTermination = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        var root = CreateRootCommand(console);
        var parseResult = root.Parse(args);
        if (parseResult.Action is ParseErrorAction)
        {
            foreach (var error in parseResult.Errors)
            {
                await console.Error.WriteLineAsync($"error (Usage): {error.Message}").ConfigureAwait(false);
            }
            var command = parseResult.CommandResult.Command;
            var name = command is RootCommand ? "aging" : $"aging {command.Name}";
            await console.Error.WriteLineAsync($"next: see '{name} --help'.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        var configuration = new InvocationConfiguration
        {
            Output = console.Output,
            Error = console.Error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = handleTermination ? TimeSpan.FromSeconds(5) : null,
        };
        return await parseResult.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sets <paramref name="action"/> as the command's action, turning errors into messages with a next step
    /// and into exit codes.</summary>
    public static void SetAction(Command command, CliOptions common, CliConsole console, Func<ParseResult, CommandOutput, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = new CommandOutput(console, parseResult.GetValue(common.Json), parseResult.GetValue(common.Quiet));
            try
            {
                return await action(parseResult, output, cancellationToken).ConfigureAwait(false);
            }
            catch (PipelineException e)
            {
                return output.Error(e.Code, e.Message);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await console.Error.WriteLineAsync("Interrupted. Run the same command again to resume.").ConfigureAwait(false);
                return ExitCodes.Cancelled;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                var detail = Environment.GetEnvironmentVariable(DebugVariable) is "1" or "true" ? e.ToString() : $"{e.GetType().Name}: {e.Message}";
                return output.Error(PipelineErrorCode.Internal, detail);
            }
        });
    }

    /// <summary>The standard help, followed by the exit code table.</summary>
    private sealed class HelpWithExitCodesAction(HelpAction inner) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var result = inner.Invoke(parseResult);
            var output = parseResult.InvocationConfiguration.Output;
            output.WriteLine(ExitCodes.FormatTable());
            output.WriteLine();
            return result;
        }
    }
}
