using System;
using System.IO;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace QKDLite.TestKme;

/// <summary>Paths of the files <see cref="TestCertificate.WriteFiles"/> wrote.</summary>
/// <param name="CertificatePem">The certificate alone, PEM (<c>-----BEGIN CERTIFICATE-----</c>).</param>
/// <param name="PrivateKeyPem">The private key, unencrypted PKCS#8 PEM (<c>-----BEGIN PRIVATE KEY-----</c>).</param>
/// <param name="Pfx">PKCS#12 with certificate and key, no password.</param>
/// <param name="PfxWithPassword">PKCS#12 with certificate and key, protected by the given password (null if none given).</param>
public sealed record TestCertificateFiles(string CertificatePem, string PrivateKeyPem, string Pfx, string? PfxWithPassword);

/// <summary>A certificate with its private key, plus its PEM and PKCS#12 forms.</summary>
public sealed class TestCertificate : IDisposable
{
    private TestCertificate(X509Certificate2 certificate, string certificatePem, string privateKeyPem)
    {
        Certificate = certificate;
        CertificatePem = certificatePem;
        PrivateKeyPem = privateKeyPem;
    }

    /// <summary>
    /// The certificate with its private key, loaded from PKCS#12 so that it also works for TLS on
    /// Windows (SChannel refuses ephemeral keys).
    /// </summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The certificate, PEM.</summary>
    public string CertificatePem { get; }

    /// <summary>The private key, unencrypted PKCS#8 PEM.</summary>
    public string PrivateKeyPem { get; }

    /// <summary>Subject common name (for an SAE certificate: the SAE ID).</summary>
    public string CommonName => Certificate.GetNameInfo(X509NameType.SimpleName, false);

    /// <summary>SHA-1 thumbprint, upper-case hex.</summary>
    public string Thumbprint => Certificate.Thumbprint;

    /// <summary>PKCS#12 bytes; <paramref name="password"/> null or empty for none (3DES/SHA-1, widely loadable).</summary>
    public byte[] ExportPfx(string? password = null)
        => Certificate.Export(X509ContentType.Pkcs12, string.IsNullOrEmpty(password) ? null : password);

    /// <summary>
    /// Writes <c>&lt;baseName&gt;.crt.pem</c>, <c>&lt;baseName&gt;.key.pem</c>, <c>&lt;baseName&gt;.pfx</c> and, when
    /// <paramref name="pfxPassword"/> is given, <c>&lt;baseName&gt;.pw.pfx</c> to <paramref name="directory"/>.
    /// Files holding the private key are owner-only on Unix.
    /// </summary>
    public TestCertificateFiles WriteFiles(string directory, string baseName, string? pfxPassword = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(baseName);
        Directory.CreateDirectory(directory);
        var certPath = Path.Combine(directory, baseName + ".crt.pem");
        var keyPath = Path.Combine(directory, baseName + ".key.pem");
        var pfxPath = Path.Combine(directory, baseName + ".pfx");
        File.WriteAllText(certPath, CertificatePem);
        WritePrivate(keyPath, System.Text.Encoding.ASCII.GetBytes(PrivateKeyPem));
        WritePrivate(pfxPath, ExportPfx(null));
        string? pwPath = null;
        if (!string.IsNullOrEmpty(pfxPassword))
        {
            pwPath = Path.Combine(directory, baseName + ".pw.pfx");
            WritePrivate(pwPath, ExportPfx(pfxPassword));
        }

        return new TestCertificateFiles(certPath, keyPath, pfxPath, pwPath);
    }

    /// <inheritdoc />
    public void Dispose() => Certificate.Dispose();

    internal static TestCertificate FromEphemeral(X509Certificate2 withKey)
    {
        var certPem = withKey.ExportCertificatePem() + "\n";
        string keyPem;
        using (var rsa = withKey.GetRSAPrivateKey())
        using (var ecdsa = withKey.GetECDsaPrivateKey())
        {
            AsymmetricAlgorithm key = (AsymmetricAlgorithm?)rsa ?? ecdsa ?? throw new InvalidOperationException("certificate has no private key");
            keyPem = key.ExportPkcs8PrivateKeyPem() + "\n";
        }

        var pfx = withKey.Export(X509ContentType.Pkcs12);
        var reloaded = X509CertificateLoader.LoadPkcs12(pfx, null, X509KeyStorageFlags.Exportable);
        return new TestCertificate(reloaded, certPem, keyPem);
    }

    private static void WritePrivate(string path, byte[] content)
    {
        if (OperatingSystem.IsWindows())
        {
            File.WriteAllBytes(path, content);
            return;
        }

        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using (var stream = new FileStream(path, options))
        {
            stream.Write(content);
        }

        // UnixCreateMode applies only to new files; an existing file keeps its mode otherwise.
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
