using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace QKDLite.Core.Tls;

/// <summary>
/// BouncyCastle's TLS client for the Hybrid and PostQuantumOnly profiles: which versions, groups and
/// key shares are offered, the client certificate, and the server certificate check. It remembers what
/// the handshake negotiated and why a server certificate was refused.
/// </summary>
internal sealed class HybridTlsClient : DefaultTlsClient
{
    private static readonly int[] CipherSuites =
    {
        CipherSuite.TLS_AES_256_GCM_SHA384, CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    };

    private readonly TlsClientOptions _options;
    private readonly string _host;

    public HybridTlsClient(TlsClientOptions options, string host)
        : base(new BcTlsCrypto())
    {
        if (options.Profile == TlsProfile.Classical) throw new ArgumentException("The Classical profile uses the platform's TLS.", nameof(options));
        _options = options;
        _host = host;
    }

    /// <summary>What the handshake negotiated, once it completed.</summary>
    public TlsSessionInfo? Negotiated { get; private set; }

    /// <summary>The server's certificate as it presented it (also when refused).</summary>
    public X509Certificate2? ServerCertificate { get; private set; }

    /// <summary>Why the server certificate was refused, or null.</summary>
    public string? CertificateProblem { get; private set; }

    /// <summary>True when the server asked for a client certificate.</summary>
    public bool ClientCertificateRequested { get; private set; }

    /// <summary>Set when the client certificate could not be offered (no signature scheme the server accepts).</summary>
    public string? ClientCertificateProblem { get; private set; }

    private bool PostQuantumOnly => _options.Profile == TlsProfile.PostQuantumOnly;

    /// <inheritdoc />
    protected override ProtocolVersion[] GetSupportedVersions() =>
        PostQuantumOnly ? ProtocolVersion.TLSv13.Only() : ProtocolVersion.TLSv13.DownTo(ProtocolVersion.TLSv12);

    /// <inheritdoc />
    protected override int[] GetSupportedCipherSuites() => TlsUtilities.GetSupportedCipherSuites(Crypto, CipherSuites);

    /// <inheritdoc />
    protected override IList<int> GetSupportedGroups(IList<int> namedGroupRoles)
    {
        var groups = _options.Groups.ToList();
        if (!PostQuantumOnly) groups.AddRange(PostQuantumGroups.ClassicalFallback);
        return groups;
    }

    /// <summary>
    /// Key shares sent at once: the preferred post-quantum group, and for Hybrid also x25519, so that a
    /// classical server answers without a HelloRetryRequest while a hybrid-capable one picks the first.
    /// </summary>
    public override IList<int> GetEarlyKeyShareGroups()
    {
        var shares = new List<int> { _options.Groups[0] };
        if (!PostQuantumOnly) shares.Add(NamedGroup.x25519);
        return shares;
    }

    /// <inheritdoc />
    protected override IList<ServerName>? GetSniServerNames()
    {
        if (IPAddress.TryParse(_host.Trim('[', ']'), out _)) return null; // SNI never carries an address
        return new List<ServerName> { new(NameType.host_name, Encoding.ASCII.GetBytes(new IdnMapping().GetAscii(_host))) };
    }

    /// <inheritdoc />
    public override TlsAuthentication GetAuthentication() => new Authentication(this);

    /// <inheritdoc />
    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        var parameters = m_context.SecurityParameters;
        var group = parameters.NegotiatedGroup;
        Negotiated = new TlsSessionInfo(_options.Profile, TlsNames.ProtocolName(parameters.NegotiatedVersion),
            group >= 0 ? PostQuantumGroups.NameOf(group) : "none", PostQuantumGroups.IsPostQuantum(group), TlsNames.CipherSuiteName(parameters.CipherSuite));
    }

    private sealed class Authentication : TlsAuthentication
    {
        private readonly HybridTlsClient _client;

        public Authentication(HybridTlsClient client) => _client = client;

        public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
        {
            var chain = serverCertificate.Certificate;
            if (chain is null || chain.IsEmpty)
            {
                _client.CertificateProblem = "it presented no certificate";
                throw new TlsFatalAlert(AlertDescription.bad_certificate);
            }
            var certificates = Enumerable.Range(0, chain.Length).Select(i => new X509Certificate2(chain.GetCertificateAt(i).GetEncoded())).ToList();
            _client.ServerCertificate = certificates[0];
            _client.CertificateProblem = _client._options.CheckServer(certificates[0], certificates.Skip(1).ToList(), _client._host);
            if (_client.CertificateProblem is not null && _client._options.RefuseUntrustedServer)
                throw new TlsFatalAlert(AlertDescription.bad_certificate);
        }

        public TlsCredentials? GetClientCredentials(CertificateRequest certificateRequest)
        {
            _client.ClientCertificateRequested = true;
            var credentials = _client._options.ClientCredentials;
            if (credentials is null) return null;
            var context = _client.m_context;
            var tls13 = TlsUtilities.IsTlsV13(context);
            var signature = credentials.SelectSignature(certificateRequest.SupportedSignatureAlgorithms, tls13);
            if (signature is null)
            {
                _client.ClientCertificateProblem = "the server accepts no signature scheme the client certificate's key can make";
                return null;
            }
            var crypto = (BcTlsCrypto)_client.Crypto;
            var certificate = crypto.CreateCertificate(credentials.Certificate);
            var chain = tls13
                ? new Certificate(certificateRequest.GetCertificateRequestContext(), new[] { new CertificateEntry(certificate, null) })
                : new Certificate(new[] { certificate });
            return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), crypto, credentials.PrivateKey, chain, signature);
        }
    }
}
