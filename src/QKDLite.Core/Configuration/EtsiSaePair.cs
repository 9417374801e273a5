namespace QKDLite.Core.Configuration;

/// <summary>
/// One SAE pair the ETSI server serves, and the keyID pool its keys come from. Both nodes of the pair
/// carry the same entry: on the master SAE's node <c>enc_keys</c> takes keys from the pool, on the
/// slave SAE's node <c>dec_keys</c> takes the same keys (replicated copies) by their key_IDs.
/// </summary>
public sealed class EtsiSaePair
{
    /// <summary>SAE ID of the master SAE (the one that calls <c>enc_keys</c>).</summary>
    public string MasterSaeId { get; set; } = string.Empty;
    /// <summary>SAE ID of the slave SAE (the one that calls <c>dec_keys</c>).</summary>
    public string SlaveSaeId { get; set; } = string.Empty;
    /// <summary>The keyID whose keys serve this pair.</summary>
    public string KeyId { get; set; } = string.Empty;
    /// <summary>KME ID of the other node (status <c>target_KME_ID</c>).</summary>
    public string PeerKmeId { get; set; } = string.Empty;
    /// <summary>Default key size in bits (status <c>key_size</c>), used when a request names none.</summary>
    public int KeySize { get; set; } = Keys.KeyRules.DefaultSizeBits;
}
