using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;

namespace AgingPipeline.Contracts;

/// <summary>Which part of a picture is aged.</summary>
/// <remarks>Written in JSON (job messages, job records, the API) by its wire names, the same words as in blob metadata,
/// form fields and CLI options.</remarks>
public enum AgingRegion
{
    /// <summary>Every face found (aligned head crops blended back); the whole frame when no face is found. The
    /// default.</summary>
    [JsonStringEnumMemberName("auto")]
    Auto = 0,

    /// <summary>Every face found; no face ends the job with <see cref="PipelineErrorCode.NoFaceFound"/>.</summary>
    [JsonStringEnumMemberName("faces")]
    Faces = 1,

    /// <summary>The whole frame through the model, as before faces were located.</summary>
    [JsonStringEnumMemberName("whole")]
    Whole = 2,
}

/// <summary>The wire names of <see cref="AgingRegion"/> (<c>auto</c>, <c>faces</c>, <c>whole</c>): blob metadata,
/// form fields, CLI options and job records all use these.</summary>
public static class AgingRegions
{
    /// <summary>The names accepted, in display order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["auto", "faces", "whole"];

    /// <summary>The wire name of <paramref name="region"/>.</summary>
    public static string ToWireName(this AgingRegion region) => region switch
    {
        AgingRegion.Auto => "auto",
        AgingRegion.Faces => "faces",
        AgingRegion.Whole => "whole",
        _ => throw new ArgumentOutOfRangeException(nameof(region), region, "Unknown region."),
    };

    /// <summary>Parses a wire name (case-insensitive, surrounding spaces ignored); null or empty is
    /// <see cref="AgingRegion.Auto"/>.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out AgingRegion? region)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case null or "" or "auto":
                region = AgingRegion.Auto;
                return true;
            case "faces" or "face":
                region = AgingRegion.Faces;
                return true;
            case "whole" or "whole-frame" or "frame":
                region = AgingRegion.Whole;
                return true;
            default:
                region = null;
                return false;
        }
    }

    /// <summary>Parses a wire name or throws <see cref="PipelineException"/> with
    /// <see cref="PipelineErrorCode.InvalidRequest"/> and the accepted names.</summary>
    public static AgingRegion Parse(string? text) => TryParse(text, out var region)
        ? region.Value
        : throw new PipelineException(PipelineErrorCode.InvalidRequest, UnknownMessage(text));

    /// <summary>The refusal of a value that is not a region: the value (shortened) and the accepted names, so that the
    /// API, the ingest function and the CLI all say the same.</summary>
    public static string UnknownMessage(string? text)
    {
        var shown = text is null ? string.Empty : text.Length <= 20 ? text : text[..20] + "…";
        return $"Unknown region '{shown}': use one of {string.Join(", ", Names)}.";
    }
}
