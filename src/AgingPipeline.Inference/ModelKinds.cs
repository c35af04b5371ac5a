namespace AgingPipeline.Inference;

/// <summary>The closed vocabularies of the model manifest (<c>models/README.md</c>).</summary>
public static class ModelKinds
{
    /// <summary>Image in, aged image (or residual) out, conditioned on the target age.</summary>
    public const string AgeTransform = "age-transform";

    /// <summary>Image in, estimated age in years out.</summary>
    public const string AgeEstimator = "age-estimator";

    /// <summary>Image in, faces (boxes, scores, keypoints) out: one or more SSD networks (BlazeFace) in one version,
    /// listed under <c>networks</c>.</summary>
    public const string FaceDetector = "face-detector";

    /// <summary>Output is added to the input: <c>aged = clamp(input + residual)</c>.</summary>
    public const string ResidualOutput = "residual";

    /// <summary>Output is the aged image itself.</summary>
    public const string ImageOutput = "image";

    /// <summary>Output is float32 [N, 1], years.</summary>
    public const string AgeYearsOutput = "age-years";

    /// <summary>Condition carrying the age to render.</summary>
    public const string TargetAgeRole = "target-age";

    /// <summary>Condition carrying the age of the input.</summary>
    public const string SourceAgeRole = "source-age";

    /// <summary>The only layout supported by schema version 1.</summary>
    public const string LayoutNchw = "NCHW";

    /// <summary>Channels-last, the layout of the TensorFlow-born face-detector networks.</summary>
    public const string LayoutNhwc = "NHWC";
}
