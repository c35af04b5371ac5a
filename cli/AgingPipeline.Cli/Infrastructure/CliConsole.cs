using Spectre.Console;

namespace AgingPipeline.Cli.Infrastructure;

/// <summary>Where the CLI writes: results (tables, JSON) to standard output, progress and messages to standard
/// error.</summary>
/// <remarks>Keeping progress on stderr means <c>aging age … --json &gt; report.json</c> still shows a live bar on the
/// terminal while the file receives clean JSON. Live progress is drawn only when stderr is a terminal; redirected
/// output never receives escape sequences.</remarks>
internal sealed class CliConsole
{
    /// <summary>Creates a console over two writers.</summary>
    /// <param name="output">Standard output.</param>
    /// <param name="error">Standard error.</param>
    /// <param name="outputIsTerminal">True when <paramref name="output"/> is a terminal.</param>
    /// <param name="errorIsTerminal">True when <paramref name="error"/> is a terminal.</param>
    public CliConsole(TextWriter output, TextWriter error, bool outputIsTerminal, bool errorIsTerminal)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        Output = output;
        Error = error;
        ErrorIsTerminal = errorIsTerminal;
        Out = Create(output, outputIsTerminal);
        Err = Create(error, errorIsTerminal);
    }

    /// <summary>Standard output as text.</summary>
    public TextWriter Output { get; }

    /// <summary>Standard error as text.</summary>
    public TextWriter Error { get; }

    /// <summary>Standard output for tables.</summary>
    public IAnsiConsole Out { get; }

    /// <summary>Standard error for progress and messages.</summary>
    public IAnsiConsole Err { get; }

    /// <summary>True when standard error is a terminal, so that live progress can be drawn there.</summary>
    public bool ErrorIsTerminal { get; }

    /// <summary>The process's own console.</summary>
    public static CliConsole FromSystemConsole() =>
        new(Console.Out, Console.Error, !Console.IsOutputRedirected, !Console.IsErrorRedirected);

    private static IAnsiConsole Create(TextWriter writer, bool isTerminal) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = isTerminal ? new AnsiConsoleOutput(writer) : new RedirectedOutput(writer, RedirectedWidth()),
        Ansi = isTerminal ? AnsiSupport.Detect : AnsiSupport.No,
        ColorSystem = isTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        Interactive = isTerminal ? InteractionSupport.Yes : InteractionSupport.No,
    });

    /// <summary>Width of tables written to a file or pipe: <c>COLUMNS</c> when set, else 120 (wide enough for every
    /// table without wrapping most cells; a log has no window to fit).</summary>
    private static int RedirectedWidth() =>
        int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var columns) && columns >= 40
            ? columns
            : 120;

    /// <summary>An output that is not a terminal.</summary>
    private sealed class RedirectedOutput(TextWriter writer, int width) : IAnsiConsoleOutput
    {
        public TextWriter Writer => writer;

        public bool IsTerminal => false;

        public int Width => width;

        public int Height => 24;

        public void SetEncoding(System.Text.Encoding encoding)
        {
        }
    }
}
