using System;
using QKDLite.Core.Keys;

namespace QKDLite.Core.KeyStore;

/// <summary>
/// A key taken out of the store for delivery: its description and a copy of its bytes. The key is
/// gone from the store; the caller owns the bytes and disposes this object as soon as they are
/// sent, which zeroes them.
/// </summary>
public sealed class DeliveredKey : IDisposable
{
    /// <summary>Wraps a taken key; <paramref name="material"/> becomes this object's to clear.</summary>
    public DeliveredKey(QuantumKeyInfo key, byte[] material)
    {
        Key = key ?? throw new ArgumentNullException(nameof(key));
        Material = material ?? throw new ArgumentNullException(nameof(material));
    }

    /// <summary>What the key was (label, keyID, size, check value); no key bytes.</summary>
    public QuantumKeyInfo Key { get; }

    /// <summary>The key's label (its ETSI key_ID).</summary>
    public string Label => Key.Label;

    /// <summary>The key bytes; all zero once this object is disposed.</summary>
    public byte[] Material { get; }

    /// <summary>Zeroes the key bytes.</summary>
    public void Dispose() => Array.Clear(Material, 0, Material.Length);

    /// <inheritdoc />
    public override string ToString() => Label;
}
