using System;
using System.Collections.Generic;
using System.Linq;
using QKDLite.Core.Errors;
using QKDLite.Core.Tls;

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

    /// <summary>
    /// TLS towards the KME: Classical (the platform's TLS, the default), Hybrid (TLS 1.3 with a hybrid
    /// ML-KEM group preferred, classical accepted) or PostQuantumOnly (a classical-only KME is refused).
    /// </summary>
    public TlsProfile TlsProfile { get; set; } = TlsProfile.Classical;
    /// <summary>
    /// Post-quantum groups offered with Hybrid and PostQuantumOnly, most preferred first (default
    /// X25519MLKEM768; also SecP256r1MLKEM768, SecP384r1MLKEM1024, MLKEM768, MLKEM1024).
    /// </summary>
    public List<string>? TlsGroups { get; set; }

    /// <summary>The timeout as a TimeSpan.</summary>
    public TimeSpan Timeout => TimeSpan.FromSeconds(Math.Max(1, TimeoutSeconds));

    /// <summary>Loads the CA certificate this entry names (PEM or DER).</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2 LoadCa() => KmeTls.LoadCa(this);

    /// <summary>Loads the client certificate with its private key; <paramref name="exportable"/> for Hybrid and PostQuantumOnly, whose TLS stack needs the key.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2 LoadClientCertificate(bool exportable) => KmeTls.LoadClientCertificate(this, exportable);

    /// <summary>The BouncyCastle codes of <see cref="TlsGroups"/> (the default group when none are named).</summary>
    public IReadOnlyList<int> TlsGroupCodes() =>
        (TlsGroups is null || TlsGroups.Count == 0 ? new List<string> { PostQuantumGroups.DefaultGroup } : TlsGroups)
            .Select(name => PostQuantumGroups.TryGetPostQuantum(name, out var code) ? code : throw Invalid($"TlsGroups names '{name}', which is not a post-quantum group"))
            .ToList();

    /// <summary>Checks the TLS settings: a known profile, known post-quantum groups, each once, and groups only with a post-quantum profile.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(typeof(TlsProfile), TlsProfile))
            throw Invalid($"TlsProfile {(int)TlsProfile} is not one of {string.Join(", ", Enum.GetNames(typeof(TlsProfile)))}");
        if (TlsGroups is null) return;
        if (TlsProfile == TlsProfile.Classical && TlsGroups.Count > 0)
            throw Invalid("TlsGroups applies to TlsProfile Hybrid or PostQuantumOnly; with Classical the platform's TLS chooses the group");
        foreach (var name in TlsGroups)
        {
            if (!PostQuantumGroups.TryGetPostQuantum(name, out _))
                throw Invalid($"TlsGroups names '{name}', which is not a post-quantum group; use {string.Join(", ", PostQuantumGroups.PostQuantumNames)}");
        }
        var duplicate = TlsGroups.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw Invalid($"TlsGroups names '{duplicate.Key}' more than once");
    }

    private QKDLiteException Invalid(string why) =>
        new(ErrorIds.KmeConfigurationInvalid, QKDLiteErrorCategory.InvalidData, $"KME '{Name}': {why}.", Name);
}
