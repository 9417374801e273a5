using System;
using System.Collections.Generic;

namespace QKDLite.Core.Kme;

/// <summary>
/// How to reach the KME(s) of one QKD link as an SAE: one or more URLs (high availability: tried in
/// order), this node's SAE ID, its client certificate, and the CA the KME's certificate must chain to.
/// </summary>
public sealed class KmeSettings
{
    /// <summary>Name used in the node configuration and on the command line.</summary>
    public string Name { get; set; } = string.Empty;
    /// <summary>Base URLs (https://host:port), tried in order.</summary>
    public List<string> Urls { get; set; } = new();
    /// <summary>This node's SAE ID towards the KME.</summary>
    public string SaeId { get; set; } = string.Empty;
    /// <summary>
    /// Client certificate: a PFX/PKCS#12 file, a PEM certificate (with <see cref="ClientKey"/>), or
    /// "cert:&lt;thumbprint&gt;" for one in the certificate store (the Windows certificate store where present).
    /// </summary>
    public string ClientCertificate { get; set; } = string.Empty;
    /// <summary>PEM private key of a PEM client certificate.</summary>
    public string? ClientKey { get; set; }
    /// <summary>Environment variable holding the PFX password, when it has one.</summary>
    public string? ClientCertificatePasswordVariable { get; set; }
    /// <summary>PEM file of the CA the KME's server certificate must chain to.</summary>
    public string CaCertificate { get; set; } = string.Empty;
    /// <summary>Seconds before a call to one URL is abandoned and the next is tried.</summary>
    public int TimeoutSeconds { get; set; } = 10;
    /// <summary>Attempts over the whole URL list before giving up (with growing pauses between rounds).</summary>
    public int Rounds { get; set; } = 2;

    /// <summary>The timeout as a TimeSpan.</summary>
    public TimeSpan Timeout => TimeSpan.FromSeconds(Math.Max(1, TimeoutSeconds));
}
