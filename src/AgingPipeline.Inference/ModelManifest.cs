using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgingPipeline.Contracts;

namespace AgingPipeline.Inference;

/// <summary>The <c>model.json</c> manifest of one model version (schema in <c>models/README.md</c>).</summary>
/// <remarks>Every property is nullable so that a manifest with missing fields still parses and
/// <see cref="ModelManifestValidator"/> can list every problem at once instead of stopping at the first.</remarks>
public sealed record ModelManifest
{
    public int? SchemaVersion { get; init; }
    public string? Name { get; init; }

    /// <summary>Positive integer, written as a string (a JSON number is accepted too).</summary>
    [JsonConverter(typeof(StringOrNumberConverter))]
    public string? Version { get; init; }

    public string? Kind { get; init; }
    public string? File { get; init; }
    public string? Sha256 { get; init; }
    public int? Opset { get; init; }
    public ModelInputSpec? Input { get; init; }
    public IReadOnlyList<ModelConditionSpec>? Conditions { get; init; }
    public ModelOutputSpec? Output { get; init; }
    public int? MaxBatch { get; init; }
    public string? Licence { get; init; }
    public string? TrainingData { get; init; }

    /// <summary>The head-crop template of a face-aware ager (<c>age-transform</c> only); without it the model runs on the
    /// whole frame.</summary>
    public ModelCropSpec? Crop { get; init; }

    /// <summary>The networks of a <c>face-detector</c> (each with its own file, hash, input and anchor layers); such a
    /// manifest has no top-level <see cref="File"/>, <see cref="Input"/> or <see cref="Output"/>.</summary>
    public IReadOnlyList<ModelNetworkSpec>? Networks { get; init; }

    /// <summary>How a <c>face-detector</c>'s raw outputs become faces (thresholds, overlap removal, keypoints).</summary>
    public ModelDetectionSpec? Detection { get; init; }

    /// <summary>The 8-bit grey a <c>face-detector</c>'s input is letterboxed with and transparency composited on.</summary>
    public int? PadValue { get; init; }

    /// <summary>How the input is prepared, in words (documentation; <see cref="PadValue"/> and the input range are
    /// what the code reads).</summary>
    public string? Normalisation { get; init; }

    /// <summary>Where a model that was not trained here came from, and what was changed (licence obligations).</summary>
    public ModelSourceSpec? Source { get; init; }

    /// <summary>Free-form figures from <c>training/evaluate.py</c>.</summary>
    public JsonElement? Evaluation { get; init; }

    /// <summary>The version as a number; 0 when it is not a positive integer.</summary>
    [JsonIgnore]
    public int VersionNumber =>
        int.TryParse(Version, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : 0;

    /// <summary>The condition with <paramref name="role"/>, if any.</summary>
    public ModelConditionSpec? FindCondition(string role) =>
        Conditions?.FirstOrDefault(c => string.Equals(c.Role, role, StringComparison.Ordinal));

    /// <summary>Parses a manifest; comments and trailing commas are allowed, unknown properties ignored.</summary>
    /// <exception cref="JsonException">The text is not a JSON object of the expected shape.</exception>
    public static ModelManifest Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return JsonSerializer.Deserialize<ModelManifest>(json, SerializerOptions)
            ?? throw new JsonException("The manifest is the JSON literal null.");
    }

    /// <summary>The serializer settings for manifests (camelCase, comments allowed).</summary>
    public static JsonSerializerOptions SerializerOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

/// <summary>The image input of a model.</summary>
public sealed record ModelInputSpec
{
    public string? Name { get; init; }
    public string? Layout { get; init; }
    public int? Channels { get; init; }
    public int? Height { get; init; }
    public int? Width { get; init; }
    public IReadOnlyList<double>? Range { get; init; }
}

/// <summary>An extra float32 [N, 1] input; the value fed is <c>years × scale</c>.</summary>
public sealed record ModelConditionSpec
{
    public string? Name { get; init; }
    public string? Role { get; init; }
    public string? Unit { get; init; }
    public double? Scale { get; init; }
    public double? Min { get; init; }
    public double? Max { get; init; }
}

/// <summary>The <c>crop</c> of an ager's manifest: the canonical head crop it was trained on (positions are fractions
/// of the crop side, [x, y]).</summary>
public sealed record ModelCropSpec
{
    /// <summary>Crop side in pixels; must equal the input's width and height.</summary>
    public int? Size { get; init; }
    public IReadOnlyList<float>? LeftEye { get; init; }
    public IReadOnlyList<float>? RightEye { get; init; }
    public IReadOnlyList<float>? Mouth { get; init; }
    public ModelCropMaskSpec? Mask { get; init; }

    /// <summary>The template, for a spec that passed <see cref="ModelManifestValidator.Validate"/>.</summary>
    public CropTemplate ToTemplate() => new(
        Size!.Value,
        new Point2(LeftEye![0], LeftEye[1]),
        new Point2(RightEye![0], RightEye[1]),
        new Point2(Mouth![0], Mouth[1]),
        new CropMask(Mask!.Centre![0], Mask.Centre[1], Mask.Radii![0], Mask.Radii[1], Mask.Feather!.Value));
}

/// <summary>The feathered ellipse through which an aged crop is blended back (fractions of the crop side).</summary>
public sealed record ModelCropMaskSpec
{
    public IReadOnlyList<float>? Centre { get; init; }
    public IReadOnlyList<float>? Radii { get; init; }
    public float? Feather { get; init; }
}

/// <summary>The output of a model.</summary>
public sealed record ModelOutputSpec
{
    public string? Name { get; init; }
    public string? Kind { get; init; }
    public IReadOnlyList<double>? Range { get; init; }
}

/// <summary>Reads a JSON string or number as a string.</summary>
internal sealed class StringOrNumberConverter : JsonConverter<string?>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Number => reader.TryGetInt64(out var n) ? n.ToString(CultureInfo.InvariantCulture) : reader.GetDouble().ToString(CultureInfo.InvariantCulture),
        JsonTokenType.Null => null,
        _ => throw new JsonException($"Expected a string or a number, found {reader.TokenType}."),
    };

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }
}
