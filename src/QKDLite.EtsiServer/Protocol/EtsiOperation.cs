namespace QKDLite.EtsiServer.Protocol;

/// <summary>The three calls of ETSI GS QKD 014.</summary>
internal enum EtsiOperation
{
    /// <summary>Get status: <c>GET {slave_SAE_ID}/status</c>.</summary>
    Status,
    /// <summary>Get key: <c>{slave_SAE_ID}/enc_keys</c>.</summary>
    EncKeys,
    /// <summary>Get key with key IDs: <c>{master_SAE_ID}/dec_keys</c>.</summary>
    DecKeys,
}
