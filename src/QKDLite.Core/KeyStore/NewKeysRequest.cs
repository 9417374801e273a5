using System.Collections.Generic;

namespace QKDLite.Core.KeyStore;

/// <summary>A request to create keys under one keyID.</summary>
public sealed class NewKeysRequest
{
    /// <summary>Creates a request; <paramref name="labels"/> is null for new UUID labels.</summary>
    public NewKeysRequest(string keyId, int count, int sizeBits, IReadOnlyList<string>? labels = null)
    {
        KeyId = keyId;
        Count = count;
        SizeBits = sizeBits;
        Labels = labels;
    }

    /// <summary>Purpose name of the new keys.</summary>
    public string KeyId { get; }
    /// <summary>How many keys to create.</summary>
    public int Count { get; }
    /// <summary>Size of each key in bits.</summary>
    public int SizeBits { get; }
    /// <summary>Labels chosen by the caller, one per key, or null to generate UUIDs.</summary>
    public IReadOnlyList<string>? Labels { get; }
}
