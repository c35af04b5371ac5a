using AgingPipeline.Inference;
using Microsoft.Extensions.Options;

namespace AgingPipeline.Processing;

/// <summary>Face finding settings, bound from the <c>Faces</c> configuration section.</summary>
/// <remarks><see cref="Detectors"/> is an ordered fallback list rather than one name so that a detector for stylised
/// faces can be appended without replacing BlazeFace where BlazeFace works. <see cref="MaxFaces"/> bounds the work one
/// upload can cause: every face found is warped, aged at every requested age and blended back.</remarks>
public sealed class FaceOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Faces";

    /// <summary>The largest <see cref="MaxFaces"/> accepted.</summary>
    public const int MaximumMaxFaces = 64;

    /// <summary>Served <c>face-detector</c> models to try, in order; the first that finds any face wins (default
    /// <c>["face-detector", "character-face-detector"]</c>: MediaPipe BlazeFace, then the detector trained here on
    /// stylised renders for the drawn faces BlazeFace misses; a listed model that is not served is skipped).</summary>
    public string[] Detectors { get; set; } = ["face-detector", "character-face-detector"];

    /// <summary>Detections below this score are dropped (default 0.5, MediaPipe's own threshold).</summary>
    public double MinScore { get; set; } = 0.5;

    /// <summary>At most this many faces, the best-scoring, are returned per image (default 8).</summary>
    public int MaxFaces { get; set; } = 8;

    /// <summary>Returns every problem of these options; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Detectors is null || Detectors.Length == 0)
        {
            errors.Add($"{nameof(Detectors)} must list at least one face-detector model.");
        }
        else
        {
            foreach (var name in Detectors)
            {
                if (string.IsNullOrWhiteSpace(name) || !ModelManifestValidator.IsValidName(name))
                {
                    errors.Add($"{nameof(Detectors)} entry '{name}' is not a valid model name.");
                }
            }
            if (Detectors.Distinct(StringComparer.Ordinal).Count() != Detectors.Length)
            {
                errors.Add($"{nameof(Detectors)} lists a model twice.");
            }
        }
        if (!(MinScore > 0 && MinScore < 1))
        {
            errors.Add($"{nameof(MinScore)} must be above 0 and below 1.");
        }
        if (MaxFaces is < 1 or > MaximumMaxFaces)
        {
            errors.Add($"{nameof(MaxFaces)} must be from 1 to {MaximumMaxFaces}.");
        }
        return errors;
    }
}

/// <summary>Validates <see cref="FaceOptions"/> when the host starts.</summary>
public sealed class FaceOptionsValidator : IValidateOptions<FaceOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, FaceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
