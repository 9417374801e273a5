using System;

namespace QKDLite.Core.Keys;

/// <summary>
/// What QKDLite knows about one stored key: metadata only, never the key bytes.
/// </summary>
public sealed class QuantumKeyInfo
{
    /// <summary>Creates the description of a stored key.</summary>
    public QuantumKeyInfo(string label, string keyId, int sizeBits, KeySource source, DateTimeOffset created, KeyState state, string checkValue, string tokenLabel)
    {
        Label = label;
        KeyId = keyId;
        SizeBits = sizeBits;
        Source = source;
        Created = created;
        State = state;
        CheckValue = checkValue;
        TokenLabel = tokenLabel;
    }

    /// <summary>Unique name of the key, the same on every node (the ETSI key_ID for QKD keys).</summary>
    public string Label { get; }
    /// <summary>Purpose name that groups keys (for example a SAE pair).</summary>
    public string KeyId { get; }
    /// <summary>Key size in bits.</summary>
    public int SizeBits { get; }
    /// <summary>Where the key material came from.</summary>
    public KeySource Source { get; }
    /// <summary>When the key was stored (UTC).</summary>
    public DateTimeOffset Created { get; }
    /// <summary>Replication state on this node.</summary>
    public KeyState State { get; }
    /// <summary>Key check value: 3 bytes in hex, safe to compare between nodes.</summary>
    public string CheckValue { get; }
    /// <summary>Label of the token that holds the key.</summary>
    public string TokenLabel { get; }

    /// <inheritdoc />
    public override string ToString() => Label;
}
