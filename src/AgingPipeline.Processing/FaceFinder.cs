using AgingPipeline.Contracts;
using AgingPipeline.Imaging;
using AgingPipeline.Imaging.Faces;
using AgingPipeline.Inference;
using AgingPipeline.Inference.Faces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgingPipeline.Processing;

/// <summary>Finds the faces in a decoded picture with the served face detectors, in full-resolution pixels.</summary>
/// <remarks>
/// <para>The detectors of <see cref="FaceOptions.Detectors"/> are tried in order and the faces of the first that finds
/// any are returned, so that a detector for stylised faces can be appended behind BlazeFace without changing what
/// BlazeFace already finds. A listed detector that is not served is skipped; when none is served the call fails with
/// <see cref="PipelineErrorCode.ModelNotFound"/> rather than reporting "no face", which would be a lie.</para>
/// <para>Within one detector every network runs (each through its own <see cref="DynamicBatcher"/>, so detections of
/// concurrent jobs share batches like ager requests do) and their candidates are merged with the same weighted
/// non-maximum suppression that merges overlapping anchors of one network. Merging, rather than keeping the better
/// network, is deliberate: BlazeFace's short-range network finds the large faces of portraits that the full-range
/// one misses (12 against 7 of the held-out characters) while the full-range one finds small faces; where both find
/// the same face, the score-weighted average of both sets of keypoints is steadier than either, and a face found by
/// only one network survives. Candidates are merged in image pixels because each network letterboxes at its own
/// size.</para>
/// </remarks>
public sealed partial class FaceFinder
{
    private readonly ModelRepository _models;
    private readonly FaceOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the finder; <paramref name="options"/> are validated here as at start-up.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public FaceFinder(ModelRepository models, IOptions<FaceOptions> options, ILogger<FaceFinder>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Value.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid face options: " + string.Join(" ", errors), nameof(options));
        }
        _models = models;
        _options = options.Value;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Finds the faces in <paramref name="image"/> with the first configured detector that finds any.</summary>
    /// <param name="image">The decoded picture (orientation applied).</param>
    /// <param name="cancellationToken">Abandons the wait for the detector.</param>
    /// <returns>At most <see cref="FaceOptions.MaxFaces"/> faces, best score first, in pixels of
    /// <paramref name="image"/>; empty when no served detector found one.</returns>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.ModelNotFound"/> when no listed detector is
    /// served; <see cref="PipelineErrorCode.ModelFailed"/>.</exception>
    public async Task<IReadOnlyList<DetectedFace>> FindAsync(DecodedImage image, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        var served = 0;
        foreach (var name in _options.Detectors)
        {
            if (!_models.TryGet(name, null, out var model))
            {
                LogDetectorNotServed(_logger, name);
                continue;
            }
            if (model.Detector is null)
            {
                LogNotAFaceDetector(_logger, model.Name, model.Version, FaceOptions.SectionName, nameof(FaceOptions.Detectors), model.Kind);
                continue;
            }
            served++;
            var faces = await FindAsync(image, model, cancellationToken).ConfigureAwait(false);
            if (faces.Count > 0)
            {
                return faces;
            }
        }
        if (served == 0)
        {
            throw new PipelineException(
                PipelineErrorCode.ModelNotFound,
                $"No face detector is served ({FaceOptions.SectionName}:{nameof(FaceOptions.Detectors)} lists {string.Join(", ", _options.Detectors)}).");
        }
        return [];
    }

    /// <summary>Finds the faces in <paramref name="image"/> with one served face detector (all its networks, merged).</summary>
    /// <param name="image">The decoded picture (orientation applied).</param>
    /// <param name="detector">A served <c>face-detector</c> model.</param>
    /// <param name="cancellationToken">Abandons the wait for the detector.</param>
    /// <returns>At most <see cref="FaceOptions.MaxFaces"/> faces, best score first, in pixels of <paramref name="image"/>.</returns>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.ModelNotFound"/> when the model is not a face
    /// detector; <see cref="PipelineErrorCode.ModelFailed"/>.</exception>
    public async Task<IReadOnlyList<DetectedFace>> FindAsync(DecodedImage image, ServedModel detector, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(detector);
        var networks = detector.Detector?.Networks ?? throw new PipelineException(
            PipelineErrorCode.ModelNotFound, $"Model {detector.Name}/{detector.Version} is an {detector.Kind}, not a face detector.");
        var minScore = (float)_options.MinScore;
        var iou = detector.Detector.NmsIou;
        var pending = new List<Task<IReadOnlyList<FaceCandidate>>>(networks.Count);
        foreach (var network in networks)
        {
            var tensor = new float[network.ImageLength];
            var box = DetectorInput.Letterbox(image, network.Side, detector.Detector.PadValue, tensor);
            pending.Add(DetectAsync(network, tensor, box, minScore, iou, cancellationToken));
        }
        var candidates = new List<FaceCandidate>();
        foreach (var result in await Task.WhenAll(pending).ConfigureAwait(false))
        {
            candidates.AddRange(result);
        }
        var prefix = $"{detector.Name}/{detector.Version}:";
        return [.. BlazeFaceDecoder.WeightedNonMaximumSuppression(candidates, iou)
            .OrderByDescending(c => c.Score)
            .Take(_options.MaxFaces)
            .Select(c => ToDetectedFace(c, prefix))];
    }

    /// <summary>A candidate in image pixels as a <see cref="DetectedFace"/>: MediaPipe's keypoints (of the subject)
    /// named as seen in the picture, the left one being the one further left.</summary>
    internal static DetectedFace ToDetectedFace(FaceCandidate candidate, string detectorPrefix)
    {
        static Point2 P((float X, float Y) p) => new(p.X, p.Y);
        var (eyeA, eyeB) = (P(candidate.Keypoint(0)), P(candidate.Keypoint(1)));
        var (earA, earB) = (P(candidate.Keypoint(4)), P(candidate.Keypoint(5)));
        return new DetectedFace(
            new FaceBox(candidate.CentreX - candidate.Width / 2, candidate.CentreY - candidate.Height / 2, candidate.Width, candidate.Height),
            candidate.Score,
            LeftEye: eyeA.X <= eyeB.X ? eyeA : eyeB,
            RightEye: eyeA.X <= eyeB.X ? eyeB : eyeA,
            Nose: P(candidate.Keypoint(2)),
            Mouth: P(candidate.Keypoint(3)),
            LeftEar: earA.X <= earB.X ? earA : earB,
            RightEar: earA.X <= earB.X ? earB : earA,
            Detector: detectorPrefix + candidate.Network);
    }

    private static async Task<IReadOnlyList<FaceCandidate>> DetectAsync(
        FaceDetectorNetwork network, float[] tensor, DetectorLetterbox box, float minScore, float iou, CancellationToken cancellationToken)
    {
        var output = await network.Batcher.InferAsync(tensor, ReadOnlyMemory<float>.Empty, cancellationToken).ConfigureAwait(false);
        return [.. network.Decoder.Decode(output, minScore, iou).Select(c => c.MapToImage(box.Size, box.ScaleX, box.ScaleY, box.OffsetX, box.OffsetY))];
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Face detector {Model} is not served; trying the next.")]
    private static partial void LogDetectorNotServed(ILogger logger, string model);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Model}/{Version} is listed in {Section}:{Option} but is an {Kind}, not a face detector.")]
    private static partial void LogNotAFaceDetector(ILogger logger, string model, string version, string section, string option, string kind);
}
