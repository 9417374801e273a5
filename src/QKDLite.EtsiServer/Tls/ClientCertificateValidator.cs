using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace QKDLite.EtsiServer.Tls;

/// <summary>
/// Accepts an SAE client certificate only when it chains to one of the configured client CAs (custom
/// root trust: the machine's trust store plays no part), is within its validity period and is fit for
/// client authentication. Revocation is not checked (SAE PKIs are private and usually publish no CRLs).
/// </summary>
internal sealed class ClientCertificateValidator
{
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2", "Client Authentication");
    private readonly X509Certificate2Collection _roots;

    public ClientCertificateValidator(X509Certificate2Collection roots) => _roots = roots;

    /// <summary>
    /// True when <paramref name="certificate"/> is acceptable. <paramref name="presented"/> is the chain
    /// the TLS layer built; its intermediates (sent by the client) help build ours, its trust does not count.
    /// </summary>
    public bool IsValid(X509Certificate2 certificate, X509Chain? presented)
    {
        var intermediates = new List<X509Certificate2>();
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                if (!element.Certificate.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span))
                    intermediates.Add(element.Certificate);
            }
        }
        return IsValid(certificate, intermediates);
    }

    /// <summary>
    /// True when <paramref name="certificate"/> is acceptable; <paramref name="intermediates"/> are the
    /// further certificates the client sent (BouncyCastle's TLS hands them over as they came).
    /// </summary>
    public bool IsValid(X509Certificate2 certificate, IEnumerable<X509Certificate2> intermediates)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        chain.ChainPolicy.ApplicationPolicy.Add(ClientAuthentication);
        foreach (var intermediate in intermediates) chain.ChainPolicy.ExtraStore.Add(intermediate);
        try
        {
            return chain.Build(certificate);
        }
        catch (CryptographicException)
        {
            return false;
        }
        finally
        {
            foreach (var element in chain.ChainElements) element.Certificate.Dispose();
        }
    }
}
