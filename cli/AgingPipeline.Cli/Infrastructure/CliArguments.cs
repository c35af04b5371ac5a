using AgingPipeline.Contracts;
using Microsoft.Extensions.Configuration;

namespace AgingPipeline.Cli.Infrastructure;

/// <summary>A model named on the command line.</summary>
/// <param name="Name">Repository name, or null for the default model.</param>
/// <param name="Version">Version, or null for the newest valid one.</param>
internal sealed record ModelChoice(string? Name, string? Version)
{
    /// <summary>"name" or "name:version" as typed.</summary>
    public override string ToString() => Version is null ? Name ?? "(default)" : $"{Name}:{Version}";
}

/// <summary>Parses and validates option values with the pipeline's own rules, so that the CLI accepts exactly what
/// an upload through any other way in accepts.</summary>
internal static class CliArguments
{
    private static readonly UploadRules s_rules = new();

    private static readonly Lazy<InputLimits> s_limits = new(LoadLimits);

    /// <summary>The upload rules with their defaults (age range, ages per image, default model).</summary>
    public static UploadRules Rules => s_rules;

    /// <summary>What input is accepted: the pipeline's one <see cref="InputLimits"/>, with the defaults every host has,
    /// overridden by <c>Limits__*</c> environment variables exactly as a host's settings override them (so a CLI pointed
    /// at a deployment with tighter limits can be told them the same way).</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidRequest"/> for unusable values.</exception>
    public static InputLimits Limits => s_limits.Value;

    /// <summary>Parses <c>--ages</c> values ("20,40,60", or several options) into sorted distinct ages.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidAges"/> with the reason.</exception>
    public static IReadOnlyList<int> ParseAges(IEnumerable<string>? values)
    {
        var text = values is null ? null : string.Join(',', values);
        if (!UploadMetadata.TryParseAges(text, s_rules.MinAge, s_rules.MaxAge, s_rules.MaxAgesPerImage, out var ages, out var error))
        {
            throw new PipelineException(PipelineErrorCode.InvalidAges, $"--ages: {error}");
        }
        return ages;
    }

    /// <summary>Parses <c>--model name[:version]</c>.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidRequest"/> for a malformed value.</exception>
    public static ModelChoice ParseModel(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return new ModelChoice(null, null);
        }
        var trimmed = text.Trim();
        var colon = trimmed.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? trimmed : trimmed[..colon];
        var version = colon < 0 ? null : trimmed[(colon + 1)..];
        if (!UploadMetadata.IsValidModelName(name))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"--model: '{name}' is not a model name (lowercase letters, digits and single dashes).");
        }
        if (version is not null && !UploadMetadata.IsValidModelVersion(version))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"--model: '{version}' is not a version (a positive whole number, as in {name}:2).");
        }
        return new ModelChoice(name, version);
    }

    /// <summary>Parses <c>--region auto|faces|whole</c>; null when the option was not given.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidRequest"/> with the accepted names.</exception>
    public static AgingRegion? ParseRegion(string? text)
    {
        if (text is null)
        {
            return null;
        }
        return AgingRegions.TryParse(text, out var region) && !string.IsNullOrWhiteSpace(text)
            ? region
            : throw new PipelineException(PipelineErrorCode.InvalidRequest, $"--region: {AgingRegions.UnknownMessage(text.Trim())}");
    }

    /// <summary>Checks a batch id given with <c>--batch-id</c> or as an argument.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidRequest"/> when malformed.</exception>
    public static string CheckId(string id, string what)
    {
        var trimmed = id.Trim();
        if (!JobIds.IsWellFormed(trimmed))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"'{trimmed}' is not a {what}: ids are lowercase letters, digits and dashes, at most 64 characters.");
        }
        return trimmed;
    }

    /// <summary>The full path of a local file or folder argument.</summary>
    public static string FullPath(string path) => Path.GetFullPath(path.Trim());

    private static InputLimits LoadLimits()
    {
        var limits = new InputLimits();
        new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(InputLimits.SectionName).Bind(limits);
        var problems = limits.Validate();
        if (problems.Count > 0)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, "The Limits__* environment variables are unusable: " + string.Join(" ", problems));
        }
        return limits;
    }
}
