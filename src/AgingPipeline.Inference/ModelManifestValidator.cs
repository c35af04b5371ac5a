using AgingPipeline.Contracts;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AgingPipeline.Inference;

/// <summary>The name, element type and shape of one graph input or output; dimensions below 1 are dynamic.</summary>
/// <param name="Name">The ONNX name.</param>
/// <param name="ElementType">The CLR element type (e.g. <see cref="float"/>), or null for non-tensors.</param>
/// <param name="Dimensions">The declared shape; -1 (or 0) for symbolic axes.</param>
public sealed record TensorSignature(string Name, Type? ElementType, IReadOnlyList<long> Dimensions);

/// <summary>Checks a model version against <c>models/README.md</c>: the manifest's every field, the model file's
/// SHA-256, and the ONNX graph's actual inputs and outputs.</summary>
/// <remarks>A model that does not match its manifest would produce garbage or crash mid-job, so nothing is served
/// until all three checks pass. Every check collects all of its problems, so the person fixing a manifest sees the
/// full list in one log line rather than one error per deploy.</remarks>
public static partial class ModelManifestValidator
{
    /// <summary>The manifest schema version this build understands.</summary>
    public const int SupportedSchemaVersion = 1;

    /// <summary>The lowest ONNX opset accepted.</summary>
    public const int MinimumOpset = 17;

    /// <summary>The largest model input side accepted.</summary>
    public const int MaximumInputSide = 4096;

    /// <summary>The largest <c>maxBatch</c> accepted.</summary>
    public const int MaximumBatch = 1024;

    /// <summary>Returns every problem of the manifest's fields; empty when it is valid.</summary>
    /// <param name="manifest">The parsed manifest.</param>
    /// <param name="folderName">The <c>{name}</c> folder it was found in, which <c>name</c> must equal (null: not checked).</param>
    /// <param name="folderVersion">The <c>{version}</c> folder it was found in, which <c>version</c> must equal (null: not checked).</param>
    public static IReadOnlyList<string> Validate(ModelManifest manifest, string? folderName = null, string? folderVersion = null)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var errors = new List<string>();

        if (manifest.SchemaVersion is null)
        {
            errors.Add("schemaVersion is missing.");
        }
        else if (manifest.SchemaVersion != SupportedSchemaVersion)
        {
            errors.Add($"schemaVersion {manifest.SchemaVersion} is not supported (this build reads {SupportedSchemaVersion}).");
        }

        if (string.IsNullOrWhiteSpace(manifest.Name))
        {
            errors.Add("name is missing.");
        }
        else
        {
            if (!IsValidName(manifest.Name))
            {
                errors.Add($"name '{manifest.Name}' must be lowercase letters, digits and '-'.");
            }
            if (folderName is not null && !string.Equals(manifest.Name, folderName, StringComparison.Ordinal))
            {
                errors.Add($"name '{manifest.Name}' does not match its folder '{folderName}'.");
            }
        }

        if (string.IsNullOrWhiteSpace(manifest.Version))
        {
            errors.Add("version is missing.");
        }
        else
        {
            if (!IsValidVersion(manifest.Version))
            {
                errors.Add($"version '{manifest.Version}' must be a positive integer.");
            }
            if (folderVersion is not null && !string.Equals(manifest.Version, folderVersion, StringComparison.Ordinal))
            {
                errors.Add($"version '{manifest.Version}' does not match its folder '{folderVersion}'.");
            }
        }

        var kind = manifest.Kind;
        if (string.IsNullOrWhiteSpace(kind))
        {
            errors.Add("kind is missing.");
        }
        else if (kind is not (ModelKinds.AgeTransform or ModelKinds.AgeEstimator or ModelKinds.FaceDetector))
        {
            errors.Add($"kind '{kind}' is unknown (expected '{ModelKinds.AgeTransform}', '{ModelKinds.AgeEstimator}' or '{ModelKinds.FaceDetector}').");
        }

