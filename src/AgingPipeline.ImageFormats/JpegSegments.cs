using System.Buffers.Binary;

namespace AgingPipeline.ImageFormats;

/// <summary>What <see cref="JpegSegments.Next"/> found.</summary>
internal enum JpegStep
{
    /// <summary>A segment with a length: <see cref="JpegSegments.Marker"/>, <see cref="JpegSegments.Payload"/>.</summary>
    Segment,

    /// <summary>The prefix ends before the next segment's header.</summary>
    End,

    /// <summary>Start of scan or end of image: the metadata segments are over.</summary>
    ScanStart,

    /// <summary>No marker where one must be (<see cref="JpegSegments.Position"/>).</summary>
    NotAMarker,

    /// <summary>A segment length under 2 (<see cref="JpegSegments.Length"/> at <see cref="JpegSegments.Position"/>).</summary>
    BadLength,
}

/// <summary>Walks a JPEG's marker segments after SOI, the way the header probe and the EXIF reader both read them
/// (fill bytes and stand-alone markers skipped).</summary>
internal ref struct JpegSegments(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;

    /// <summary>Where the current segment's marker starts.</summary>
    public int Position { get; private set; }

    /// <summary>The current segment's marker byte (after 0xFF).</summary>
    public byte Marker { get; private set; }

    /// <summary>The current segment's length field (it counts itself, not the marker).</summary>
    public int Length { get; private set; }

    private int _next = 2;

    /// <summary>The current segment's content after its length field, cut at the end of the prefix.</summary>
    public readonly ReadOnlySpan<byte> Payload => _data[Math.Min(_data.Length, Position + 4)..Math.Min(_data.Length, Position + 2 + Length)];

    /// <summary>Moves to the next segment.</summary>
    public JpegStep Next()
    {
        while (_next + 4 <= _data.Length)
        {
            Position = _next;
            if (_data[Position] != 0xFF)
            {
                return JpegStep.NotAMarker;
            }
            Marker = _data[Position + 1];
            if (Marker == 0xFF)
            {
                _next++; // fill byte
                continue;
            }
            if (Marker is 0xD8 or 0x01 or (>= 0xD0 and <= 0xD7))
            {
                _next += 2; // markers without a length
                continue;
            }
            if (Marker is 0xD9 or 0xDA)
            {
                return JpegStep.ScanStart;
            }
            Length = BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(Position + 2, 2));
            if (Length < 2)
            {
                return JpegStep.BadLength;
            }
            _next = Position + 2 + Length;
            return JpegStep.Segment;
        }
        return JpegStep.End;
    }
}
