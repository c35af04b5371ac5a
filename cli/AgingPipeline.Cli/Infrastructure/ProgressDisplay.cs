using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace AgingPipeline.Cli.Infrastructure;

/// <summary>One bar of the progress display.</summary>
internal interface IProgressLine
{
    /// <summary>Sets the total the bar runs to.</summary>
    void SetTotal(double total);

    /// <summary>Advances the bar.</summary>
    void Increment(double amount = 1);

    /// <summary>Moves the bar to <paramref name="value"/>.</summary>
    void SetValue(double value);

    /// <summary>Replaces the text shown before the bar.</summary>
    void Describe(string description);

    /// <summary>Marks the bar finished (stops its clock).</summary>
    void Complete();
}

/// <summary>Adds bars to a progress display.</summary>
internal interface IProgressSink
{
    /// <summary>Adds a bar.</summary>
    /// <param name="description">Text before the bar (plain text, not markup).</param>
    /// <param name="total">The value at which the bar is full.</param>
    /// <param name="unit">The unit of the rate column, e.g. "img" for "3.2 img/s".</param>
    IProgressLine Add(string description, double total, string unit);
}

/// <summary>Runs work under a Spectre.Console progress display on stderr: description, bar, percentage, count, rate
/// and ETA per line; or under nothing when progress is off (no terminal, <c>--quiet</c>).</summary>
internal static class ProgressDisplay
{
    /// <summary>Runs <paramref name="work"/>, drawing progress when <paramref name="enabled"/>.</summary>
    public static async Task<T> RunAsync<T>(CliConsole console, bool enabled, Func<IProgressSink, Task<T>> work)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(work);
        if (!enabled)
        {
            return await work(NullSink.Instance).ConfigureAwait(false);
        }
        var progress = console.Err.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(
                new TaskDescriptionColumn { Alignment = Justify.Left },
                new ProgressBarColumn(),
                new PercentageColumn(),
                new CountColumn(),
                new RateColumn(),
                new EtaColumn(),
                new SpinnerColumn());
        return await progress.StartAsync(context => work(new SpectreSink(context))).ConfigureAwait(false);
    }

    private sealed class NullSink : IProgressSink, IProgressLine
    {
        public static NullSink Instance { get; } = new();

        public IProgressLine Add(string description, double total, string unit) => this;

        public void SetTotal(double total)
        {
        }

        public void Increment(double amount = 1)
        {
        }

        public void SetValue(double value)
        {
        }

        public void Describe(string description)
        {
        }

        public void Complete()
        {
        }
    }

    private sealed class SpectreSink(ProgressContext context) : IProgressSink
    {
        private readonly object _gate = new();

        public IProgressLine Add(string description, double total, string unit)
        {
            lock (_gate)
            {
                var task = context.AddTask(Markup.Escape(description), autoStart: true, maxValue: Math.Max(total, 0));
                task.Tag = unit;
                return new SpectreLine(task);
            }
        }
    }

    private sealed class SpectreLine(ProgressTask task) : IProgressLine
    {
        private readonly object _gate = new();

        public void SetTotal(double total)
        {
            lock (_gate)
            {
                task.MaxValue = Math.Max(total, 0);
            }
        }

        public void Increment(double amount = 1)
        {
            lock (_gate)
            {
                task.Increment(amount);
            }
        }

        public void SetValue(double value)
        {
            lock (_gate)
            {
                task.Value = value;
            }
        }

        public void Describe(string description)
        {
            lock (_gate)
            {
                task.Description = Markup.Escape(description);
            }
        }

        public void Complete()
        {
            lock (_gate)
            {
                if (task.Value < task.MaxValue)
                {
                    task.MaxValue = task.Value;
                }
                task.StopTask();
            }
        }
    }

    /// <summary>"7/12".</summary>
    private sealed class CountColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(string.Create(CultureInfo.InvariantCulture, $"{task.Value:0}/{task.MaxValue:0}"));
    }

    /// <summary>"3.2 img/s".</summary>
    private sealed class RateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            var unit = task.Tag as string ?? "item";
            var speed = task.Speed ?? (task.ElapsedTime is { TotalSeconds: > 0 } elapsed ? task.Value / elapsed.TotalSeconds : null);
            return new Text(speed is > 0
                ? string.Create(CultureInfo.InvariantCulture, $"{speed:0.0} {unit}/s")
                : $"– {unit}/s", new Style(Color.Grey));
        }
    }

    /// <summary>"ETA 01:23" while running, "in 00:42" when finished.</summary>
    private sealed class EtaColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            if (task.IsFinished)
            {
                return new Text("in " + Format(task.ElapsedTime ?? TimeSpan.Zero), new Style(Color.Grey));
            }
            return new Text(task.RemainingTime is { } remaining ? "ETA " + Format(remaining) : "ETA --:--", new Style(Color.Blue));
        }

        private static string Format(TimeSpan time) => time.TotalHours >= 1
            ? time.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture)
            : time.ToString(@"mm\:ss", CultureInfo.InvariantCulture);
    }
}
