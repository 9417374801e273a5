using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Security;
using System.Reflection;
using System.Security.Cryptography.X509Certificates;
using QKDLite.Core.Errors;

namespace QKDLite.Core.Kme;

/// <summary>
/// Mutual TLS towards a KME: the SAE's client certificate (PFX, or PEM certificate and key), and a
/// server check that accepts only certificates chaining to the configured CA, whatever the machine trusts.
/// </summary>
internal static class KmeTls
{
    /// <summary>
    /// The SAE's certificate with its private key. <paramref name="exportable"/>: the key must leave the
    /// platform for BouncyCastle's TLS (Hybrid and PostQuantumOnly), so a PFX is loaded exportable.
    /// </summary>
    public static X509Certificate2 LoadClientCertificate(KmeSettings settings, bool exportable = false)
    {
        var path = settings.ClientCertificate;
        if (path.StartsWith(StorePrefix, StringComparison.OrdinalIgnoreCase)) return FromStore(settings, path.Substring(StorePrefix.Length));
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
            throw Invalid(settings, $"the client certificate file '{path}' does not exist");
        try
        {
            if (settings.ClientKey is not null)
            {
                // X509Certificate2.CreateFromPemFile is .NET 5+: reached by reflection from netstandard2.0.
                var fromPem = typeof(X509Certificate2).GetMethod("CreateFromPemFile", new[] { typeof(string), typeof(string) })
                    ?? throw Invalid(settings, "PEM client certificates need PowerShell 7; use a PFX file here");
                return (X509Certificate2)fromPem.Invoke(null, new object[] { path, settings.ClientKey })!;
            }
            var password = settings.ClientCertificatePasswordVariable is null ? null : Environment.GetEnvironmentVariable(settings.ClientCertificatePasswordVariable);
            return new X509Certificate2(path, password, X509KeyStorageFlags.DefaultKeySet | (exportable ? X509KeyStorageFlags.Exportable : 0));
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or TargetInvocationException or IOException)
        {
            throw Invalid(settings, $"the client certificate '{path}' could not be loaded: {(e.InnerException ?? e).Message}", e);
        }
    }

    /// <summary>"cert:&lt;thumbprint&gt;": a certificate with its private key in the user's or machine's personal store.</summary>
    public const string StorePrefix = "cert:";

    /// <summary>
    /// The certificate store: the Windows certificate store on Windows; .NET keeps a per-user store on
    /// other systems too. CurrentUser\My is searched first, then LocalMachine\My.
    /// </summary>
    private static X509Certificate2 FromStore(KmeSettings settings, string thumbprint)
    {
        var wanted = new string(thumbprint.Where(char.IsLetterOrDigit).ToArray());
        foreach (var location in new[] { StoreLocation.CurrentUser, StoreLocation.LocalMachine })
        {
            try
            {
                using var store = new X509Store(StoreName.My, location);
                store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
                var found = store.Certificates.Find(X509FindType.FindByThumbprint, wanted, validOnly: false);
                foreach (var certificate in found)
                {
                    if (certificate.HasPrivateKey) return certificate;
                }
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                // That store does not exist here (LocalMachine\My on Linux): look in the next one.
            }
        }
        throw Invalid(settings, $"no certificate with thumbprint {wanted} and a private key is in CurrentUser\\My or LocalMachine\\My");
    }

    public static X509Certificate2 LoadCa(KmeSettings settings)
    {
        var path = settings.CaCertificate;
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
            throw Invalid(settings, $"the CA certificate file '{path}' does not exist");
        var text = File.ReadAllText(path);
        var begin = text.IndexOf("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal);
        var end = text.IndexOf("-----END CERTIFICATE-----", StringComparison.Ordinal);
        try
        {
            if (begin < 0 || end < begin) return new X509Certificate2(File.ReadAllBytes(path));
            var body = text.Substring(begin + 27, end - begin - 27);
            return new X509Certificate2(Convert.FromBase64String(new string(body.Where(c => !char.IsWhiteSpace(c)).ToArray())));
        }
        catch (Exception e) when (e is FormatException or System.Security.Cryptography.CryptographicException)
        {
            throw Invalid(settings, $"the CA certificate '{path}' is not a PEM or DER certificate", e);
        }
    }

    /// <summary>True when the server certificate names the host and chains to <paramref name="ca"/>.</summary>
    public static bool ServerIsTrusted(X509Certificate2? server, SslPolicyErrors errors, X509Certificate2 ca)
    {
        if (server is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0 || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0) return false;
        return ChainsTo(server, Array.Empty<X509Certificate2>(), ca);
    }

    /// <summary>
    /// The same check for a certificate received through BouncyCastle's TLS: null when it names
    /// <paramref name="host"/> and chains to <paramref name="ca"/>, else why not.
    /// </summary>
    public static string? ServerProblem(X509Certificate2 server, IReadOnlyList<X509Certificate2> intermediates, string host, X509Certificate2 ca)
    {
        if (!Tls.ConnectCallbackHandler.NamesHost(server, host))
            return $"its certificate '{server.Subject}' does not name the host '{host}'";
        if (!ChainsTo(server, intermediates, ca))
            return $"its certificate '{server.Subject}' (issuer '{server.Issuer}') does not chain to the CA '{ca.Subject}'";
        return null;
    }

    /// <summary>True when <paramref name="server"/> chains to <paramref name="ca"/>, whatever the machine trusts.</summary>
    public static bool ChainsTo(X509Certificate2 server, IReadOnlyList<X509Certificate2> intermediates, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
        chain.ChainPolicy.ExtraStore.Add(ca);
        foreach (var intermediate in intermediates) chain.ChainPolicy.ExtraStore.Add(intermediate);
        if (!chain.Build(server))
        {
            // Only an untrusted (our own) root is acceptable here.
            if (chain.ChainStatus.Any(s => s.Status != X509ChainStatusFlags.UntrustedRoot && s.Status != X509ChainStatusFlags.NoError)) return false;
        }
        var root = chain.ChainElements[chain.ChainElements.Count - 1].Certificate;
        return root.RawData.SequenceEqual(ca.RawData);
    }

    private static QKDLiteException Invalid(KmeSettings settings, string why, Exception? inner = null) =>
        new(ErrorIds.KmeConfigurationInvalid, QKDLiteErrorCategory.InvalidData, $"KME '{settings.Name}': {why}.", settings.Name, inner);
}
