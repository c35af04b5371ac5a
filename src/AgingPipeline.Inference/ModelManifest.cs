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
    /// <summary>Version of the manifest's shape (1).</summary>
    public int? SchemaVersion { get; init; }
    /// <summary>The model's name, e.g. <c>character-ager</c>; must equal its folder's name.</summary>
    public string? Name { get; init; }

    /// <summary>Positive integer, written as a string (a JSON number is accepted too).</summary>
    [JsonConverter(typeof(StringOrNumberConverter))]
    public string? Version { get; init; }

    /// <summary>What the model does: one of the kinds in <see cref="ModelKinds"/>.</summary>
    public string? Kind { get; init; }
    /// <summary>The ONNX file, relative to the version folder.</summary>
    public string? File { get; init; }
    /// <summary>SHA-256 of the ONNX file, 64 hexadecimal digits; checked before a session is created.</summary>
    public string? Sha256 { get; init; }
    /// <summary>The ONNX opset the file was exported with.</summary>
    public int? Opset { get; init; }
    /// <summary>The image input.</summary>
    public ModelInputSpec? Input { get; init; }
    /// <summary>The extra scalar inputs (ages), in the order the model takes them.</summary>
    public IReadOnlyList<ModelConditionSpec>? Conditions { get; init; }
    /// <summary>The output.</summary>
    public ModelOutputSpec? Output { get; init; }
    /// <summary>The largest batch the dynamic batcher may send.</summary>
    public int? MaxBatch { get; init; }
    /// <summary>The licence the weights are published under.</summary>
    public string? Licence { get; init; }
    /// <summary>What the model was trained on, in words.</summary>
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
    /// <summary>The ONNX input's name.</summary>
    public string? Name { get; init; }
    /// <summary>Tensor layout: <see cref="ModelKinds.LayoutNchw"/> or <see cref="ModelKinds.LayoutNhwc"/>.</summary>
    public string? Layout { get; init; }
    /// <summary>Colour channels (3, RGB).</summary>
    public int? Channels { get; init; }
    /// <summary>Input height in pixels.</summary>
    public int? Height { get; init; }
    /// <summary>Input width in pixels.</summary>
    public int? Width { get; init; }
    /// <summary>The [low, high] range pixel values are scaled to.</summary>
    public IReadOnlyList<double>? Range { get; init; }
}

/// <summary>An extra float32 [N, 1] input; the value fed is <c>years × scale</c>.</summary>
public sealed record ModelConditionSpec
{
    /// <summary>The ONNX input's name.</summary>
    public string? Name { get; init; }
    /// <summary>What the value means: <see cref="ModelKinds.TargetAgeRole"/> or <see cref="ModelKinds.SourceAgeRole"/>.</summary>
    public string? Role { get; init; }
    /// <summary>The unit of the value before scaling (<c>years</c>).</summary>
    public string? Unit { get; init; }
    /// <summary>The factor the value in <see cref="Unit"/> is multiplied by before it is fed.</summary>
    public double? Scale { get; init; }
    /// <summary>The smallest value allowed, in <see cref="Unit"/>.</summary>
    public double? Min { get; init; }
    /// <summary>The largest value allowed, in <see cref="Unit"/>.</summary>
    public double? Max { get; init; }
}

/// <summary>The <c>crop</c> of an ager's manifest: the canonical head crop it was trained on (positions are fractions
/// of the crop side, [x, y]).</summary>
public sealed record ModelCropSpec
{
    /// <summary>Crop side in pixels; must equal the input's width and height.</summary>
    public int? Size { get; init; }
    /// <summary>Where the left eye (as seen) sits in the crop, [x, y].</summary>
    public IReadOnlyList<float>? LeftEye { get; init; }
    /// <summary>Where the right eye (as seen) sits in the crop, [x, y].</summary>
    public IReadOnlyList<float>? RightEye { get; init; }
    /// <summary>Where the mouth centre sits in the crop, [x, y].</summary>
    public IReadOnlyList<float>? Mouth { get; init; }
    /// <summary>The blend-back mask.</summary>
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
    /// <summary>The ellipse's centre, [x, y].</summary>
    public IReadOnlyList<float>? Centre { get; init; }
    /// <summary>The ellipse's half-axes, [x, y].</summary>
    public IReadOnlyList<float>? Radii { get; init; }
    /// <summary>The width of the soft edge.</summary>
    public float? Feather { get; init; }
}

/// <summary>The output of a model.</summary>
public sealed record ModelOutputSpec
{
    /// <summary>The ONNX output's name.</summary>
    public string? Name { get; init; }
    /// <summary>What the output holds: <see cref="ModelKinds.ResidualOutput"/>, <see cref="ModelKinds.ImageOutput"/> or
    /// <see cref="ModelKinds.AgeYearsOutput"/>.</summary>
    public string? Kind { get; init; }
    /// <summary>The [low, high] range of the output values.</summary>
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
