namespace AgingPipeline.Inference;

/// <summary>A model that runs a whole batch in one call; what <see cref="DynamicBatcher"/> drives.</summary>
public interface IBatchModel
{
    /// <summary>Display name for logs and errors, e.g. <c>character-ager/2</c>.</summary>
    string DisplayName { get; }

    /// <summary>Floats in one input image (3 × height × width).</summary>
    int ImageLength { get; }

    /// <summary>Condition values per image (one per manifest condition).</summary>
    int ConditionCount { get; }

    /// <summary>Floats in one output (3 × height × width for images, 1 for ages).</summary>
    int OutputLength { get; }

    /// <summary>The largest batch the model accepts.</summary>
    int MaxBatch { get; }

    /// <summary>Runs <paramref name="batch"/> images: <paramref name="images"/> is NCHW, <paramref name="conditions"/>
    /// condition-major (all values of condition 0, then of condition 1, ...); returns batch × <see cref="OutputLength"/>
    /// floats.</summary>
    float[] Run(ReadOnlyMemory<float> images, ReadOnlyMemory<float> conditions, int batch, CancellationToken cancellationToken = default);
}
