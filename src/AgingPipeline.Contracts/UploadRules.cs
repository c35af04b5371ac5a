
namespace AgingPipeline.Contracts;

/// <summary>The options of every upload, whichever way it came in (web form, CLI, direct blob write): the ages, model
/// and region allowed and their defaults. Bound from the <c>Uploads</c> configuration section.</summary>
/// <remarks>One class for the API and for OnImageUploaded, so that a blob written straight into storage is held
/// to exactly the same rules as one sent through the API. What content is accepted (format, bytes, pixels, sides,
/// frames) is not here but in <see cref="InputLimits"/>, which the runner and the CLI share too.</remarks>
public sealed class UploadRules
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Uploads";

    /// <summary>Smallest target age in years.</summary>
    public int MinAge { get; set; } = 5;

    /// <summary>Largest target age in years.</summary>
    public int MaxAge { get; set; } = 90;

    /// <summary>Most target ages per image (each age is one model pass and one output blob).</summary>
    public int MaxAgesPerImage { get; set; } = 8;

    /// <summary>Ages used when an upload names none.</summary>
    public int[] DefaultAges { get; set; } = [20, 40, 60, 80];

    /// <summary>Model used when an upload names none.</summary>
    public string DefaultModel { get; set; } = "character-ager";

    /// <summary>Region aged when an upload names none (default <see cref="AgingRegion.Auto"/>: the faces found, else
    /// the whole frame).</summary>
    /// <remarks>Auto, so that a program that writes a bare blob gets a result whether or not a face is found; a
    /// deployment that serves only portraits may prefer <see cref="AgingRegion.Faces"/>.</remarks>
    public AgingRegion DefaultRegion { get; set; } = AgingRegion.Auto;

    /// <summary>Checks the rules themselves; returns the problems found (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (MinAge < 0 || MaxAge < MinAge)
        {
            problems.Add($"{nameof(MinAge)} must be at least 0 and at most {nameof(MaxAge)}.");
        }
        if (MaxAgesPerImage < 1)
        {
            problems.Add($"{nameof(MaxAgesPerImage)} must be at least 1.");
        }
        if (DefaultAges.Length == 0 || DefaultAges.Any(a => a < MinAge || a > MaxAge) || DefaultAges.Distinct().Count() > MaxAgesPerImage)
        {
            problems.Add($"{nameof(DefaultAges)} must hold 1–{MaxAgesPerImage} ages within {MinAge}–{MaxAge}.");
        }
        if (!UploadMetadata.IsValidModelName(DefaultModel))
        {
            problems.Add($"{nameof(DefaultModel)} '{DefaultModel}' is not a valid model name.");
        }
        if (!Enum.IsDefined(DefaultRegion))
        {
            problems.Add($"{nameof(DefaultRegion)} must be one of {string.Join(", ", AgingRegions.Names)}.");
        }
        return problems;
    }
}

