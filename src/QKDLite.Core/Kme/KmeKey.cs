using System;

namespace QKDLite.Core.Kme;

/// <summary>A key received from a KME: its ETSI key_ID and its bytes (the caller clears them).</summary>
public sealed class KmeKey
{
    /// <summary>Creates the key.</summary>
    public KmeKey(string keyId, byte[] key)
    {
        KeyId = keyId;
        Key = key;
    }

    /// <summary>The ETSI key_ID (a UUID).</summary>
    public string KeyId { get; }
    /// <summary>The key bytes.</summary>
    public byte[] Key { get; }

    /// <summary>Zeroes the key bytes.</summary>
    public void Clear() => Array.Clear(Key, 0, Key.Length);

    /// <inheritdoc />
    public override string ToString() => KeyId;
}
