namespace AgingPipeline.Imaging;

/// <summary>A read-only stream that replays bytes already read from <paramref name="inner"/> before reading on.</summary>
/// <remarks>The sniffer must see the first bytes before libvips is allowed near the content; this hands libvips the
/// whole content again without requiring the source stream to seek.</remarks>
internal sealed class PrefixedReadStream(ReadOnlyMemory<byte> prefix, Stream inner) : Stream
{
    private int _prefixPosition;
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int read;
        if (_prefixPosition < prefix.Length)
        {
            read = Math.Min(buffer.Length, prefix.Length - _prefixPosition);
            prefix.Span.Slice(_prefixPosition, read).CopyTo(buffer);
            _prefixPosition += read;
        }
        else
        {
            read = inner.Read(buffer);
        }
        _position += read;
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
