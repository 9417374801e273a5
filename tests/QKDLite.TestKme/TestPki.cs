using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading;

namespace QKDLite.TestKme;

/// <summary>Key algorithm of the certificates a <see cref="TestPki"/> issues.</summary>
public enum TestKeyAlgorithm
{
    /// <summary>RSA 2048 (the most widely loadable: .NET Framework, BouncyCastle, OpenSSL).</summary>
    Rsa2048,

    /// <summary>ECDSA on NIST P-256 (faster to generate).</summary>
    EcdsaP256,
}

/// <summary>
/// A throwaway test PKI made at test time with <see cref="CertificateRequest"/>: a root CA, TLS server
/// certificates for 127.0.0.1/localhost, SAE client certificates whose subject CN is the SAE ID, and
/// (lazily) a second, unrelated CA for "wrong CA" tests. Nothing is written to any certificate store.
/// </summary>
public sealed class TestPki : IDisposable
{
    private static readonly Oid ServerAuthOid = new("1.3.6.1.5.5.7.3.1", "Server Authentication");
    private static readonly Oid ClientAuthOid = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    private readonly Lazy<TestPki> _unrelated;
    private readonly Dictionary<string, TestCertificate> _serverCertificates = new(StringComparer.Ordinal);
    private readonly TestCertificate _ca;
    private bool _disposed;

    private TestPki(TestCertificate ca, TestKeyAlgorithm algorithm, bool withUnrelated)
    {
        _ca = ca;
        Algorithm = algorithm;
        _unrelated = new Lazy<TestPki>(
            () => withUnrelated
                ? CreateCore("QKDLite Unrelated Test CA", algorithm, withUnrelated: false)
                : throw new InvalidOperationException("An unrelated CA has no unrelated CA of its own."),
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Key algorithm of every certificate of this PKI.</summary>
    public TestKeyAlgorithm Algorithm { get; }

    /// <summary>The root CA (certificate with private key).</summary>
    public TestCertificate Ca => _ca;

    /// <summary>The root CA certificate (with private key).</summary>
    public X509Certificate2 CaCertificate => _ca.Certificate;

    /// <summary>A second root CA that has nothing to do with <see cref="Ca"/>; made on first use.</summary>
    public TestPki Unrelated => _unrelated.Value;

    /// <summary>Makes a new root CA (valid from 1 hour ago for 30 days).</summary>
    public static TestPki Create(string caName = "QKDLite Test CA", TestKeyAlgorithm algorithm = TestKeyAlgorithm.Rsa2048)
        => CreateCore(caName, algorithm, withUnrelated: true);

    private static TestPki CreateCore(string caName, TestKeyAlgorithm algorithm, bool withUnrelated)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(caName);
        var subject = BuildName(caName);
        var now = DateTimeOffset.UtcNow;
        using var key = NewKey(algorithm);
        var request = NewRequest(subject, key);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 1, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var selfSigned = request.CreateSelfSigned(now.AddHours(-1), now.AddDays(30));
        return new TestPki(TestCertificate.FromEphemeral(selfSigned), algorithm, withUnrelated);
    }

    /// <summary>
    /// Issues a TLS server certificate (EKU serverAuth) whose SAN holds <paramref name="dnsNames"/>
    /// (default: localhost) and <paramref name="ipAddresses"/> (default: 127.0.0.1 and ::1).
    /// </summary>
    public TestCertificate CreateServerCertificate(
        string commonName = "localhost",
        IEnumerable<string>? dnsNames = null,
        IEnumerable<IPAddress>? ipAddresses = null,
        DateTimeOffset? notBefore = null,
        DateTimeOffset? notAfter = null)
    {
        var san = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames ?? ["localhost"])
        {
            san.AddDnsName(dns);
        }

        foreach (var ip in ipAddresses ?? [IPAddress.Loopback, IPAddress.IPv6Loopback])
        {
            san.AddIpAddress(ip);
        }

        return Issue(commonName, ServerAuthOid,
            X509KeyUsageFlags.DigitalSignature | KeyEnciphermentFor(Algorithm), san.Build(), notBefore, notAfter);
    }

