using AgingPipeline.Cli.Infrastructure;
using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;

namespace AgingPipeline.Cli.Offline;

/// <summary>What to do with one input, decided from its first bytes.</summary>
/// <param name="Input">The file.</param>
/// <param name="Format">The sniffed format; <see cref="ImageFormat.Unknown"/> when not an accepted image.</param>
/// <param name="Stem">The output stem (accepted images only).</param>
/// <param name="Skip">Why the file is left alone (not an image), or null.</param>
/// <param name="Failure">Why the file fails before any work (unsupported image format, unreadable), or null.</param>
internal sealed record PlannedFile(InputFile Input, ImageFormat Format, string? Stem, string? Skip, PipelineException? Failure)
{
    /// <summary>The output file extension (accepted images only).</summary>
    public string Extension => BlobNames.ExtensionFor(Format);
}

/// <summary>Sniffs and checks every input and assigns output names before any work starts.</summary>
/// <remarks>The content decides, never the name: a PNG called <c>photo.jpg</c> is aged as a PNG and written as
/// <c>photo.age40.png</c>. A file that is not an accepted image is reported as failed when its name says it is an
/// image (the person meant it to be aged: a GIF, a HEIC, a broken download) and skipped as "not an image" otherwise
/// (notes, sidecar files), so that a folder with a README does not fail.</remarks>
internal static class OfflinePlanner
{
    private static readonly HashSet<string> s_imageExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ".png", ".apng", ".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif",
        ".avif", ".jxl", ".jp2", ".ico", ".psd", ".svg",
    };

    /// <summary>Plans every file, in order, checking each image at the door every entry uses (<see cref="InputCheck"/>)
    /// from its first <see cref="InputLimits.PrefixBytes"/> bytes and its length: a file the pipeline would refuse is
    /// failed here with the same code and message, before it is read whole (or uploaded).</summary>
    public static IReadOnlyList<PlannedFile> Plan(IReadOnlyList<InputFile> files, OutputNames names, InputLimits limits)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(limits);
        var planned = new List<PlannedFile>(files.Count);
        var prefix = new byte[InputLimits.PrefixBytes];
        foreach (var file in files)
        {
            int read;
            long length;
            try
            {
                using var stream = new FileStream(file.FullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
                length = stream.Length;
                read = stream.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                planned.Add(new PlannedFile(file, ImageFormat.Unknown, null, null, ReadFailure(file, e)));
                continue;
            }
            var head = prefix.AsSpan(0, read);
            var sniff = ImageSniffer.Detect(head[..Math.Min(read, ImageSniffer.HeaderLength)]);
            if (sniff.Format == ImageFormat.Unknown && !LooksLikeImage(file.FileName))
            {
                planned.Add(new PlannedFile(file, ImageFormat.Unknown, null, $"not an image ({sniff.Description})", null));
                continue;
            }
            if (InputCheck.Refusal(head, length, limits) is { } refusal)
            {
                planned.Add(new PlannedFile(file, sniff.Format, null, null, refusal));
                continue;
            }
            var stem = names.Assign(file.RelativeDirectory, file.FileName, BlobNames.ExtensionFor(sniff.Format));
            planned.Add(new PlannedFile(file, sniff.Format, stem, null, null));
        }
        return planned;
    }

    /// <summary>True when the file name has an image extension.</summary>
    public static bool LooksLikeImage(string fileName) => s_imageExtensions.Contains(Path.GetExtension(fileName));

    /// <summary>The failure for an input that cannot be read.</summary>
    public static PipelineException ReadFailure(InputFile file, Exception e) => e is FileNotFoundException or DirectoryNotFoundException
        ? new PipelineException(PipelineErrorCode.InputGone, $"{file.RelativePath} disappeared during the run.", e)
        : new PipelineException(PipelineErrorCode.InvalidRequest, $"{file.RelativePath} could not be read: {e.Message}", e);
}
