using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace QKDLite.EtsiServer.Tests;

/// <summary>Client certificates of shapes the test PKI does not make: URI SANs, no CN, two CNs.</summary>
internal static class CertificateMaker
{
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    /// <summary>
    /// A client certificate issued by the test CA with the subject <paramref name="subject"/> (e.g.
    /// "CN=SAE-A, O=x", or "O=x" for none) and the given URI SANs.
    /// </summary>
    public static X509Certificate2 Issue(string subject, params string[] uris)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName(subject), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ClientAuthentication], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Pki.Ca.CaCertificate, true, false));
        if (uris.Length > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var uri in uris) san.AddUri(new Uri(uri));
            request.CertificateExtensions.Add(san.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = 0x41;
        var now = DateTimeOffset.UtcNow;
        using var issued = request.Create(Pki.Ca.CaCertificate, now.AddMinutes(-5), now.AddDays(1), serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }
}
