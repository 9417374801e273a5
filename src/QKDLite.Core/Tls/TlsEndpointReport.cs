using System;

namespace QKDLite.Core.Tls;

/// <summary>What a TLS endpoint negotiated with this client, and the certificate it presented (Test-TlsEndpoint).</summary>
public sealed class TlsEndpointReport
{
    /// <summary>host:port asked.</summary>
    public string Endpoint { get; set; } = string.Empty;
    /// <summary>The KME configuration the endpoint came from, or null.</summary>
    public string? Kme { get; set; }
    /// <summary>The profile the client offered with.</summary>
    public TlsProfile TlsProfile { get; set; }
    /// <summary>"TLS 1.3" or "TLS 1.2".</summary>
    public string Protocol { get; set; } = string.Empty;
    /// <summary>The key-exchange group, e.g. X25519MLKEM768 or x25519; null with Classical (the platform's TLS does not report it).</summary>
    public string? Group { get; set; }
    /// <summary>True when the key exchange was hybrid or pure ML-KEM.</summary>
    public bool PostQuantum { get; set; }
    /// <summary>IANA name of the cipher suite.</summary>
    public string? CipherSuite { get; set; }
    /// <summary>Subject of the server's certificate.</summary>
    public string ServerCertificateSubject { get; set; } = string.Empty;
    /// <summary>Issuer of the server's certificate.</summary>
    public string ServerCertificateIssuer { get; set; } = string.Empty;
    /// <summary>SHA-1 thumbprint of the server's certificate (upper-case hex, as Windows shows it).</summary>
    public string ServerCertificateThumbprint { get; set; } = string.Empty;
    /// <summary>End of validity of the server's certificate (UTC).</summary>
    public DateTime ServerCertificateNotAfter { get; set; }
    /// <summary>True when the certificate names the host asked.</summary>
    public bool HostNameMatches { get; set; }
    /// <summary>True when the certificate chains to the CA given; null when no CA was given.</summary>
    public bool? ChainsToCa { get; set; }
    /// <summary>True when it chains to the CA given (or, without one, to a root the machine trusts) and names the host.</summary>
    public bool CertificateTrusted { get; set; }
    /// <summary>True when the server asked for a client certificate (not reported with Classical).</summary>
    public bool? ClientCertificateRequested { get; set; }
}
