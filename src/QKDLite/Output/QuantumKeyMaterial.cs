using System;
using QKDLite.Core.Keys;

namespace QKDLite.Output;

/// <summary>
/// A key together with its bytes, produced only by Get-QuantumKey -IncludeKeyMaterial.
/// The bytes are never shown by the format views or ToString().
/// </summary>
public sealed class QuantumKeyMaterial
{
    /// <summary>Creates the object; it takes ownership of <paramref name="key"/>.</summary>
    public QuantumKeyMaterial(QuantumKeyInfo info, byte[] key)
    {
        Label = info.Label;
        KeyId = info.KeyId;
        SizeBits = info.SizeBits;
        Source = info.Source;
        Created = info.Created;
        CheckValue = info.CheckValue;
        Key = key;
    }

    /// <summary>Unique key label.</summary>
    public string Label { get; }
    /// <summary>The keyID.</summary>
    public string KeyId { get; }
    /// <summary>Key size in bits.</summary>
    public int SizeBits { get; }
    /// <summary>Where the key came from.</summary>
    public KeySource Source { get; }
    /// <summary>When the key was stored.</summary>
    public DateTimeOffset Created { get; }
    /// <summary>Key check value.</summary>
    public string CheckValue { get; }
    /// <summary>The key bytes. Clear them ([Array]::Clear) when done.</summary>
    public byte[] Key { get; }

    /// <inheritdoc />
    public override string ToString() => Label;
}
