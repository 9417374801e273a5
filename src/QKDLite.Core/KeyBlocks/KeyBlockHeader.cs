using System;
using QKDLite.Core.Keys;

namespace QKDLite.Core.KeyBlocks;

/// <summary>The authenticated fields of a key block.</summary>
internal sealed class KeyBlockHeader
{
    public KeyBlockHeader(string label, string keyId, int sizeBits, KeySource source, DateTimeOffset created, string checkValue, string transportKeyCheckValue)
    {
        Label = label;
        KeyId = keyId;
        SizeBits = sizeBits;
        Source = source;
        Created = created;
        CheckValue = checkValue;
        TransportKeyCheckValue = transportKeyCheckValue;
    }

    public string Label { get; }
    public string KeyId { get; }
    public int SizeBits { get; }
    public KeySource Source { get; }
    public DateTimeOffset Created { get; }
    public string CheckValue { get; }
    public string TransportKeyCheckValue { get; }
}