        if (kind == ModelKinds.FaceDetector)
        {
            // One version holds several networks, each with its own file, hash, opset and input.
            ValidateFaceDetector(manifest, errors);
            ValidateServing(manifest, errors);
            return errors;
        }

        if (string.IsNullOrWhiteSpace(manifest.File))
        {
            errors.Add("file is missing.");
        }
        else if (manifest.File != Path.GetFileName(manifest.File) || manifest.File is "." or ".." || manifest.File.Contains('\\'))
        {
            errors.Add($"file '{manifest.File}' must be a plain file name inside the version folder.");
        }
        else if (!manifest.File.EndsWith(".onnx", StringComparison.Ordinal))
        {
            errors.Add($"file '{manifest.File}' must end with '.onnx'.");
        }

        if (string.IsNullOrWhiteSpace(manifest.Sha256))
        {
            errors.Add("sha256 is missing.");
        }
        else if (!Sha256Pattern().IsMatch(manifest.Sha256))
        {
            errors.Add("sha256 must be 64 hexadecimal digits.");
        }

        if (manifest.Opset is null)
        {
            errors.Add("opset is missing.");
        }
        else if (manifest.Opset < MinimumOpset)
        {
            errors.Add($"opset {manifest.Opset} is below the minimum {MinimumOpset}.");
        }

