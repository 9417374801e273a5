using System;
using System.Collections.Generic;
using System.Security.Cryptography.X509Certificates;

namespace QKDLite.Core.Tls;

/// <summary>How the BouncyCastle TLS client connects: profile, groups, client certificate and server check.</summary>
internal sealed class TlsClientOptions
{
    public TlsClientOptions(TlsProfile profile, IReadOnlyList<int> groups, BcClientCredentials? clientCredentials,
        Func<X509Certificate2, IReadOnlyList<X509Certificate2>, string, string?> checkServer, bool refuseUntrustedServer = true)
    {
        if (groups.Count == 0) throw new ArgumentException("At least one post-quantum group is needed.", nameof(groups));
        Profile = profile;
        Groups = groups;
        ClientCredentials = clientCredentials;
        CheckServer = checkServer;
        RefuseUntrustedServer = refuseUntrustedServer;
    }

    /// <summary>Hybrid or PostQuantumOnly.</summary>
    public TlsProfile Profile { get; }

    /// <summary>Post-quantum groups offered, most preferred first (BouncyCastle codes).</summary>
    public IReadOnlyList<int> Groups { get; }

    /// <summary>The client certificate presented when the server asks for one, or null.</summary>
    public BcClientCredentials? ClientCredentials { get; }

    /// <summary>Checks the server's certificate (leaf, intermediates it sent, host): null when trusted, else why not.</summary>
    public Func<X509Certificate2, IReadOnlyList<X509Certificate2>, string, string?> CheckServer { get; }

    /// <summary>False only to report on a server that would be refused (Test-TlsEndpoint -SkipCertificateCheck).</summary>
    public bool RefuseUntrustedServer { get; }
}
