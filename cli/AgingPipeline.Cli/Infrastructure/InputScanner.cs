using System.IO.Enumeration;
using AgingPipeline.Contracts;

namespace AgingPipeline.Cli.Infrastructure;

/// <summary>A local input file.</summary>
/// <param name="FullPath">Absolute path.</param>
/// <param name="RelativePath">Path below the input root with '/' separators; the file name alone for a single file.</param>
/// <param name="Length">Size in bytes when scanned.</param>
internal sealed record InputFile(string FullPath, string RelativePath, long Length)
{
    /// <summary>The file name.</summary>
    public string FileName => RelativePath[(RelativePath.LastIndexOf('/') + 1)..];

    /// <summary>The folder part of <see cref="RelativePath"/> ("" at the root), with '/' separators.</summary>
    public string RelativeDirectory => RelativePath.LastIndexOf('/') is var slash and > 0 ? RelativePath[..slash] : string.Empty;
}

/// <summary>Lists the files of an input folder, recursively and in a stable order.</summary>
/// <remarks>Hidden files and folders (names starting with '.') and symbolic links are left out: the first hold editor
/// and tool state (including the CLI's own temporary files and batch state), the second could loop or leave the
/// folder. Files are returned in ordinal order of their relative paths, so that two runs over the same folder see the
/// same order and assign the same output names.</remarks>
internal static class InputScanner
{
    /// <summary>Lists <paramref name="input"/>: the file itself, or every file below the folder.</summary>
    /// <param name="input">An absolute file or folder path.</param>
    /// <param name="excluded">Absolute folders whose contents are never inputs (e.g. the output folder inside the input).</param>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidRequest"/> when the path does not exist
    /// or cannot be listed.</exception>
    public static IReadOnlyList<InputFile> Scan(string input, IEnumerable<string> excluded)
    {
        ArgumentNullException.ThrowIfNull(excluded);
        if (File.Exists(input))
        {
            return [new InputFile(input, Path.GetFileName(input), new FileInfo(input).Length)];
        }
        if (!Directory.Exists(input))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, $"The input {input} does not exist.");
        }
        var root = Path.TrimEndingDirectorySeparator(input);
        var skip = excluded.Select(e => Path.TrimEndingDirectorySeparator(e) + Path.DirectorySeparatorChar).ToArray();
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            IgnoreInaccessible = true,
            AttributesToSkip = FileAttributes.Hidden | FileAttributes.System | FileAttributes.ReparsePoint,
            ReturnSpecialDirectories = false,
        };
        var files = new List<InputFile>();
        try
        {
            var entries = new FileSystemEnumerable<(string Path, long Length)>(root, static (ref FileSystemEntry e) => (e.ToFullPath(), e.Length), options)
            {
                ShouldIncludePredicate = static (ref FileSystemEntry e) => !e.IsDirectory && !e.FileName.StartsWith('.'),
                ShouldRecursePredicate = static (ref FileSystemEntry e) => !e.FileName.StartsWith('.'),
            };
            foreach (var (path, length) in entries)
            {
                if (skip.Any(s => path.StartsWith(s, StringComparison.Ordinal)))
                {
                    continue;
                }
                var relative = Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
                files.Add(new InputFile(path, relative, length));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, $"The folder {input} could not be listed: {e.Message}", e);
        }
        files.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        return files;
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="folder"/> or lies below it.</summary>
    public static bool IsWithin(string path, string folder)
    {
        var normalizedFolder = Path.TrimEndingDirectorySeparator(folder);
        var normalizedPath = Path.TrimEndingDirectorySeparator(path);
        return string.Equals(normalizedPath, normalizedFolder, StringComparison.Ordinal)
            || normalizedPath.StartsWith(normalizedFolder + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }
}
