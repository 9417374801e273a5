using QKDLite.Core.Keys;

namespace QKDLite.Core.Sources;

/// <summary>Supplies fresh key material for new keys.</summary>
public interface IKeyMaterialSource
{
    /// <summary>What is recorded as the source of each key made from this material.</summary>
    KeySource Kind { get; }

    /// <summary>Fills <paramref name="buffer"/> with fresh random key bytes.</summary>
    void Fill(byte[] buffer);
}
