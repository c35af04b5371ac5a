using AgingPipeline.Contracts;

namespace AgingPipeline.ImageFormats;

/// <summary>What the first bytes of an image say: its real format and, when the prefix holds it, its size.</summary>
/// <param name="Format">The format decided from magic numbers; <see cref="ImageFormat.Unknown"/> for anything else.</param>
/// <param name="Width">Width in pixels, or null when the prefix does not contain the frame header.</param>
/// <param name="Height">Height in pixels, or null when the prefix does not contain the frame header.</param>
/// <param name="Orientation">The EXIF orientation, 1–8 (<see cref="ExifOrientation"/>); 1 when absent. Width and
/// height are as stored; <see cref="DisplayWidth"/> and <see cref="DisplayHeight"/> are as shown.</param>
public readonly record struct ImageHeader(ImageFormat Format, int? Width, int? Height, int Orientation = 1)
{
    /// <summary>Width as shown, after the orientation is applied (what the decoder produces).</summary>
    public int? DisplayWidth => ExifOrientation.SwapsAxes(Orientation) ? Height : Width;

    /// <summary>Height as shown, after the orientation is applied.</summary>
    public int? DisplayHeight => ExifOrientation.SwapsAxes(Orientation) ? Width : Height;

    /// <summary>True when both dimensions were found.</summary>
    public bool HasDimensions => Width is not null && Height is not null;

    /// <summary>Width × height, or null when unknown.</summary>
    public long? PixelCount => HasDimensions ? (long)Width!.Value * Height!.Value : null;
}
