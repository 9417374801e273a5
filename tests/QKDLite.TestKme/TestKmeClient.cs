using System;
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace QKDLite.TestKme;

/// <summary>
/// Plain HTTP clients for a test KME: mutual TLS with an SAE client certificate, and the server
/// certificate checked against the test CA (custom root trust) plus the host name.
/// </summary>
public static class TestKmeClient
{
    /// <summary>
    /// A handler that presents <paramref name="clientCertificate"/> (none if null) and trusts only
    /// <paramref name="caCertificate"/> for the server. No connection pooling surprises: each handler is
    /// independent.
    /// </summary>
    public static SocketsHttpHandler CreateHandler(X509Certificate2 caCertificate, X509Certificate2? clientCertificate)
    {
        ArgumentNullException.ThrowIfNull(caCertificate);
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }

        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            // Chain errors are expected (the test CA is in no system store): check the chain ourselves.
            if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(caCertificate);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.DisableCertificateDownloads = true;
            chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1"));
            var server = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            try
            {
                return chain.Build(server)
                    && chain.ChainElements[^1].Certificate.RawDataMemory.Span.SequenceEqual(caCertificate.RawDataMemory.Span);
            }
            finally
            {
                if (!ReferenceEquals(server, certificate))
                {
                    server.Dispose();
                }
            }
        };
        return handler;
    }

    /// <summary>An <see cref="HttpClient"/> for <paramref name="baseUri"/> (default timeout 10 s).</summary>
    public static HttpClient CreateHttpClient(
        Uri baseUri, X509Certificate2 caCertificate, X509Certificate2? clientCertificate, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(baseUri);
        return new HttpClient(CreateHandler(caCertificate, clientCertificate), disposeHandler: true)
        {
            BaseAddress = baseUri,
            Timeout = timeout ?? TimeSpan.FromSeconds(10),
        };
    }
}
