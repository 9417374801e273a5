namespace QKDLite.Core.Keys;

/// <summary>Where a key's material came from; recorded with every key.</summary>
public enum KeySource
{
    /// <summary>The operating system's cryptographic random number generator (not quantum).</summary>
    Classical,
    /// <summary>A quantum random number generator.</summary>
    Qrng,
    /// <summary>A QKD key management entity (ETSI GS QKD 014).</summary>
    Kme,
}
