using AgingPipeline.Cli;
using AgingPipeline.Cli.Infrastructure;

// Everything lives in AgingCli so that tests run the very same command tree in-process.
return await AgingCli.RunAsync(args, CliConsole.FromSystemConsole(), handleTermination: true).ConfigureAwait(false);
