using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using QKDLite.Core.Configuration;
using QKDLite.Core.Tls;

namespace QKDLite.EtsiServer.Tls;

/// <summary>What every BouncyCastle TLS connection of one listener shares: profile, groups, credentials, client CA check.</summary>
internal sealed class PostQuantumTlsOptions
{
    public PostQuantumTlsOptions(EtsiListener listener, ServerCredentials credentials, ClientCertificateValidator validator,
        X509Certificate2Collection clientCas, BcTlsCrypto crypto)
    {
        Profile = listener.Profile;
        Groups = listener.Groups.Select(name => PostQuantumGroups.TryGetPostQuantum(name, out var code) ? code : -1).Where(c => c >= 0).ToArray();
        Credentials = credentials;
        Validator = validator;
        ClientCaNames = clientCas.Cast<X509Certificate2>().Select(c => X509Name.GetInstance(c.SubjectName.RawData)).ToList();
        Crypto = crypto;
    }

    /// <summary>Hybrid or PostQuantumOnly.</summary>
    public TlsProfile Profile { get; }

    /// <summary>The configured post-quantum groups (BouncyCastle codes), most preferred first.</summary>
    public IReadOnlyList<int> Groups { get; }

    public ServerCredentials Credentials { get; }

    public ClientCertificateValidator Validator { get; }

    /// <summary>Subjects of the client CAs, sent in the CertificateRequest.</summary>
    public IList<X509Name> ClientCaNames { get; }

    /// <summary>BouncyCastle's crypto provider (system randomness), shared by the listener's connections.</summary>
    public BcTlsCrypto Crypto { get; }

    /// <summary>Most time a client gets to complete its handshake, as on the classical path.</summary>
    public System.TimeSpan HandshakeTimeout { get; init; } = System.TimeSpan.FromSeconds(10);
}
