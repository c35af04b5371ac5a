using System.Text.Json;
using AgingPipeline.EventPump;

namespace AgingPipeline.EndToEndTests;

/// <summary>Defaults of the local stack that must fit together (no stack needed).</summary>
public sealed class LocalStackDefaultsTests
{
    /// <summary>A delivery that created a job record but could not send its message leaves later deliveries refused as
    /// busy until the function app's <c>FunctionApp:EnqueueRecoveryAfter</c> has passed; if the pump dead-letters the
    /// event before that, the job stays queued for ever (seen in the Azurite restart test with 8 attempts: the last one
    /// came 98–148 s after the first, against a 120 s window).</summary>
    [Fact]
    public void The_pumps_retries_outlast_the_function_apps_enqueue_recovery_window()
    {
        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "functions", "AgingPipeline.Functions", "appsettings.json")));
        var recovery = TimeSpan.Parse(settings.RootElement.GetProperty("FunctionApp").GetProperty("EnqueueRecoveryAfter").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var pump = new EventPumpOptions();

        // UploadEventPump.Backoff: base × 2^(attempt-1), capped, times a jitter of 0.8–1.2; the last attempt comes after
        // the delays of all earlier ones. The shortest possible budget must leave room for one more delivery.
        var shortest = TimeSpan.Zero;
        for (var attempt = 1; attempt < pump.MaxAttempts; attempt++)
        {
            var delay = Math.Min(pump.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1), pump.RetryMaxDelay.TotalMilliseconds);
            shortest += TimeSpan.FromMilliseconds(delay * 0.8);
        }

        Assert.True(shortest > recovery + pump.RetryMaxDelay,
            $"The pump gives up after {shortest.TotalSeconds:0} s at the earliest; the function app recovers an orphaned job record after {recovery.TotalSeconds:0} s.");
    }
}