/// <summary>The options of one upload after defaults were applied and everything was validated.</summary>
/// <param name="Ages">Target ages, ascending and distinct.</param>
/// <param name="ModelName">Model repository name.</param>
/// <param name="ModelVersion">Model version, or null for the newest.</param>
/// <param name="BatchId">Batch id, or null.</param>
/// <param name="OriginalName">The user's file name for display, or null.</param>
/// <param name="Region">Which part of the picture is aged.</param>
public sealed record UploadOptions(
    IReadOnlyList<int> Ages, string ModelName, string? ModelVersion, string? BatchId, string? OriginalName, AgingRegion Region = AgingRegion.Auto)
{
    /// <summary>Reads upload options from blob metadata, applying <paramref name="rules"/> for defaults and limits.</summary>
    /// <param name="metadata">Blob metadata (keys compared case-insensitively); null for none.</param>
    /// <param name="rules">Limits and defaults.</param>
    /// <param name="options">The options when valid.</param>
    /// <param name="error">The refusal (<see cref="PipelineErrorCode.InvalidAges"/> or
    /// <see cref="PipelineErrorCode.InvalidRequest"/>) when not.</param>
    /// <returns>True when the metadata is usable.</returns>
    /// <remarks>Anyone can write a blob into <c>uploads</c> with any metadata, so every value is validated here
    /// exactly as the API validates its form fields; an unusable value refuses the upload with a reason rather
    /// than being silently replaced by a default.</remarks>
    public static bool TryRead(IDictionary<string, string>? metadata, UploadRules rules, out UploadOptions options, out PipelineException? error)
    {
        ArgumentNullException.ThrowIfNull(rules);
        options = new UploadOptions(rules.DefaultAges.Distinct().Order().ToArray(), rules.DefaultModel, null, null, null, rules.DefaultRegion);
        error = null;
        var ages = Lookup(metadata, UploadMetadata.Ages);
        IReadOnlyList<int> parsedAges = options.Ages;
        if (ages is not null
            && !UploadMetadata.TryParseAges(ages, rules.MinAge, rules.MaxAge, rules.MaxAgesPerImage, out parsedAges, out var agesError))
        {
            error = new PipelineException(PipelineErrorCode.InvalidAges, agesError!);
            return false;
        }
        var model = Lookup(metadata, UploadMetadata.Model)?.Trim();
        if (string.IsNullOrEmpty(model))
        {
            model = rules.DefaultModel;
        }
        else if (!UploadMetadata.IsValidModelName(model))
        {
            error = new PipelineException(PipelineErrorCode.InvalidRequest,
                "The model name may only contain lowercase letters, digits and single dashes (at most 63 characters).");
            return false;
        }
        var version = Lookup(metadata, UploadMetadata.ModelVersion)?.Trim();
        if (string.IsNullOrEmpty(version))
        {
            version = null;
        }
        else if (!UploadMetadata.IsValidModelVersion(version))
        {
            error = new PipelineException(PipelineErrorCode.InvalidRequest, "The model version must be a positive whole number.");
            return false;
        }
        var batch = Lookup(metadata, UploadMetadata.BatchId)?.Trim();
        if (string.IsNullOrEmpty(batch))
        {
            batch = null;
        }
        else if (!JobIds.IsWellFormed(batch))
        {
            error = new PipelineException(PipelineErrorCode.InvalidRequest,
                "The batch id may only contain lowercase letters, digits and dashes (at most 64 characters).");
            return false;
        }
        var regionText = Lookup(metadata, UploadMetadata.Region);
        var region = rules.DefaultRegion;
        if (!string.IsNullOrWhiteSpace(regionText))
        {
            if (!AgingRegions.TryParse(regionText, out var parsedRegion))
            {
                error = new PipelineException(PipelineErrorCode.InvalidRequest, AgingRegions.UnknownMessage(regionText.Trim()));
                return false;
            }
            region = parsedRegion.Value;
        }
        options = new UploadOptions(parsedAges, model, version, batch, UploadMetadata.DecodeOriginalName(Lookup(metadata, UploadMetadata.OriginalName)), region);
        return true;
    }

    /// <summary>The blob metadata that carries these options (the inverse of <see cref="TryRead"/>).</summary>
    public Dictionary<string, string> ToMetadata()
    {
        var metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            [UploadMetadata.Ages] = UploadMetadata.FormatAges(Ages),
            [UploadMetadata.Model] = ModelName,
            [UploadMetadata.Region] = Region.ToWireName(),
        };
        if (ModelVersion is not null)
        {
            metadata[UploadMetadata.ModelVersion] = ModelVersion;
        }
        if (BatchId is not null)
        {
            metadata[UploadMetadata.BatchId] = BatchId;
        }
        if (OriginalName is not null)
        {
            metadata[UploadMetadata.OriginalName] = UploadMetadata.EncodeOriginalName(OriginalName);
        }
        return metadata;
    }

    private static string? Lookup(IDictionary<string, string>? metadata, string key)
    {
        if (metadata is null)
        {
            return null;
        }
        if (metadata.TryGetValue(key, out var value))
        {
            return value;
        }
        foreach (var pair in metadata)
        {
            if (string.Equals(pair.Key, key, StringComparison.OrdinalIgnoreCase))
            {
                return pair.Value;
            }
        }
        return null;
    }
}
