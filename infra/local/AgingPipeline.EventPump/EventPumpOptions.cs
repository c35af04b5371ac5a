namespace AgingPipeline.EventPump;

/// <summary>Settings of the local event pump. Bound from the <c>EventPump</c> configuration section
/// (environment variables <c>EventPump__FunctionAppUrl</c> etc., or <c>--EventPump:PollInterval=00:00:02</c>).</summary>
public sealed class EventPumpOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "EventPump";

    /// <summary>Base URL of the function app (the custom handler), default <c>http://127.0.0.1:7071</c>.</summary>
    public Uri FunctionAppUrl { get; set; } = new("http://127.0.0.1:7071");

    /// <summary>Function invoked for each new blob (default <c>OnImageUploaded</c>).</summary>
    public string FunctionName { get; set; } = "OnImageUploaded";

    /// <summary>Binding name of the Event Grid trigger in its <c>function.json</c> (default <c>eventGridEvent</c>).</summary>
    public string BindingName { get; set; } = "eventGridEvent";

    /// <summary>How often <c>uploads</c> is listed (default 1 s).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>File that remembers what was delivered, default <c>.local/event-pump/state.json</c>.</summary>
    public string StateFile { get; set; } = Path.Combine(".local", "event-pump", "state.json");

    /// <summary>Deliveries in flight at once (default 4).</summary>
    public int MaxConcurrentDeliveries { get; set; } = 4;

    /// <summary>Attempts per event before it is dead-lettered (default 12: about six minutes with the default delays).</summary>
    /// <remarks>Event Grid retries for up to 24 hours; locally a dozen attempts over a few minutes shows a broken
    /// handler quickly while riding out a restart of the function app or of storage. The retries must outlast the
    /// function app's <c>FunctionApp:EnqueueRecoveryAfter</c> (2 minutes): a delivery whose enqueue failed (storage
    /// went away between the job record and the message) leaves a record that later deliveries are refused for
    /// ("busy") until that window has passed, and only a delivery after it sends the message. With 8 attempts the
    /// last one came after 98–148 s, so such a job could stay queued for ever.</remarks>
    public int MaxAttempts { get; set; } = 12;

    /// <summary>First retry delay, doubled after each failure (default 1 s).</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of the retry delay (default 60 s).</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Time limit of one delivery (default 30 s, Event Grid's own).</summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Checks the options; returns the problems found (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!FunctionAppUrl.IsAbsoluteUri)
        {
            problems.Add($"{nameof(FunctionAppUrl)} must be absolute.");
        }
        if (string.IsNullOrWhiteSpace(FunctionName) || string.IsNullOrWhiteSpace(BindingName))
        {
            problems.Add($"{nameof(FunctionName)} and {nameof(BindingName)} are required.");
        }
        if (PollInterval < TimeSpan.FromMilliseconds(50))
        {
            problems.Add($"{nameof(PollInterval)} must be at least 50 ms.");
        }
        if (string.IsNullOrWhiteSpace(StateFile))
        {
            problems.Add($"{nameof(StateFile)} is required.");
        }
        if (MaxConcurrentDeliveries < 1 || MaxAttempts < 1)
        {
            problems.Add($"{nameof(MaxConcurrentDeliveries)} and {nameof(MaxAttempts)} must be at least 1.");
        }
        if (RetryBaseDelay <= TimeSpan.Zero || RetryMaxDelay < RetryBaseDelay || DeliveryTimeout <= TimeSpan.Zero)
        {
            problems.Add("Retry delays and the delivery timeout must be positive, the maximum delay at least the base delay.");
        }
        return problems;
    }
}