    /// <summary>
    /// Issues an SAE client certificate (EKU clientAuth) with subject CN = <paramref name="saeId"/>.
    /// Pass <paramref name="notBefore"/>/<paramref name="notAfter"/> for expired or not-yet-valid certificates.
    /// </summary>
    public TestCertificate CreateClientCertificate(string saeId, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
        => Issue(saeId, ClientAuthOid,
            X509KeyUsageFlags.DigitalSignature | KeyEnciphermentFor(Algorithm), null, notBefore, notAfter);

    /// <summary>
    /// The default server certificate (SAN localhost, 127.0.0.1, ::1) for <paramref name="commonName"/>,
    /// made on first use and then shared: owned by this PKI (do not dispose it). Test KME pairs use it so
    /// that starting another pair with the same PKI costs no key generation.
    /// </summary>
    public TestCertificate GetServerCertificate(string commonName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(commonName);
        lock (_serverCertificates)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_serverCertificates.TryGetValue(commonName, out var certificate))
            {
                certificate = CreateServerCertificate(commonName);
                _serverCertificates.Add(commonName, certificate);
            }

            return certificate;
        }
    }

    /// <summary>
    /// True when <paramref name="certificate"/> chains to this PKI's CA alone (custom root trust, the
    /// system store is ignored), is within its validity period and carries the given EKU (if any).
    /// </summary>
    public bool ValidateChain(X509Certificate2 certificate, Oid? requiredEku = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(CaCertificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        if (requiredEku is not null)
        {
            chain.ChainPolicy.ApplicationPolicy.Add(requiredEku);
        }

        try
        {
            if (!chain.Build(certificate))
            {
                return false;
            }

            // The root of the built chain must be our CA, not merely some CA.
            var root = chain.ChainElements[^1].Certificate;
            return root.RawDataMemory.Span.SequenceEqual(CaCertificate.RawDataMemory.Span);
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                element.Certificate.Dispose();
            }
        }
    }

    /// <summary>Validates an SAE client certificate: chain to this CA plus EKU clientAuth.</summary>
    public bool ValidateClientCertificate(X509Certificate2 certificate) => ValidateChain(certificate, ClientAuthOid);

    /// <summary>Validates a KME server certificate: chain to this CA plus EKU serverAuth (host name not checked).</summary>
    public bool ValidateServerCertificate(X509Certificate2 certificate) => ValidateChain(certificate, ServerAuthOid);

    /// <summary>Writes the CA certificate as PEM to <c>&lt;directory&gt;/&lt;baseName&gt;.crt.pem</c> and returns the path.</summary>
    public string WriteCaPem(string directory, string baseName = "ca")
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, baseName + ".crt.pem");
        File.WriteAllText(path, _ca.CertificatePem);
        return path;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        lock (_serverCertificates)
        {
            _disposed = true;
            foreach (var certificate in _serverCertificates.Values)
            {
                certificate.Dispose();
            }

            _serverCertificates.Clear();
        }

        if (_unrelated.IsValueCreated)
        {
            _unrelated.Value.Dispose();
        }

        _ca.Dispose();
    }

    private TestCertificate Issue(
        string commonName, Oid eku, X509KeyUsageFlags usage, X509Extension? san, DateTimeOffset? notBefore, DateTimeOffset? notAfter)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(commonName);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var now = DateTimeOffset.UtcNow;
        var from = notBefore ?? now.AddMinutes(-10);
        var to = notAfter ?? now.AddDays(7);
        // An issued certificate must lie inside the issuer's validity period.
        if (from < CaCertificate.NotBefore.ToUniversalTime())
        {
            from = CaCertificate.NotBefore.ToUniversalTime();
        }

        if (to > CaCertificate.NotAfter.ToUniversalTime())
        {
            to = CaCertificate.NotAfter.ToUniversalTime();
        }

        using var key = NewKey(Algorithm);
        var request = NewRequest(BuildName(commonName), key);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([eku], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(CaCertificate, true, false));
        if (san is not null)
        {
            request.CertificateExtensions.Add(san);
        }

        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F; // positive
        serial[0] |= 0x40; // and of full length
        using var publicOnly = request.Create(CaCertificate, from, to, serial);
        using var withKey = key switch
        {
            RSA rsa => publicOnly.CopyWithPrivateKey(rsa),
            ECDsa ecdsa => publicOnly.CopyWithPrivateKey(ecdsa),
            _ => throw new InvalidOperationException("unsupported key type"),
        };
        return TestCertificate.FromEphemeral(withKey);
    }

    private static X500DistinguishedName BuildName(string commonName)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddOrganizationName("QKDLite Tests");
        builder.AddCommonName(commonName);
        return builder.Build();
    }

    private static AsymmetricAlgorithm NewKey(TestKeyAlgorithm algorithm) => algorithm switch
    {
        TestKeyAlgorithm.Rsa2048 => RSA.Create(2048),
        TestKeyAlgorithm.EcdsaP256 => ECDsa.Create(ECCurve.NamedCurves.nistP256),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    private static CertificateRequest NewRequest(X500DistinguishedName subject, AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        ECDsa ecdsa => new CertificateRequest(subject, ecdsa, HashAlgorithmName.SHA256),
        _ => throw new InvalidOperationException("unsupported key type"),
    };

    private static X509KeyUsageFlags KeyEnciphermentFor(TestKeyAlgorithm algorithm)
        => algorithm == TestKeyAlgorithm.Rsa2048 ? X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.None;
}