        ValidateInput(manifest.Input, errors);
        ValidateConditions(manifest, errors);
        ValidateOutput(manifest, errors);
        ValidateCrop(manifest, errors);
        ValidateServing(manifest, errors);
        return errors;
    }

    private static void ValidateServing(ModelManifest manifest, List<string> errors)
    {
        if (manifest.MaxBatch is null)
        {
            errors.Add("maxBatch is missing.");
        }
        else if (manifest.MaxBatch is < 1 or > MaximumBatch)
        {
            errors.Add($"maxBatch {manifest.MaxBatch} must be from 1 to {MaximumBatch}.");
        }

        if (string.IsNullOrWhiteSpace(manifest.Licence))
        {
            errors.Add("licence is missing.");
        }
        if (string.IsNullOrWhiteSpace(manifest.TrainingData))
        {
            errors.Add("trainingData is missing.");
        }
        if (manifest.Evaluation is { } evaluation && evaluation.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
        {
            errors.Add($"evaluation must be an object (was {evaluation.ValueKind}).");
        }
    }

    /// <summary>Returns every mismatch between the manifest and the graph's inputs and outputs; empty when they agree.</summary>
    /// <remarks>Call it only with a manifest that passed <see cref="Validate"/>.</remarks>
    public static IReadOnlyList<string> ValidateGraph(ModelManifest manifest, IReadOnlyList<TensorSignature> inputs, IReadOnlyList<TensorSignature> outputs)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        var errors = new List<string>();
        var input = manifest.Input!;
        var expectedInputs = new List<string> { input.Name! };

        CheckTensor(
            "input", inputs, input.Name!,
            [-1, input.Channels!.Value, input.Height!.Value, input.Width!.Value], errors, allowUnknownDims: false);
        foreach (var condition in manifest.Conditions ?? [])
        {
            expectedInputs.Add(condition.Name!);
            CheckTensor("condition input", inputs, condition.Name!, [-1, 1], errors, allowUnknownDims: false);
        }
        foreach (var extra in inputs.Where(i => !expectedInputs.Contains(i.Name, StringComparer.Ordinal)))
        {
            errors.Add($"the graph has input '{extra.Name}' that the manifest does not declare (it would have no value).");
        }

        var output = manifest.Output!;
        long[] expectedOutput = output.Kind == ModelKinds.AgeYearsOutput
            ? [-1, 1]
            : [-1, input.Channels!.Value, input.Height!.Value, input.Width!.Value];
        CheckTensor("output", outputs, output.Name!, expectedOutput, errors, allowUnknownDims: true);
        return errors;
    }

    /// <summary>Checks the model file's SHA-256 against the manifest; returns the problem, or null when it matches.</summary>
    /// <remarks>Catches a partially copied or replaced file as well as tampering: a rescan that meets a file still
    /// being copied skips it until the hash matches.</remarks>
    public static string? ValidateSha256(ModelManifest manifest, string modelPath)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        if (!System.IO.File.Exists(modelPath))
        {
            return $"the model file '{Path.GetFileName(modelPath)}' does not exist.";
        }
        string actual;
        using (var stream = new FileStream(modelPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16))
        {
            actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        return string.Equals(actual, manifest.Sha256, StringComparison.OrdinalIgnoreCase)
            ? null
            : $"sha256 of '{Path.GetFileName(modelPath)}' is {actual}, the manifest says {manifest.Sha256} (file incomplete, replaced or corrupt).";
    }

    /// <summary>True for a repository name (the one rule, <see cref="UploadMetadata.IsValidModelName"/>: lowercase
    /// letters and digits in dash-separated groups, at most 63 characters).</summary>
    public static bool IsValidName(string name) => UploadMetadata.IsValidModelName(name);

    /// <summary>True for a repository version (<see cref="UploadMetadata.IsValidModelVersion"/>: a positive integer
    /// without sign or leading zeros).</summary>
    public static bool IsValidVersion(string version) => UploadMetadata.IsValidModelVersion(version);

    private static void ValidateCrop(ModelManifest manifest, List<string> errors)
    {
        if (manifest.Crop is not { } crop)
        {
            return;
        }
        // An ager ages the crop; an estimator trained on head crops reads one (it judges the aged faces).
        if (manifest.Kind is not (ModelKinds.AgeTransform or ModelKinds.AgeEstimator))
        {
            errors.Add($"crop is only meaningful for kinds '{ModelKinds.AgeTransform}' and '{ModelKinds.AgeEstimator}'.");
        }
        if (crop.Size is null)
        {
            errors.Add("crop.size is missing.");
        }
        else if (manifest.Input is { } input && (crop.Size != input.Width || crop.Size != input.Height))
        {
            errors.Add($"crop.size {crop.Size} must equal the input's width and height ({input.Width} × {input.Height}).");
        }
        CheckFractionPoint("crop.leftEye", crop.LeftEye, errors);
        CheckFractionPoint("crop.rightEye", crop.RightEye, errors);
        CheckFractionPoint("crop.mouth", crop.Mouth, errors);
        if (crop.LeftEye is [var lx, _] && crop.RightEye is [var rx, _] && !(lx < rx))
        {
            errors.Add("crop.leftEye must lie left of crop.rightEye.");
        }
        if (crop.LeftEye is [_, var ly] && crop.RightEye is [_, var ry] && crop.Mouth is [_, var my] && !(my > Math.Max(ly, ry)))
        {
            errors.Add("crop.mouth must lie below the eyes.");
        }
        if (crop.Mask is not { } mask)
        {
            errors.Add("crop.mask is missing.");
            return;
        }
        CheckFractionPoint("crop.mask.centre", mask.Centre, errors);
        if (mask.Radii is not [var rX, var rY] || !(rX > 0 && rX <= 1 && rY > 0 && rY <= 1))
        {
            errors.Add("crop.mask.radii must be two numbers in (0, 1].");
        }
        else if (mask.Feather is not { } feather || !(feather > 0 && feather < Math.Min(rX, rY)))
        {
            errors.Add("crop.mask.feather must be a number above 0 and below the smaller radius.");
        }
    }

    private static void CheckFractionPoint(string field, IReadOnlyList<float>? point, List<string> errors)
    {
        if (point is null)
        {
            errors.Add($"{field} is missing.");
        }
        else if (point is not [var x, var y] || !(x >= 0 && x <= 1 && y >= 0 && y <= 1))
        {
            errors.Add($"{field} must be [x, y] with both in [0, 1] (fractions of the crop side).");
        }
    }

    private static void ValidateInput(ModelInputSpec? input, List<string> errors)
    {
        if (input is null)
        {
            errors.Add("input is missing.");
            return;
        }
        if (string.IsNullOrWhiteSpace(input.Name))
        {
            errors.Add("input.name is missing.");
        }
        if (input.Layout is null)
        {
            errors.Add("input.layout is missing.");
        }
        else if (input.Layout != ModelKinds.LayoutNchw)
        {
            errors.Add($"input.layout '{input.Layout}' is not supported (only NCHW).");
        }
        if (input.Channels is null)
        {
            errors.Add("input.channels is missing.");
        }
        else if (input.Channels != 3)
        {
            errors.Add($"input.channels {input.Channels} is not supported (only 3: RGB).");
        }
        CheckSide("input.height", input.Height, errors);
        CheckSide("input.width", input.Width, errors);
        CheckUnitRange("input.range", input.Range, errors);
    }

    private static void ValidateConditions(ModelManifest manifest, List<string> errors)
    {
        if (manifest.Conditions is null)
        {
            errors.Add("conditions is missing (use [] for none).");
            return;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        var roles = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < manifest.Conditions.Count; i++)
        {
            var c = manifest.Conditions[i];
            var at = $"conditions[{i}]";
            if (c is null)
            {
                errors.Add($"{at} is null.");
                continue;
            }
            if (string.IsNullOrWhiteSpace(c.Name))
            {
                errors.Add($"{at}.name is missing.");
            }
            else if (!names.Add(c.Name) || c.Name == manifest.Input?.Name)
            {
                errors.Add($"{at}.name '{c.Name}' is used twice.");
            }
            if (c.Role is null)
            {
                errors.Add($"{at}.role is missing.");
            }
            else if (c.Role is not (ModelKinds.TargetAgeRole or ModelKinds.SourceAgeRole))
            {
                errors.Add($"{at}.role '{c.Role}' is unknown (expected '{ModelKinds.TargetAgeRole}' or '{ModelKinds.SourceAgeRole}').");
            }
            else if (!roles.Add(c.Role))
            {
                errors.Add($"{at}.role '{c.Role}' appears twice.");
            }
            if (c.Unit is null)
            {
                errors.Add($"{at}.unit is missing.");
            }
            else if (c.Unit != "years")
            {
                errors.Add($"{at}.unit '{c.Unit}' is not supported (only 'years').");
            }
            if (c.Scale is null)
            {
                errors.Add($"{at}.scale is missing.");
            }
            else if (!double.IsFinite(c.Scale.Value) || c.Scale <= 0)
            {
                errors.Add($"{at}.scale must be a positive number.");
            }
            if (c.Min is null)
            {
                errors.Add($"{at}.min is missing.");
            }
            if (c.Max is null)
            {
                errors.Add($"{at}.max is missing.");
            }
            if (c.Min is { } min && c.Max is { } max)
            {
                if (!double.IsFinite(min) || !double.IsFinite(max) || min < 0 || max > 150 || min >= max)
                {
                    errors.Add($"{at}.min and .max must satisfy 0 ≤ min < max ≤ 150 (were {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}).");
                }
            }
        }
        if (manifest.Kind == ModelKinds.AgeTransform && !roles.Contains(ModelKinds.TargetAgeRole))
        {
            errors.Add($"an {ModelKinds.AgeTransform} model needs a condition with role '{ModelKinds.TargetAgeRole}'.");
        }
        if (manifest.Kind == ModelKinds.AgeEstimator && manifest.Conditions.Count > 0)
        {
            errors.Add($"an {ModelKinds.AgeEstimator} model takes no conditions.");
        }
    }

    private static void ValidateOutput(ModelManifest manifest, List<string> errors)
    {
        var output = manifest.Output;
        if (output is null)
        {
            errors.Add("output is missing.");
            return;
        }
        if (string.IsNullOrWhiteSpace(output.Name))
        {
            errors.Add("output.name is missing.");
        }
        if (output.Kind is null)
        {
            errors.Add("output.kind is missing.");
        }
        else if (manifest.Kind == ModelKinds.AgeTransform && output.Kind is not (ModelKinds.ResidualOutput or ModelKinds.ImageOutput))
        {
            errors.Add($"output.kind '{output.Kind}' does not fit an {ModelKinds.AgeTransform} model (expected '{ModelKinds.ResidualOutput}' or '{ModelKinds.ImageOutput}').");
        }
        else if (manifest.Kind == ModelKinds.AgeEstimator && output.Kind != ModelKinds.AgeYearsOutput)
        {
            errors.Add($"output.kind '{output.Kind}' does not fit an {ModelKinds.AgeEstimator} model (expected '{ModelKinds.AgeYearsOutput}').");
        }
        if (output.Kind is ModelKinds.ImageOutput)
        {
            CheckUnitRange("output.range", output.Range, errors);
        }
        else if (output.Kind is ModelKinds.ResidualOutput)
        {
            // A residual moves a pixel anywhere inside [-1, 1], so it may span [-2, 2]; it must be symmetric and
            // no wider, or the composer's clamp would hide a model that is off its training range.
            if (output.Range is not { Count: 2 } r || r[0] != -r[1] || r[1] <= 0 || r[1] > 2.0)
            {
                errors.Add("output.range of a residual must be symmetric, [-m, m] with 0 < m ≤ 2 (in input units).");
            }
        }
        else if (output.Range is null)
        {
            errors.Add("output.range is missing.");
        }
        else if (output.Range.Count != 2 || !double.IsFinite(output.Range[0]) || !double.IsFinite(output.Range[1]) || output.Range[0] >= output.Range[1])
        {
            errors.Add("output.range must be two finite numbers [low, high] with low < high.");
        }
    }

    private static void CheckSide(string field, int? value, List<string> errors)
    {
        if (value is null)
        {
            errors.Add($"{field} is missing.");
        }
        else if (value is < 8 or > MaximumInputSide)
        {
            errors.Add($"{field} {value} must be from 8 to {MaximumInputSide}.");
        }
    }

    private static void CheckUnitRange(string field, IReadOnlyList<double>? range, List<string> errors)
    {
        if (range is null)
        {
            errors.Add($"{field} is missing.");
        }
        else if (range.Count != 2 || range[0] != -1.0 || range[1] != 1.0)
        {
            errors.Add($"{field} must be [-1.0, 1.0] (pixel v maps to v/127.5 - 1; no other range is supported).");
        }
    }

    private static void CheckTensor(string what, IReadOnlyList<TensorSignature> tensors, string name, long[] expected, List<string> errors, bool allowUnknownDims)
    {
        var tensor = tensors.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.Ordinal));
        if (tensor is null)
        {
            errors.Add($"the graph has no {what} named '{name}' (it has: {string.Join(", ", tensors.Select(t => "'" + t.Name + "'"))}).");
            return;
        }
        if (tensor.ElementType != typeof(float))
        {
            errors.Add($"{what} '{name}' is {tensor.ElementType?.Name ?? "not a tensor"}, expected float32.");
        }
        var actual = tensor.Dimensions;
        var shown = "[" + string.Join(", ", actual.Select(d => d < 1 ? "N" : d.ToString(CultureInfo.InvariantCulture))) + "]";
        var wanted = "[" + string.Join(", ", expected.Select(d => d < 1 ? "N" : d.ToString(CultureInfo.InvariantCulture))) + "]";
        if (actual.Count != expected.Length)
        {
            errors.Add($"{what} '{name}' has rank {actual.Count} {shown}, expected rank {expected.Length} {wanted}.");
            return;
        }
        if (actual[0] > 0)
        {
            errors.Add($"{what} '{name}' has a fixed batch axis {shown}; the batch axis must be dynamic {wanted}.");
        }
        for (var d = 1; d < expected.Length; d++)
        {
            if (actual[d] < 1 && allowUnknownDims)
            {
                continue;
            }
            if (actual[d] != expected[d])
            {
                errors.Add($"{what} '{name}' has shape {shown}, the manifest implies {wanted}.");
                break;
            }
        }
    }

    [GeneratedRegex("^[0-9a-fA-F]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256Pattern();
}
