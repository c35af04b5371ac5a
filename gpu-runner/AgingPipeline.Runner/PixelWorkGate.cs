using Microsoft.Extensions.Options;

namespace AgingPipeline.Runner;

/// <summary>Bounds how many jobs do CPU-bound pixel work (decode, compose and encode, the contact sheet) at once.</summary>
/// <remarks>The runner's jobs are two kinds of work: I/O (receive, download, upload, record) that waits on storage,
/// and pixel work that keeps a core busy. <see cref="RunnerOptions.MaxConcurrentJobs"/> jobs are in flight so that
/// storage round trips overlap, but only <see cref="RunnerOptions.PixelWorkers"/> of them (default: one per core) hold
/// decoded pixels and compete for the cores; the rest wait here in arrival order. That keeps the cores busy while
/// uploads run, and bounds full-resolution memory by the pixel workers, not by the jobs in flight.</remarks>
internal sealed class PixelWorkGate : IDisposable
{
    private readonly SemaphoreSlim _slots;

    public PixelWorkGate(IOptions<RunnerOptions> options)
    {
        Workers = options.Value.EffectivePixelWorkers;
        _slots = new SemaphoreSlim(Workers, Workers);
    }

    /// <summary>Jobs that may do pixel work at once.</summary>
    public int Workers { get; }

    /// <summary>Waits for a slot; dispose the result to free it.</summary>
    public async Task<Slot> EnterAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Slot(_slots);
    }

    public void Dispose() => _slots.Dispose();

    /// <summary>A held slot.</summary>
    internal readonly struct Slot(SemaphoreSlim slots) : IDisposable
    {
        public void Dispose() => slots.Release();
    }
}
