namespace AgingPipeline.Cli.Infrastructure;

/// <summary>Writes files so that a reader (or a later run) never sees half of one.</summary>
/// <remarks>Outputs are skipped on the next run when they exist, so an output cut short by Ctrl-C or a crash must not
/// exist under its final name: content goes to a hidden temporary file in the same folder, then is renamed over the
/// final name (atomic on one file system). Hidden names are never picked up as inputs.</remarks>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/>, creating folders as needed.</summary>
    public static async Task WriteAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        var temporary = TemporaryPathFor(path);
        try
        {
            await File.WriteAllBytesAsync(temporary, content, cancellationToken).ConfigureAwait(false);
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Runs <paramref name="write"/> against a temporary path, then renames the result to <paramref name="path"/>.</summary>
    public static async Task WriteAsync(string path, Func<string, CancellationToken, Task> write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        var temporary = TemporaryPathFor(path);
        try
        {
            await write(temporary, cancellationToken).ConfigureAwait(false);
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private static string TemporaryPathFor(string path)
    {
        var directory = Path.GetDirectoryName(path) ?? ".";
        Directory.CreateDirectory(directory);
        return Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a hidden leftover is never read as an input or an output.
        }
    }

    /// <summary>Deletes temporary files left below <paramref name="root"/> by a run that was killed mid-write.</summary>
    /// <remarks>Only names of the form this class makes (<c>.{name}.{32 hex digits}.tmp</c>) are touched. Best effort:
    /// a file that cannot be deleted stays, hidden and harmless.</remarks>
    /// <returns>How many were deleted.</returns>
    public static int CleanUpAbandoned(string root)
    {
        if (!Directory.Exists(root))
        {
            return 0;
        }
        var deleted = 0;
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        foreach (var path in Directory.EnumerateFiles(root, ".*.tmp", options))
        {
            var name = Path.GetFileName(path);
            if (name.Length > 37 && name[^37] == '.' && name[^36..^4].All(char.IsAsciiHexDigitLower))
            {
                TryDelete(path);
                deleted++;
            }
        }
        return deleted;
    }
}
