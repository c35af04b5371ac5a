namespace AgingPipeline.Inference;

/// <summary>One network of a <c>face-detector</c> version: its ONNX file and how to read its outputs.</summary>
/// <remarks>A BlazeFace network is a single-shot detector: for every anchor it gives one score logit and 16 regressor
/// values (box centre offset, box size, six keypoint offsets), in the order of its <see cref="Layers"/>.</remarks>
public sealed record ModelNetworkSpec
{
    /// <summary>Unique within the version, e.g. <c>full-range</c>; part of <c>DetectedFace.Detector</c>.</summary>
    public string? Name { get; init; }

    /// <summary>The ONNX file, a plain name inside the version folder.</summary>
    public string? File { get; init; }

    /// <summary>SHA-256 of <see cref="File"/>, checked at load.</summary>
    public string? Sha256 { get; init; }

    /// <summary>The graph's ONNX opset (12 or more for a face detector).</summary>
    public int? Opset { get; init; }

    /// <summary>The image input: NHWC, 3 channels, square, range [-1, 1].</summary>
    public ModelInputSpec? Input { get; init; }

    /// <summary>The anchor layers, in the order their anchors are numbered.</summary>
    public IReadOnlyList<ModelAnchorLayerSpec>? Layers { get; init; }

    /// <summary>Regressor values are in units of 1/<c>regressorScale</c> of the input side (MediaPipe's
    /// <c>x_scale</c> = <c>y_scale</c> = <c>w_scale</c> = <c>h_scale</c>); the input side for BlazeFace.</summary>
    public double? RegressorScale { get; init; }

    /// <summary>The file this network was made from (documentation).</summary>
    public string? Source { get; init; }
}

/// <summary>One anchor layer: a square grid of cells, a fixed number of anchors centred in each, and the two graph
/// outputs that hold their scores [N, cells² × anchorsPerCell, 1] and regressors [N, cells² × anchorsPerCell, 16].</summary>
public sealed record ModelAnchorLayerSpec
{
    /// <summary>Cells per side of the grid.</summary>
    public int? Cells { get; init; }

    /// <summary>Anchors per cell (all centred in the cell; BlazeFace uses fixed anchor sizes).</summary>
    public int? AnchorsPerCell { get; init; }

    /// <summary>The graph output with the score logits.</summary>
    public string? Scores { get; init; }

    /// <summary>The graph output with the regressors.</summary>
    public string? Regressors { get; init; }

    /// <summary>The anchors of this layer.</summary>
    public int AnchorCount => (Cells ?? 0) * (Cells ?? 0) * (AnchorsPerCell ?? 0);
}

/// <summary>Post-processing of a <c>face-detector</c>: thresholds and overlap removal.</summary>
public sealed record ModelDetectionSpec
{
    /// <summary>The model's recommended minimum score (the pipeline's <c>Faces:MinScore</c> is what is applied).</summary>
    public double? MinScore { get; init; }

    /// <summary>Candidates overlapping the best remaining one by at least this IoU are merged into it (weighted NMS).</summary>
    public double? NmsIou { get; init; }

    /// <summary>Logits are clipped to ±this before the sigmoid (MediaPipe's <c>score_clipping_thresh</c>).</summary>
    public double? ScoreClip { get; init; }

    /// <summary>The keypoints in regressor order; must be BlazeFace's six (of the subject: <c>right-eye</c>,
    /// <c>left-eye</c>, <c>nose</c>, <c>mouth</c>, <c>right-ear</c>, <c>left-ear</c>).</summary>
    public IReadOnlyList<string>? Keypoints { get; init; }
}

/// <summary>Provenance of a model made elsewhere.</summary>
public sealed record ModelSourceSpec
{
    /// <summary>The package it was taken from, with its version.</summary>
    public string? Package { get; init; }

    /// <summary>The original work.</summary>
    public string? Upstream { get; init; }

    /// <summary>What was changed, as Apache-2.0 §4(b) asks.</summary>
    public string? Modified { get; init; }
}
