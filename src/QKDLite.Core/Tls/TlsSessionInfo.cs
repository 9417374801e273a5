namespace QKDLite.Core.Tls;

/// <summary>What one TLS handshake negotiated: protocol version, key-exchange group and cipher suite.</summary>
public sealed class TlsSessionInfo
{
    /// <summary>Creates the record of a handshake.</summary>
    public TlsSessionInfo(TlsProfile profile, string? protocol, string? group, bool postQuantum, string? cipherSuite)
    {
        Profile = profile;
        Protocol = protocol;
        Group = group;
        PostQuantum = postQuantum;
        CipherSuite = cipherSuite;
    }

    /// <summary>The profile the client connected with.</summary>
    public TlsProfile Profile { get; }
    /// <summary>"TLS 1.3" or "TLS 1.2"; null when the platform's TLS does not report it.</summary>
    public string? Protocol { get; }
    /// <summary>The key-exchange group (e.g. X25519MLKEM768, x25519); null when the platform's TLS does not report it.</summary>
    public string? Group { get; }
    /// <summary>True when the group is a hybrid or pure ML-KEM one.</summary>
    public bool PostQuantum { get; }
    /// <summary>The IANA name of the cipher suite; null when not reported.</summary>
    public string? CipherSuite { get; }

    /// <summary>One line for verbose output, e.g. "TLS 1.3, group X25519MLKEM768 (post-quantum), TLS_AES_256_GCM_SHA384".</summary>
    public string Describe() =>
        Group is null
            ? $"the platform's TLS ({Profile} profile: classical key exchange; the group is not reported)"
            : $"{Protocol}, group {Group} ({(PostQuantum ? "post-quantum" : "classical")}), {CipherSuite} ({Profile} profile)";
}
