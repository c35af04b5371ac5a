namespace AgingPipeline.Contracts;

/// <summary>A point in pixels of the (orientation-applied) input image, or in template units of a crop.</summary>
/// <param name="X">Horizontal, to the right.</param>
/// <param name="Y">Vertical, downwards.</param>
public readonly record struct Point2(float X, float Y);

/// <summary>An axis-aligned box in pixels of the orientation-applied input image.</summary>
/// <param name="X">Left edge.</param>
/// <param name="Y">Top edge.</param>
/// <param name="Width">Width.</param>
/// <param name="Height">Height.</param>
public readonly record struct FaceBox(float X, float Y, float Width, float Height);

/// <summary>One face found in an image: its box, score and the six keypoints BlazeFace-style detectors give, all in
/// pixels of the orientation-applied input.</summary>
/// <remarks>"Left" and "right" are as seen in the picture (the viewer's left), not the character's own, so that
/// <see cref="LeftEye"/>.X &lt; <see cref="RightEye"/>.X for an upright face.</remarks>
/// <param name="Box">The face box.</param>
/// <param name="Score">Detector confidence in [0, 1].</param>
/// <param name="LeftEye">Centre of the eye on the picture's left.</param>
/// <param name="RightEye">Centre of the eye on the picture's right.</param>
/// <param name="Nose">Nose tip.</param>
/// <param name="Mouth">Mouth centre.</param>
/// <param name="LeftEar">Ear (tragion) on the picture's left.</param>
/// <param name="RightEar">Ear (tragion) on the picture's right.</param>
/// <param name="Detector">The detector that found it (<c>name/version:network</c>).</param>
public sealed record DetectedFace(
    FaceBox Box, float Score, Point2 LeftEye, Point2 RightEye, Point2 Nose, Point2 Mouth, Point2 LeftEar, Point2 RightEar,
    string Detector);

/// <summary>The canonical head crop an ager was trained on: the crop's size and where the eyes and mouth sit in it,
/// plus the feathered mask through which an aged crop is blended back. Read from the ager's <c>model.json</c>
/// (<c>crop</c>) so that the pipeline, the training-data renderer and the evaluation use the same numbers.</summary>
/// <remarks>Positions are fractions of the crop side (0 = left/top edge, 1 = right/bottom edge), so one template
/// serves a 64² and a 128² model alike.</remarks>
/// <param name="Size">Crop side in pixels; equals the ager's input width and height.</param>
/// <param name="LeftEye">Eye on the crop's left.</param>
/// <param name="RightEye">Eye on the crop's right.</param>
/// <param name="Mouth">Mouth centre.</param>
/// <param name="Mask">Where the aged crop is blended back.</param>
public sealed record CropTemplate(int Size, Point2 LeftEye, Point2 RightEye, Point2 Mouth, CropMask Mask)
{
    /// <summary>The template used by <c>character-ager</c> 3 and 4: hair above and chin below included. The eyes
    /// sit 0.44 of the side from the top (the crop reaches 1.83 inter-ocular distances above them), 0.24 apart;
    /// the mouth 0.26 below them.</summary>
    public static CropTemplate Default(int size) => new(
        size, new Point2(0.38f, 0.44f), new Point2(0.62f, 0.44f), new Point2(0.5f, 0.70f), CropMask.Default);

    /// <summary>How far the crop extends above the eyes, in inter-ocular distances.</summary>
    public float AboveEyes => (LeftEye.Y + RightEye.Y) / 2 / (RightEye.X - LeftEye.X);
}

/// <summary>A soft-edged ellipse in template units: 1 inside the inner ellipse, falling smoothly to 0 at the
/// outer one (<see cref="RadiusX"/>, <see cref="RadiusY"/>); beyond it the picture is not touched.</summary>
/// <param name="CentreX">Centre, fraction of the crop side.</param>
/// <param name="CentreY">Centre, fraction of the crop side.</param>
/// <param name="RadiusX">Outer horizontal radius, fraction of the crop side.</param>
/// <param name="RadiusY">Outer vertical radius, fraction of the crop side.</param>
/// <param name="Feather">Width of the soft edge, fraction of the crop side (it scales with the face).</param>
public sealed record CropMask(float CentreX, float CentreY, float RadiusX, float RadiusY, float Feather)
{
    /// <summary>Head and hair, chin and a little neck: centre (0.5, 0.5), radii 0.42 × 0.47, feather 0.08.</summary>
    public static CropMask Default { get; } = new(0.5f, 0.5f, 0.42f, 0.47f, 0.08f);
}

/// <summary>What part of a picture a job aged, for the job record, the API and the CLI.</summary>
/// <param name="Requested">The region asked for.</param>
/// <param name="Applied"><see cref="FacesApplied"/> or <see cref="WholeFrameApplied"/>.</param>
/// <param name="Faces">The faces aged (boxes, keypoints, scores), empty for the whole frame.</param>
/// <param name="Reason">Why the whole frame was aged (no face found, the model has no crop template, asked for),
/// null when faces were aged.</param>
public sealed record RegionOutcome(AgingRegion Requested, string Applied, IReadOnlyList<DetectedFace> Faces, string? Reason)
{
    /// <summary>The faces were aligned, aged and blended back; nothing else changed.</summary>
    public const string FacesApplied = "faces";

    /// <summary>The whole frame went through the model.</summary>
    public const string WholeFrameApplied = "whole-frame";

    /// <summary>The whole frame, for <paramref name="reason"/>.</summary>
    public static RegionOutcome WholeFrame(AgingRegion requested, string reason) => new(requested, WholeFrameApplied, [], reason);

    /// <summary>The faces <paramref name="faces"/>.</summary>
    public static RegionOutcome OfFaces(AgingRegion requested, IReadOnlyList<DetectedFace> faces) => new(requested, FacesApplied, faces, null);
}
