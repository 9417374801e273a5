namespace QKDLite.Core.Kme;

/// <summary>An ETSI GS QKD 014 status answer for one SAE pair (section 6.1 of the standard).</summary>
public sealed class KmeStatus
{
    /// <summary>Name of the KME configuration asked.</summary>
    public string Kme { get; set; } = string.Empty;
    /// <summary>URL that answered.</summary>
    public string Url { get; set; } = string.Empty;
    /// <summary>KME ID of the KME asked.</summary>
    public string SourceKmeId { get; set; } = string.Empty;
    /// <summary>KME ID of the peer KME.</summary>
    public string TargetKmeId { get; set; } = string.Empty;
    /// <summary>Master SAE ID.</summary>
    public string MasterSaeId { get; set; } = string.Empty;
    /// <summary>Slave SAE ID.</summary>
    public string SlaveSaeId { get; set; } = string.Empty;
    /// <summary>Default key size in bits.</summary>
    public int KeySize { get; set; }
    /// <summary>Keys available for this pair.</summary>
    public int StoredKeyCount { get; set; }
    /// <summary>Most keys the KME stores for the pair.</summary>
    public int MaxKeyCount { get; set; }
    /// <summary>Most keys per request.</summary>
    public int MaxKeyPerRequest { get; set; }
    /// <summary>Largest key size in bits.</summary>
    public int MaxKeySize { get; set; }
    /// <summary>Smallest key size in bits.</summary>
    public int MinKeySize { get; set; }
    /// <summary>Most additional slave SAEs (0: no multicast).</summary>
    public int MaxSaeIdCount { get; set; }
    /// <summary>The TLS profile the KME was asked with.</summary>
    public Tls.TlsProfile TlsProfile { get; set; }
    /// <summary>"TLS 1.3" or "TLS 1.2" (Hybrid, PostQuantumOnly); null with Classical, whose platform TLS does not report it.</summary>
    public string? TlsProtocol { get; set; }
    /// <summary>The negotiated key-exchange group, e.g. X25519MLKEM768 (Hybrid, PostQuantumOnly); null with Classical.</summary>
    public string? TlsGroup { get; set; }
    /// <summary>True when the key exchange was hybrid or pure ML-KEM.</summary>
    public bool PostQuantum { get; set; }
}
