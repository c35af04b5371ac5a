using System.Globalization;

namespace AgingPipeline.Inference;

/// <summary>The <c>face-detector</c> rules of <see cref="ModelManifestValidator"/>.</summary>
public static partial class ModelManifestValidator
{
    /// <summary>The lowest ONNX opset accepted for a <c>face-detector</c> network.</summary>
    /// <remarks>Lower than <see cref="MinimumOpset"/> on purpose: that rule is for our own exports, while the
    /// pretrained BlazeFace graphs were converted at opset 12 and re-converting them would be a change with no gain.</remarks>
    public const int MinimumDetectorOpset = 12;

    /// <summary>The most networks one <c>face-detector</c> version may hold.</summary>
    public const int MaximumNetworks = 4;

    /// <summary>The keypoints a BlazeFace regressor holds, in its order (of the subject, not the picture).</summary>
    public static IReadOnlyList<string> BlazeFaceKeypoints { get; } = ["right-eye", "left-eye", "nose", "mouth", "right-ear", "left-ear"];

    /// <summary>Returns every mismatch between one network's declaration and its graph's inputs and outputs.</summary>
    /// <remarks>Call it only with a manifest that passed <see cref="Validate"/>. The input must be
    /// [N, side, side, 3] and each layer's outputs [N, anchors, 1] and [N, anchors, 16] with a dynamic batch axis.</remarks>
    public static IReadOnlyList<string> ValidateNetworkGraph(ModelNetworkSpec network, IReadOnlyList<TensorSignature> inputs, IReadOnlyList<TensorSignature> outputs)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        var errors = new List<string>();
        var input = network.Input!;
        CheckTensor("input", inputs, input.Name!, [-1, input.Height!.Value, input.Width!.Value, input.Channels!.Value], errors, allowUnknownDims: false);
        foreach (var extra in inputs.Where(i => !string.Equals(i.Name, input.Name, StringComparison.Ordinal)))
        {
            errors.Add($"the graph has input '{extra.Name}' that the manifest does not declare (it would have no value).");
        }
        foreach (var layer in network.Layers!)
        {
            CheckTensor("scores output", outputs, layer.Scores!, [-1, layer.AnchorCount, 1], errors, allowUnknownDims: false);
            CheckTensor("regressors output", outputs, layer.Regressors!, [-1, layer.AnchorCount, 16], errors, allowUnknownDims: false);
        }
        for (var i = 0; i < errors.Count; i++)
        {
            errors[i] = $"network '{network.Name}': {errors[i]}";
        }
        return errors;
    }

    private static void ValidateFaceDetector(ModelManifest manifest, List<string> errors)
    {
        const string kind = ModelKinds.FaceDetector;
        if (manifest.File is not null || manifest.Sha256 is not null || manifest.Opset is not null || manifest.Input is not null)
        {
            errors.Add($"a {kind} names its files, hashes, opsets and inputs per network (networks[i]), not at the top level.");
        }
        if (manifest.Output is not null)
        {
            errors.Add($"a {kind} has no output section (each network's layers name its outputs).");
        }
        if (manifest.Conditions is { Count: > 0 })
        {
            errors.Add($"a {kind} takes no conditions.");
        }
        if (manifest.Crop is not null)
        {
            errors.Add($"crop is only meaningful for kind '{ModelKinds.AgeTransform}'.");
        }

        if (manifest.Networks is not { Count: > 0 } networks)
        {
            errors.Add($"networks is missing (a {kind} lists 1 to {MaximumNetworks} networks).");
        }
        else if (networks.Count > MaximumNetworks)
        {
            errors.Add($"networks has {networks.Count} entries; at most {MaximumNetworks}.");
        }
        else
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            var files = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < networks.Count; i++)
            {
                ValidateNetwork(networks[i], $"networks[{i}]", names, files, errors);
            }
        }

        ValidateDetection(manifest.Detection, errors);
        if (manifest.PadValue is null)
        {
            errors.Add("padValue is missing.");
        }
        else if (manifest.PadValue is < 0 or > 255)
        {
            errors.Add($"padValue {manifest.PadValue} must be from 0 to 255.");
        }
        // A detector made elsewhere (BlazeFace) names where it came from; one trained here (character-face-detector)
        // has no source, its trainingData and MODEL_CARD.md say how it was made.
        if (manifest.Source is { } source && (string.IsNullOrWhiteSpace(source.Package) || string.IsNullOrWhiteSpace(source.Upstream)))
        {
            errors.Add("source.package and source.upstream are required when source is given (provenance and licence of a model not trained here).");
        }
    }

    private static void ValidateNetwork(ModelNetworkSpec? network, string at, HashSet<string> names, HashSet<string> files, List<string> errors)
    {
        if (network is null)
        {
            errors.Add($"{at} is null.");
            return;
        }
        if (string.IsNullOrWhiteSpace(network.Name))
        {
            errors.Add($"{at}.name is missing.");
        }
        else if (!IsValidName(network.Name))
        {
            errors.Add($"{at}.name '{network.Name}' must be lowercase letters, digits and '-'.");
        }
        else if (!names.Add(network.Name))
        {
            errors.Add($"{at}.name '{network.Name}' is used twice.");
        }

        if (string.IsNullOrWhiteSpace(network.File))
        {
            errors.Add($"{at}.file is missing.");
        }
        else if (network.File != Path.GetFileName(network.File) || network.File is "." or ".." || network.File.Contains('\\'))
        {
            errors.Add($"{at}.file '{network.File}' must be a plain file name inside the version folder.");
        }
        else if (!network.File.EndsWith(".onnx", StringComparison.Ordinal))
        {
            errors.Add($"{at}.file '{network.File}' must end with '.onnx'.");
        }
        else if (!files.Add(network.File))
        {
            errors.Add($"{at}.file '{network.File}' is used by two networks.");
        }

        if (string.IsNullOrWhiteSpace(network.Sha256))
        {
            errors.Add($"{at}.sha256 is missing.");
        }
        else if (!Sha256Pattern().IsMatch(network.Sha256))
        {
            errors.Add($"{at}.sha256 must be 64 hexadecimal digits.");
        }

        if (network.Opset is null)
        {
            errors.Add($"{at}.opset is missing.");
        }
        else if (network.Opset < MinimumDetectorOpset)
        {
            errors.Add($"{at}.opset {network.Opset} is below the minimum {MinimumDetectorOpset} for a {ModelKinds.FaceDetector}.");
        }

        ValidateNetworkInput(network.Input, at + ".input", errors);
        ValidateLayers(network.Layers, at, network.Input?.Name, errors);

        if (network.RegressorScale is null)
        {
            errors.Add($"{at}.regressorScale is missing.");
        }
        else if (!double.IsFinite(network.RegressorScale.Value) || network.RegressorScale <= 0)
        {
            errors.Add($"{at}.regressorScale must be a positive number.");
        }
    }

    private static void ValidateNetworkInput(ModelInputSpec? input, string at, List<string> errors)
    {
        if (input is null)
        {
            errors.Add($"{at} is missing.");
            return;
        }
        if (string.IsNullOrWhiteSpace(input.Name))
        {
            errors.Add($"{at}.name is missing.");
        }
        if (input.Layout is null)
        {
            errors.Add($"{at}.layout is missing.");
        }
        else if (input.Layout != ModelKinds.LayoutNhwc)
        {
            errors.Add($"{at}.layout '{input.Layout}' is not supported for a {ModelKinds.FaceDetector} (only NHWC).");
        }
        if (input.Channels is null)
        {
            errors.Add($"{at}.channels is missing.");
        }
        else if (input.Channels != 3)
        {
            errors.Add($"{at}.channels {input.Channels} is not supported (only 3: RGB).");
        }
        CheckSide($"{at}.height", input.Height, errors);
        CheckSide($"{at}.width", input.Width, errors);
        if (input.Height is { } h && input.Width is { } w && h != w)
        {
            errors.Add($"{at} must be square (was {w} × {h}): the letterbox and the anchors assume it.");
        }
        CheckUnitRange($"{at}.range", input.Range, errors);
    }

    private static void ValidateLayers(IReadOnlyList<ModelAnchorLayerSpec>? layers, string at, string? inputName, List<string> errors)
    {
        if (layers is not { Count: > 0 })
        {
            errors.Add($"{at}.layers is missing (the anchor grids, e.g. 16 cells × 2 anchors and 8 cells × 6 anchors).");
            return;
        }
        var outputs = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var where = $"{at}.layers[{i}]";
            if (layer is null)
            {
                errors.Add($"{where} is null.");
                continue;
            }
            if (layer.Cells is null)
            {
                errors.Add($"{where}.cells is missing.");
            }
            else if (layer.Cells is < 1 or > 256)
            {
                errors.Add($"{where}.cells {layer.Cells} must be from 1 to 256.");
            }
            if (layer.AnchorsPerCell is null)
            {
                errors.Add($"{where}.anchorsPerCell is missing.");
            }
            else if (layer.AnchorsPerCell is < 1 or > 64)
            {
                errors.Add($"{where}.anchorsPerCell {layer.AnchorsPerCell} must be from 1 to 64.");
            }
            foreach (var (field, name) in new[] { ("scores", layer.Scores), ("regressors", layer.Regressors) })
            {
                if (string.IsNullOrWhiteSpace(name))
                {
                    errors.Add($"{where}.{field} is missing (the graph output's name).");
                }
                else if (!outputs.Add(name) || name == inputName)
                {
                    errors.Add($"{where}.{field} '{name}' is used twice.");
                }
            }
        }
    }

    private static void ValidateDetection(ModelDetectionSpec? detection, List<string> errors)
    {
        if (detection is null)
        {
            errors.Add("detection is missing (minScore, nmsIou, scoreClip, keypoints).");
            return;
        }
        if (detection.MinScore is not { } minScore || !(minScore > 0 && minScore < 1))
        {
            errors.Add("detection.minScore must be a number in (0, 1).");
        }
        if (detection.NmsIou is not { } iou || !(iou > 0 && iou <= 1))
        {
            errors.Add("detection.nmsIou must be a number in (0, 1].");
        }
        if (detection.ScoreClip is not { } clip || !double.IsFinite(clip) || clip <= 0)
        {
            errors.Add("detection.scoreClip must be a positive number.");
        }
        if (detection.Keypoints is null || !detection.Keypoints.SequenceEqual(BlazeFaceKeypoints, StringComparer.Ordinal))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture,
                $"detection.keypoints must be [{string.Join(", ", BlazeFaceKeypoints.Select(k => "\"" + k + "\""))}] (BlazeFace's regressor order)."));
        }
    }
}
