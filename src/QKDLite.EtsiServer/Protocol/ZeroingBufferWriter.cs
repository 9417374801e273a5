using System;
using System.Buffers;

namespace QKDLite.EtsiServer.Protocol;

/// <summary>
/// A growable output buffer for answers that carry key bytes: every buffer it lets go of (when it
/// grows, and on dispose) is zeroed first, so no copy of a key is left behind in managed memory.
/// </summary>
internal sealed class ZeroingBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _written;

    public ZeroingBufferWriter(int initialCapacity) => _buffer = new byte[Math.Max(256, initialCapacity)];

    /// <summary>What was written so far.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public void Advance(int count)
    {
        if (count < 0 || _written + count > _buffer.Length) throw new ArgumentOutOfRangeException(nameof(count));
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Dispose()
    {
        Array.Clear(_buffer);
        _written = 0;
    }

    private void Ensure(int sizeHint)
    {
        var needed = _written + Math.Max(1, sizeHint);
        if (needed <= _buffer.Length) return;
        var larger = new byte[Math.Max(needed, _buffer.Length * 2)];
        _buffer.AsSpan(0, _written).CopyTo(larger);
        Array.Clear(_buffer);
        _buffer = larger;
    }
}
