using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using HashAlgorithm = Org.BouncyCastle.Tls.HashAlgorithm;
using QKDLite.Core.Errors;

namespace QKDLite.Core.Tls;

/// <summary>
/// A client certificate and its private key in BouncyCastle's form, for mutual TLS through BouncyCastle.
/// The key leaves the platform once, as PKCS#8 bytes that are zeroed at once; a key the platform
/// will not export (a non-exportable store key, a smart card) is refused with a clear error.
/// </summary>
internal sealed class BcClientCredentials
{
    private BcClientCredentials(byte[] certificate, AsymmetricKeyParameter privateKey)
    {
        Certificate = certificate;
        PrivateKey = privateKey;
    }

    /// <summary>DER of the client certificate.</summary>
    public byte[] Certificate { get; }

    /// <summary>The private key.</summary>
    public AsymmetricKeyParameter PrivateKey { get; }

    /// <summary>Converts <paramref name="certificate"/> (with its private key); <paramref name="owner"/> names it in errors.</summary>
    public static BcClientCredentials From(X509Certificate2 certificate, string owner)
    {
        AsymmetricAlgorithm? key = null;
        try
        {
            key = (AsymmetricAlgorithm?)certificate.GetRSAPrivateKey() ?? certificate.GetECDsaPrivateKey();
            if (key is null)
                throw Unusable(owner, certificate, "its key is neither RSA nor ECDSA, or the private key is missing");
            // ExportPkcs8PrivateKey is .NET Core 3.0+, absent from netstandard2.0; the post-quantum path runs on .NET 8+.
            var export = key.GetType().GetMethod("ExportPkcs8PrivateKey", Type.EmptyTypes)
                ?? throw Unusable(owner, certificate, "this runtime cannot export private keys");
            byte[] pkcs8;
            try
            {
                pkcs8 = (byte[])export.Invoke(key, null)!;
            }
            catch (TargetInvocationException e) when (e.InnerException is CryptographicException)
            {
                throw Unusable(owner, certificate,
                    "its private key is not exportable, and the post-quantum TLS stack needs it in memory; import the certificate as exportable, use its PFX or PEM files, or use TlsProfile Classical", e.InnerException);
            }
            try
            {
                return new BcClientCredentials(certificate.RawData, PrivateKeyFactory.CreateKey(pkcs8));
            }
            finally
            {
                Array.Clear(pkcs8, 0, pkcs8.Length);
            }
        }
        finally
        {
            key?.Dispose();
        }
    }

    /// <summary>The first signature scheme the server accepts that this key can make, or null.</summary>
    public SignatureAndHashAlgorithm? SelectSignature(IList<SignatureAndHashAlgorithm>? accepted, bool tls13)
    {
        var candidates = Candidates(tls13).ToList();
        if (accepted is null || accepted.Count == 0) return candidates.FirstOrDefault();
        return candidates.FirstOrDefault(accepted.Contains);
    }

    private IEnumerable<SignatureAndHashAlgorithm> Candidates(bool tls13)
    {
        switch (PrivateKey)
        {
            case RsaKeyParameters:
                yield return SignatureAndHashAlgorithm.rsa_pss_rsae_sha256;
                yield return SignatureAndHashAlgorithm.rsa_pss_rsae_sha384;
                yield return SignatureAndHashAlgorithm.rsa_pss_rsae_sha512;
                if (tls13) yield break; // TLS 1.3 signs handshakes with RSA-PSS only
                foreach (var hash in new[] { HashAlgorithm.sha256, HashAlgorithm.sha384, HashAlgorithm.sha512 })
                    yield return SignatureAndHashAlgorithm.GetInstance(hash, SignatureAlgorithm.rsa);
                break;
            case ECPrivateKeyParameters ec:
                // TLS 1.3 ties the hash to the curve; TLS 1.2 takes any, the curve's own first.
                var own = ec.Parameters.Curve.FieldSize switch { <= 256 => HashAlgorithm.sha256, <= 384 => HashAlgorithm.sha384, _ => HashAlgorithm.sha512 };
                yield return SignatureAndHashAlgorithm.GetInstance(own, SignatureAlgorithm.ecdsa);
                if (tls13) yield break;
                foreach (var hash in new[] { HashAlgorithm.sha256, HashAlgorithm.sha384, HashAlgorithm.sha512 }.Where(h => h != own))
                    yield return SignatureAndHashAlgorithm.GetInstance(hash, SignatureAlgorithm.ecdsa);
                break;
        }
    }

    private static QKDLiteException Unusable(string owner, X509Certificate2 certificate, string why, Exception? inner = null) =>
        new(ErrorIds.TlsClientKeyUnusable, QKDLiteErrorCategory.SecurityError,
            $"{owner}: the client certificate '{certificate.Subject}' ({certificate.Thumbprint}) cannot be used for Hybrid or PostQuantumOnly TLS: {why}.", owner, inner);
}
