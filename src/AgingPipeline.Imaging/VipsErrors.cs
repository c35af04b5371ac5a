using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;
using NetVips;

namespace AgingPipeline.Imaging;

/// <summary>Turns <see cref="VipsException"/> into <see cref="PipelineException"/> at the imaging boundary.</summary>
/// <remarks>libvips accumulates messages in a per-thread error buffer, so one exception message can carry several
/// lines, including generic ones ("unable to write to memory"). Refusals of input carry a fixed text
/// (<see cref="Corrupt"/>); internal failures keep the most specific line. The original exception stays as the inner
/// exception for the logs.</remarks>
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

    /// <summary>A decoding failure of untrusted content: <see cref="PipelineErrorCode.CorruptImage"/> with
    /// <see cref="CorruptMessage"/>.</summary>
    /// <remarks>The message is fixed per format and leaves libvips' own words out (they stay in the inner exception,
    /// for the logs). libvips keeps its error text in a per-thread buffer that earlier failures on the same thread add
    /// to, and the line it reports for one truncated file depends on where its tile threads stopped reading, so the same
    /// truncated PNG used to be refused with different words from run to run and from entry to entry (issue 15).</remarks>
    public static PipelineException Corrupt(ImageFormat format, VipsException exception) =>
        new(PipelineErrorCode.CorruptImage, CorruptMessage(format), exception);

    /// <summary>The refusal text of content that claims <paramref name="format"/> but cannot be decoded.</summary>
    public static string CorruptMessage(ImageFormat format) =>
        $"The {ImageSniffer.FormatName(format)} image is truncated or corrupt and cannot be decoded.";

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
