using AgingPipeline.Contracts;

namespace AgingPipeline.ImageFormats;

/// <summary>What the first bytes of an image say: its real format and, when the prefix holds it, its size.</summary>
/// <param name="Format">The format decided from magic numbers; <see cref="ImageFormat.Unknown"/> for anything else.</param>
/// <param name="Width">Width in pixels, or null when the prefix does not contain the frame header.</param>
/// <param name="Height">Height in pixels, or null when the prefix does not contain the frame header.</param>
public readonly record struct ImageHeader(ImageFormat Format, int? Width, int? Height)
{
    /// <summary>True when both dimensions were found.</summary>
    public bool HasDimensions => Width is not null && Height is not null;

    /// <summary>Width × height, or null when unknown.</summary>
    public long? PixelCount => HasDimensions ? (long)Width!.Value * Height!.Value : null;
}
