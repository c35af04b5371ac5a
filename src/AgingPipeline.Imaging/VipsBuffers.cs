using System.Runtime.InteropServices;

namespace AgingPipeline.Imaging;

/// <summary>Hands managed buffers to libvips.</summary>
internal static class VipsBuffers
{
    /// <summary>The array behind <paramref name="data"/> when it spans a whole array, else a copy.</summary>
    /// <remarks>The NetVips buffer loaders take arrays; avoiding the copy matters for 50 MB uploads.</remarks>
    public static byte[] AsArray(ReadOnlyMemory<byte> data) =>
        MemoryMarshal.TryGetArray(data, out var segment) && segment.Array is { } array && segment.Offset == 0 && segment.Count == array.Length
            ? array
            : data.ToArray();
}
