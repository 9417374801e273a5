namespace QKDLite.Core.Configuration;

/// <summary>
/// Where the ETSI server reads a calling SAE's ID from in its client certificate. ETSI GS QKD 014
/// leaves the mapping open; deployments use one of these.
/// </summary>
public enum SaeIdentitySource
{
    /// <summary>The certificate's one subject common name (CN) is the SAE ID.</summary>
    SubjectCommonName,
    /// <summary>The certificate's one URI subject alternative name is the SAE ID.</summary>
    UriSan,
    /// <summary>The certificate's thumbprint (SHA-1 or SHA-256) is looked up in <see cref="EtsiServerSettings.SaeThumbprints"/>.</summary>
    Thumbprint,
}
