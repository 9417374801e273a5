namespace QKDLite.Core.Tls;

/// <summary>How a TLS endpoint (an ETSI server listener, or the KME client) negotiates its key exchange.</summary>
public enum TlsProfile
{
    /// <summary>The platform's TLS (SslStream over the system's OpenSSL or SChannel): classical key exchange only.</summary>
    Classical,
    /// <summary>TLS 1.3 with a hybrid ML-KEM group preferred; classical key exchange still accepted for peers that cannot do better.</summary>
    Hybrid,
    /// <summary>Only hybrid or pure ML-KEM groups are offered: a classical-only peer is refused.</summary>
    PostQuantumOnly,
}
