using System.Text.Json;

namespace AgingPipeline.EventPump;

/// <summary>What the pump has delivered, persisted between runs.</summary>
/// <remarks>Keyed by blob name with the ETag of the delivered version: a restart neither redelivers what was
/// delivered nor misses blobs written while the pump was down (they are simply not in the map yet), and an
/// overwritten blob (new ETag) is a new event, as in Azure. Entries of deleted blobs are pruned, so the file
/// stays as large as the container listing.</remarks>
public sealed class DeliveryState
{
    /// <summary>File format version.</summary>
    public int Version { get; set; } = 1;

    /// <summary>Blob name → ETag of the version whose event was delivered (2xx).</summary>
    public Dictionary<string, string> Delivered { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Blob name → ETag of the version whose event failed every attempt.</summary>
    public Dictionary<string, string> DeadLettered { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Loads and saves <see cref="DeliveryState"/> atomically.</summary>
/// <param name="path">The state file.</param>
/// <param name="logger">Reports a corrupt file.</param>
public sealed partial class DeliveryStateStore(string path, ILogger logger)
{
    /// <summary>The state file's full path.</summary>
    public string FullPath { get; } = Path.GetFullPath(path);

    /// <summary>Reads the state; a missing file is an empty state.</summary>
    /// <remarks>A corrupt file is moved aside (<c>.corrupt</c>) and an empty state returned: redelivering every
    /// existing blob is harmless, because OnImageUploaded is idempotent by job id.</remarks>
    public async Task<DeliveryState> LoadAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(FullPath))
        {
            return new DeliveryState();
        }
        try
        {
            await using var stream = File.OpenRead(FullPath);
            var state = await JsonSerializer.DeserializeAsync(stream, EventPumpJsonContext.Default.DeliveryState, cancellationToken).ConfigureAwait(false);
            if (state is { Version: 1 })
            {
                state.Delivered = new Dictionary<string, string>(state.Delivered, StringComparer.Ordinal);
                state.DeadLettered = new Dictionary<string, string>(state.DeadLettered, StringComparer.Ordinal);
                return state;
            }
            LogUnknownVersion(logger, FullPath);
        }
        catch (JsonException ex)
        {
            LogCorrupt(logger, ex, FullPath);
        }
        File.Move(FullPath, FullPath + ".corrupt", overwrite: true);
        return new DeliveryState();
    }

    /// <summary>Writes the state through a temporary file and a rename, so a crash never leaves half a file.</summary>
    public async Task SaveAsync(DeliveryState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        Directory.CreateDirectory(Path.GetDirectoryName(FullPath)!);
        var temporary = FullPath + ".tmp";
        await using (var stream = File.Create(temporary))
        {
            await JsonSerializer.SerializeAsync(stream, state, EventPumpJsonContext.Default.DeliveryState, cancellationToken).ConfigureAwait(false);
        }
        File.Move(temporary, FullPath, overwrite: true);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "State file {Path} is corrupt; moving it aside and starting empty.")]
    private static partial void LogCorrupt(ILogger logger, Exception exception, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "State file {Path} has an unknown version; starting empty.")]
    private static partial void LogUnknownVersion(ILogger logger, string path);
}
