using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography.X509Certificates;
using CertificateRequest = Org.BouncyCastle.Tls.CertificateRequest;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using QKDLite.Core.Tls;

namespace QKDLite.EtsiServer.Tls;

/// <summary>
/// One connection's BouncyCastle TLS server for the Hybrid and PostQuantumOnly profiles. Hybrid
/// offers TLS 1.3 and 1.2, the configured post-quantum groups and then the classical ones, and picks
/// groups in its own order: a client that lists a hybrid group gets it, through a HelloRetryRequest
/// when its early key share was classical. PostQuantumOnly offers TLS 1.3 and the configured groups
/// only. Both demand a client certificate that <see cref="ClientCertificateValidator"/> accepts.
/// </summary>
internal sealed class PostQuantumTlsServer : DefaultTlsServer
{
    private static readonly int[] Tls13Suites =
    [
        CipherSuite.TLS_AES_256_GCM_SHA384, CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    ];
    private static readonly int[] EcdsaTls12Suites =
    [
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    private static readonly int[] RsaTls12Suites =
    [
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];

    private readonly BcTlsCrypto _crypto;
    private readonly PostQuantumTlsOptions _options;

    public PostQuantumTlsServer(BcTlsCrypto crypto, PostQuantumTlsOptions options)
        : base(crypto)
    {
        _crypto = crypto;
        _options = options;
    }

    /// <summary>The accepted client certificate, once the handshake got that far.</summary>
    public X509Certificate2? ClientCertificate { get; private set; }

    /// <summary>Why the client certificate was refused, when it was.</summary>
    public string? RefusalReason { get; private set; }

    private int _tls12Group = -1;

    /// <summary>The negotiated key-exchange group (a <see cref="NamedGroup"/> code), or -1 before the ServerHello.</summary>
    public int NegotiatedGroup => m_context?.SecurityParameters?.NegotiatedGroup is >= 0 and var group ? group : _tls12Group;

    /// <summary>TLS 1.2 chooses its ECDHE curve here, and records it nowhere else.</summary>
    public override TlsECConfig GetECDHConfig()
    {
        var config = base.GetECDHConfig();
        _tls12Group = config.NamedGroup;
        return config;
    }

    /// <summary>The connection's security parameters once the handshake is complete.</summary>
    public SecurityParameters SecurityParameters => m_context.SecurityParameters;

    public override ProtocolVersion[] GetProtocolVersions() =>
        _options.Profile == TlsProfile.PostQuantumOnly
            ? ProtocolVersion.TLSv13.Only()
            // TLS 1.2 stays the floor (ETSI GS QKD 014); never 1.0 or 1.1.
            : ProtocolVersion.TLSv13.DownTo(ProtocolVersion.TLSv12);

    public override int[] GetSupportedGroups() =>
        _options.Profile == TlsProfile.PostQuantumOnly
            ? _options.Groups.ToArray()
            : _options.Groups.Concat(PostQuantumGroups.ClassicalFallback).ToArray();

    /// <summary>Our order decides, not the order of the client's key shares: the reason hybrid wins under Hybrid.</summary>
    public override bool PreferLocalSupportedGroups() => true;

    protected override int[] GetSupportedCipherSuites() =>
        TlsUtilities.GetSupportedCipherSuites(Crypto, Tls13Suites.Concat(_options.Credentials.IsEcdsa ? EcdsaTls12Suites : RsaTls12Suites).ToArray());

    /// <summary>HTTP/1.1 only: Kestrel decides about HTTP/2 when it binds, and offers it only where it runs the TLS itself.</summary>
    protected override IList<ProtocolName> GetProtocolNames() => [ProtocolName.Http_1_1];

    public override TlsCredentials GetCredentials()
    {
        var exchange = m_context.SecurityParameters.KeyExchangeAlgorithm;
        // TLS 1.3 has no key exchange algorithm in the suite (NULL); TLS 1.2 is ECDHE signed by our key.
        if (TlsUtilities.IsTlsV13(m_context) || exchange is KeyExchangeAlgorithm.ECDHE_ECDSA or KeyExchangeAlgorithm.ECDHE_RSA)
            return _options.Credentials.SignerFor(m_context, _crypto);
        throw new TlsFatalAlert(AlertDescription.internal_error);
    }

    public override CertificateRequest GetCertificateRequest()
    {
        var schemes = TlsUtilities.GetDefaultSupportedSignatureAlgorithms(m_context);
        // Naming the client CAs helps a client with several certificates pick the right one.
        var authorities = _options.ClientCaNames;
        if (TlsUtilities.IsTlsV13(m_context))
            return new CertificateRequest(TlsUtilities.EmptyBytes, schemes, null, authorities);
        return new CertificateRequest([ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign], schemes, authorities);
    }

    public override void NotifyClientCertificate(Certificate clientCertificate)
    {
        if (clientCertificate is null || clientCertificate.IsEmpty)
        {
            RefusalReason = "the client presented no certificate";
            throw new TlsFatalAlert(TlsUtilities.IsTlsV13(m_context) ? AlertDescription.certificate_required : AlertDescription.handshake_failure, RefusalReason);
        }
        var chain = clientCertificate.GetCertificateList().Select(c => X509CertificateLoader.LoadCertificate(c.GetEncoded())).ToList();
        var leaf = chain[0];
        try
        {
            if (!_options.Validator.IsValid(leaf, chain.Skip(1)))
            {
                RefusalReason = $"the client certificate does not chain to the client CA: subject '{leaf.Subject}', issuer '{leaf.Issuer}', thumbprint {leaf.Thumbprint}";
                throw new TlsFatalAlert(AlertDescription.bad_certificate, RefusalReason);
            }
            ClientCertificate = leaf;
        }
        finally
        {
            foreach (var certificate in chain.Skip(1)) certificate.Dispose();
            if (ClientCertificate is null) leaf.Dispose();
        }
    }
}
