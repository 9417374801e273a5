using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using HashAlgorithm = Org.BouncyCastle.Tls.HashAlgorithm;

namespace QKDLite.EtsiServer.Tls;

/// <summary>
/// The server certificate, its chain and private key (loaded by <see cref="CertificateFiles"/>) in
/// BouncyCastle's form, and the signer a handshake needs: the signature scheme is the first one of the
/// key's kind that the client offers.
/// </summary>
internal sealed class ServerCredentials
{
    private readonly TlsCertificate[] _chain;
    private readonly AsymmetricKeyParameter _privateKey;
    private readonly SignatureAndHashAlgorithm[] _schemes13;
    private readonly SignatureAndHashAlgorithm[] _schemes12;

    private ServerCredentials(TlsCertificate[] chain, AsymmetricKeyParameter privateKey, SignatureAndHashAlgorithm[] schemes13, SignatureAndHashAlgorithm[] schemes12)
    {
        _chain = chain;
        _privateKey = privateKey;
        _schemes13 = schemes13;
        _schemes12 = schemes12;
    }

    /// <summary>Converts the certificate (with its private key, ECDSA or RSA) and the chain to send after it.</summary>
    public static ServerCredentials From(X509Certificate2 certificate, X509Certificate2Collection chain, BcTlsCrypto crypto)
    {
        var certificates = new[] { certificate }.Concat(chain)
            .Select(c => crypto.CreateCertificate(c.RawData)).ToArray();
        byte[]? pkcs8 = null;
        try
        {
            SignatureAndHashAlgorithm[] schemes13, schemes12;
            using (var ecdsa = certificate.GetECDsaPrivateKey())
            using (var rsa = ecdsa is null ? certificate.GetRSAPrivateKey() : null)
            {
                if (ecdsa is not null)
                {
                    pkcs8 = ecdsa.ExportPkcs8PrivateKey();
                    // TLS 1.3 ties the hash to the curve; TLS 1.2 lets the client's list decide.
                    var hash = ecdsa.KeySize switch { <= 256 => HashAlgorithm.sha256, <= 384 => HashAlgorithm.sha384, _ => HashAlgorithm.sha512 };
                    schemes13 = [SignatureAndHashAlgorithm.GetInstance(hash, SignatureAlgorithm.ecdsa)];
                    schemes12 = new[] { hash, HashAlgorithm.sha256, HashAlgorithm.sha384, HashAlgorithm.sha512 }.Distinct()
                        .Select(h => SignatureAndHashAlgorithm.GetInstance(h, SignatureAlgorithm.ecdsa)).ToArray();
                }
                else if (rsa is not null)
                {
                    pkcs8 = rsa.ExportPkcs8PrivateKey();
                    schemes13 = [SignatureAndHashAlgorithm.rsa_pss_rsae_sha256, SignatureAndHashAlgorithm.rsa_pss_rsae_sha384, SignatureAndHashAlgorithm.rsa_pss_rsae_sha512];
                    schemes12 = schemes13.Concat(new[] { HashAlgorithm.sha256, HashAlgorithm.sha384, HashAlgorithm.sha512 }
                        .Select(h => SignatureAndHashAlgorithm.GetInstance(h, SignatureAlgorithm.rsa))).ToArray();
                }
                else
                {
                    throw new CryptographicException("the server certificate's key is neither ECDSA nor RSA");
                }
            }
            return new ServerCredentials(certificates, PrivateKeyFactory.CreateKey(pkcs8), schemes13, schemes12);
        }
        finally
        {
            if (pkcs8 is not null) Array.Clear(pkcs8);
        }
    }

    /// <summary>True for an ECDSA key, false for RSA: which TLS 1.2 cipher suites can be chosen.</summary>
    public bool IsEcdsa => _privateKey is Org.BouncyCastle.Crypto.Parameters.ECPrivateKeyParameters;

    /// <summary>The signer for this handshake; a handshake failure when the client offers no scheme the key can do.</summary>
    public TlsCredentialedSigner SignerFor(TlsContext context, BcTlsCrypto crypto)
    {
        var tls13 = TlsUtilities.IsTlsV13(context);
        var offered = context.SecurityParameters.ClientSigAlgs;
        var schemes = tls13 ? _schemes13 : _schemes12;
        // A TLS 1.2 client that sends no signature_algorithms gets the first scheme of the key's kind.
        var chosen = offered is null && !tls13 ? schemes[0] : schemes.FirstOrDefault(s => offered?.Contains(s) == true)
            ?? throw new TlsFatalAlert(AlertDescription.handshake_failure, "the client offers no signature scheme the server's key can make");
        var certificate = tls13
            ? new Certificate(TlsUtilities.EmptyBytes, _chain.Select(c => new CertificateEntry(c, null)).ToArray())
            : new Certificate(_chain);
        return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), crypto, _privateKey, certificate, chosen);
    }
}
