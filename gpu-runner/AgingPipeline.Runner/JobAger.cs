using AgingPipeline.Contracts;
using AgingPipeline.Inference;
using AgingPipeline.Processing;

namespace AgingPipeline.Runner;

/// <summary>The pixel work of one job as <see cref="JobProcessor"/> sees it: <see cref="ImageAger.AgeAsync"/>.</summary>
/// <remarks>A seam, so that the job state machine (what a typed failure such as
/// <see cref="PipelineErrorCode.NoFaceFound"/> does to the record and the message) is tested against a real queue and
/// job store without needing an input that provokes that failure from the model.</remarks>
internal interface IJobAger
{
    /// <summary>Ages <paramref name="input"/>; see <see cref="ImageAger.AgeAsync"/>.</summary>
    Task<AgingResult> AgeAsync(
        ReadOnlyMemory<byte> input, IReadOnlyList<int> ages, ServedModel model, AgingRegion region, bool contactSheetPreviews,
        CancellationToken cancellationToken);
}

/// <summary>The production <see cref="IJobAger"/>: the shared <see cref="ImageAger"/>.</summary>
internal sealed class ImageJobAger(ImageAger ager) : IJobAger
{
    /// <inheritdoc/>
    public Task<AgingResult> AgeAsync(
        ReadOnlyMemory<byte> input, IReadOnlyList<int> ages, ServedModel model, AgingRegion region, bool contactSheetPreviews,
        CancellationToken cancellationToken) =>
        ager.AgeAsync(input, ages, model, region: region, contactSheetPreviews: contactSheetPreviews, cancellationToken: cancellationToken);
}
