using AgingPipeline.Contracts;

namespace AgingPipeline.Testing;

/// <summary>Waiting for a condition with a deadline instead of sleeping for a guessed time.</summary>
public static class Poll
{
    /// <summary>Calls <paramref name="probe"/> until it returns a value; errors of an unreachable service
    /// (storage or a process restarting) count as "not yet".</summary>
    /// <exception cref="TimeoutException">Not satisfied within <paramref name="timeout"/>; the message says what was awaited.</exception>
    public static async Task<T> UntilAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, Func<string> what, TimeSpan? interval = null)
        where T : class
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await probe() is { } value)
                {
                    return value;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or Azure.RequestFailedException or PipelineException)
            {
                last = ex;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited {timeout.TotalSeconds:0} s for {what()}" + (last is null ? "" : $" (last error: {last.Message})"));
            }
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>Calls <paramref name="probe"/> until it returns true.</summary>
    public static Task UntilAsync(Func<Task<bool>> probe, TimeSpan timeout, Func<string> what, TimeSpan? interval = null) =>
        UntilAsync(async () => await probe() ? string.Empty : null, timeout, what, interval);
}
