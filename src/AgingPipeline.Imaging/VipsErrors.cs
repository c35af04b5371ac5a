using AgingPipeline.Contracts;
using NetVips;

namespace AgingPipeline.Imaging;

/// <summary>Turns <see cref="VipsException"/> into <see cref="PipelineException"/> at the imaging boundary.</summary>
/// <remarks>libvips accumulates messages in a per-thread error buffer, so one exception message can carry several
/// lines, including generic ones ("unable to write to memory"). The most specific line is kept for the person; the
/// original exception stays as the inner exception for the logs.</remarks>
internal static class VipsErrors
{
    private static readonly string[] s_genericPrefixes =
    [
        "unable to ",
        "vips_image_",
        "vips__",
        "VipsForeignLoad: ",
        "VipsImage: ",
        "VipsRegion: ",
        "linear: ",
        "cast: ",
    ];

    /// <summary>A decoding failure of untrusted content.</summary>
    public static PipelineException Corrupt(ImageFormat format, string stage, VipsException exception) =>
        new(
            PipelineErrorCode.CorruptImage,
            $"The {ImageSniffer.FormatName(format)} image is truncated or corrupt: {stage} failed ({Detail(exception)}).",
            exception);

    /// <summary>A failure while processing pixels that were already decoded; a bug or resource exhaustion.</summary>
    public static PipelineException Internal(string stage, VipsException exception) =>
        new(PipelineErrorCode.Internal, $"Image processing failed while {stage} ({Detail(exception)}).", exception);

    /// <summary>The most specific line of a libvips error message, without the libvips class prefix.</summary>
    public static string Detail(VipsException exception)
    {
        var lines = exception.Message
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var specific = lines.LastOrDefault(l => !s_genericPrefixes.Any(p => l.StartsWith(p, StringComparison.Ordinal)))
            ?? lines.LastOrDefault()
            ?? "no detail from libvips";
        var colon = specific.IndexOf(": ", StringComparison.Ordinal);
        if (colon > 0 && colon < 24 && !specific[..colon].Contains(' '))
        {
            specific = specific[(colon + 2)..];
        }
        return specific.Length <= 200 ? specific : specific[..200] + "…";
    }
}
