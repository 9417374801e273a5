using System;
using System.IO;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;

namespace QKDLite.EtsiServer.Tls;

/// <summary>Loads the server's TLS certificate and the client CA(s) named in the configuration.</summary>
internal static class CertificateFiles
{
    /// <summary>
    /// The server certificate with its private key: PEM with the key in <see cref="EtsiServerSettings.ServerCertificateKey"/>
    /// or in the same file, else PFX/PKCS#12 without password. Further certificates in a PEM file are the chain to send.
    /// </summary>
    public static (X509Certificate2 Certificate, X509Certificate2Collection Chain) LoadServerCertificate(EtsiServerSettings settings, string configurationFile)
    {
        var path = Existing(configurationFile, settings.ServerCertificate, "ServerCertificate");
        var keyPath = string.IsNullOrWhiteSpace(settings.ServerCertificateKey)
            ? null
            : Existing(configurationFile, settings.ServerCertificateKey, "ServerCertificateKey");
        try
        {
            X509Certificate2 certificate;
            var chain = new X509Certificate2Collection();
            if (keyPath is not null || IsPem(path))
            {
                certificate = X509Certificate2.CreateFromPemFile(path, keyPath);
                if (OperatingSystem.IsWindows())
                {
                    // SChannel refuses ephemeral keys: give the key a PKCS#12 home.
                    using var ephemeral = certificate;
                    certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
                }
                chain.ImportFromPemFile(path);
                // The first certificate of the file is the server's own; the rest form its chain.
                chain.RemoveAt(0);
            }
            else
            {
                certificate = X509CertificateLoader.LoadPkcs12FromFile(path, null);
            }
            if (!certificate.HasPrivateKey)
                throw Invalid(configurationFile, $"the server certificate '{path}' comes without its private key");
            return (certificate, chain);
        }
        catch (Exception e) when (e is CryptographicException or IOException or ArgumentException)
        {
            throw Invalid(configurationFile, $"the server certificate '{path}' could not be loaded ({e.GetType().Name}: {e.Message.TrimEnd('.')}); use a PEM certificate and key, or a PFX file without password", e);
        }
    }

    /// <summary>The client CA certificate(s): every certificate in the PEM file.</summary>
    public static X509Certificate2Collection LoadClientCas(EtsiServerSettings settings, string configurationFile)
    {
        var path = Existing(configurationFile, settings.ClientCaCertificate, "ClientCaCertificate");
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is CryptographicException or IOException)
        {
            throw Invalid(configurationFile, $"the client CA file '{path}' could not be read ({e.Message.TrimEnd('.')})", e);
        }
        if (roots.Count == 0)
            throw Invalid(configurationFile, $"the client CA file '{path}' holds no PEM certificate");
        return roots;
    }

    private static string Existing(string configurationFile, string? setting, string name)
    {
        if (string.IsNullOrWhiteSpace(setting)) throw Invalid(configurationFile, $"{name} is not set");
        var path = EtsiServerSettings.ResolvePath(configurationFile, setting!);
        if (!File.Exists(path)) throw Invalid(configurationFile, $"{name} '{path}' does not exist");
        return path;
    }

    private static bool IsPem(string path)
    {
        // PEM files may start with explanatory text ("Bag Attributes"); PFX files are binary DER.
        var start = new byte[4096];
        using var stream = File.OpenRead(path);
        var read = stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
        return System.Text.Encoding.ASCII.GetString(start[..read]).Contains("-----BEGIN", StringComparison.Ordinal);
    }

    private static QKDLiteException Invalid(string configurationFile, string why, Exception? inner = null) =>
        new(ErrorIds.EtsiServerCertificateInvalid, QKDLiteErrorCategory.InvalidData,
            $"The ETSI server of '{configurationFile}' cannot use its certificates: {why}.", configurationFile, inner);
}
