using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Security;
using System.Net.Sockets;
using System.Reflection;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using QKDLite.Core.Errors;

namespace QKDLite.Core.Tls;

/// <summary>What to offer a TLS endpoint when testing it.</summary>
public sealed class TlsProbeRequest
{
    /// <summary>Host name or address.</summary>
    public string Host { get; set; } = string.Empty;
    /// <summary>TCP port.</summary>
    public int Port { get; set; } = 443;
    /// <summary>The profile to offer with.</summary>
    public TlsProfile Profile { get; set; } = TlsProfile.Hybrid;
    /// <summary>Post-quantum groups to offer (BouncyCastle codes), most preferred first; empty: the default group.</summary>
    public IReadOnlyList<int> Groups { get; set; } = Array.Empty<int>();
    /// <summary>The CA the server certificate must chain to; null: the machine's trusted roots.</summary>
    public X509Certificate2? Ca { get; set; }
    /// <summary>Client certificate with its private key, or null.</summary>
    public X509Certificate2? ClientCertificate { get; set; }
    /// <summary>Report on an untrusted certificate instead of refusing it.</summary>
    public bool SkipCertificateCheck { get; set; }
    /// <summary>Time allowed for connection and handshake.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>The KME configuration name, for the report.</summary>
    public string? Kme { get; set; }
}

/// <summary>Connects to a TLS endpoint, runs the handshake, and reports what was negotiated; sends no application data.</summary>
public static class TlsEndpointProbe
{
    /// <summary>Tests the endpoint; failures are <see cref="QKDLiteException"/>s with specific error ids.</summary>
    public static TlsEndpointReport Test(TlsProbeRequest request, CancellationToken cancellation = default)
    {
        var where = $"{request.Host}:{request.Port}";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(request.Timeout);
        try
        {
            return request.Profile == TlsProfile.Classical
                ? ClassicalAsync(request, where, timeout.Token).GetAwaiter().GetResult()
                : PostQuantumAsync(request, where, timeout.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            throw new QKDLiteException(ErrorIds.TlsEndpointTimeout, QKDLiteErrorCategory.ResourceUnavailable,
                $"{where} did not complete the TLS handshake within {request.Timeout.TotalSeconds:0.#} s.", where);
        }
        catch (TlsConnectException e)
        {
            throw e.Failure switch
            {
                TlsConnectFailure.Unreachable => new QKDLiteException(ErrorIds.TlsEndpointUnreachable, QKDLiteErrorCategory.ResourceUnavailable, Sentence(e.Message), where, e),
                TlsConnectFailure.ServerCertificateUntrusted => Untrusted(e.Message, where, e),
                TlsConnectFailure.PostQuantumRefused => new QKDLiteException(ErrorIds.TlsPostQuantumRefused, QKDLiteErrorCategory.SecurityError, Sentence(e.Message), where, e),
                _ => new QKDLiteException(ErrorIds.TlsHandshakeFailed, QKDLiteErrorCategory.SecurityError, Sentence(e.Message), where, e),
            };
        }
    }

    private static async Task<TlsEndpointReport> PostQuantumAsync(TlsProbeRequest request, string where, CancellationToken cancellation)
    {
        ConnectCallbackHandler.EnsureSupported("Test-TlsEndpoint", request.Profile);
        var credentials = request.ClientCertificate is null ? null : BcClientCredentials.From(request.ClientCertificate, where);
        var groups = request.Groups.Count > 0 ? request.Groups : new[] { Org.BouncyCastle.Tls.NamedGroup.X25519MLKEM768 };
        var options = new TlsClientOptions(request.Profile, groups, credentials,
            (server, intermediates, host) => Problem(server, intermediates, host, request.Ca), !request.SkipCertificateCheck);
        var (stream, client) = await HybridTlsConnector.ConnectAsync(request.Host, request.Port, options, cancellation).ConfigureAwait(false);
        using (stream)
        {
            var negotiated = client.Negotiated!;
            var report = Report(request, where, client.ServerCertificate!, client.CertificateProblem is null, null);
            report.Protocol = negotiated.Protocol ?? string.Empty;
            report.Group = negotiated.Group;
            report.PostQuantum = negotiated.PostQuantum;
            report.CipherSuite = negotiated.CipherSuite;
            report.ClientCertificateRequested = client.ClientCertificateRequested;
            return report;
        }
    }

    private static async Task<TlsEndpointReport> ClassicalAsync(TlsProbeRequest request, string where, CancellationToken cancellation)
    {
        using var tcp = new TcpClient();
        using (cancellation.Register(() => tcp.Dispose()))
        {
            try
            {
                await tcp.ConnectAsync(request.Host, request.Port).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                cancellation.ThrowIfCancellationRequested();
                throw new TlsConnectException(TlsConnectFailure.Unreachable, $"{where} could not be reached: {e.Message}", e);
            }
            X509Certificate2? server = null;
            string? problem = null;
            using var ssl = new SslStream(tcp.GetStream(), false, (_, certificate, chain, errors) =>
            {
                if (certificate is null) return false;
                server = new X509Certificate2(certificate.GetRawCertData());
                var intermediates = chain?.ChainElements.Cast<X509ChainElement>().Skip(1).Select(e => e.Certificate).ToList() ?? new List<X509Certificate2>();
                problem = Problem(server, intermediates, request.Host, request.Ca);
                return problem is null || request.SkipCertificateCheck;
            });
            var clientCertificates = new X509CertificateCollection();
            if (request.ClientCertificate is not null) clientCertificates.Add(request.ClientCertificate);
            try
            {
                await ssl.AuthenticateAsClientAsync(request.Host, clientCertificates, SslProtocols.Tls12 | (SslProtocols)12288, false).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AuthenticationException or IOException or ObjectDisposedException)
            {
                cancellation.ThrowIfCancellationRequested();
                if (problem is not null) throw new TlsConnectException(TlsConnectFailure.ServerCertificateUntrusted, $"the server certificate of {where} is not trusted: {problem}", e);
                throw new TlsConnectException(TlsConnectFailure.HandshakeFailed, $"the TLS handshake with {where} failed: {e.InnerException?.Message ?? e.Message}", e);
            }
            var report = Report(request, where, server!, problem is null, null);
            report.Protocol = ssl.SslProtocol switch { SslProtocols.Tls12 => "TLS 1.2", (SslProtocols)12288 => "TLS 1.3", var other => other.ToString() };
            // NegotiatedCipherSuite is .NET Core 3.0+, outside netstandard2.0.
            report.CipherSuite = typeof(SslStream).GetProperty("NegotiatedCipherSuite")?.GetValue(ssl)?.ToString();
            return report;
        }
    }

    private static TlsEndpointReport Report(TlsProbeRequest request, string where, X509Certificate2 server, bool trusted, bool? requested) => new()
    {
        Endpoint = where,
        Kme = request.Kme,
        TlsProfile = request.Profile,
        ServerCertificateSubject = server.Subject,
        ServerCertificateIssuer = server.Issuer,
        ServerCertificateThumbprint = server.Thumbprint,
        ServerCertificateNotAfter = server.NotAfter.ToUniversalTime(),
        HostNameMatches = ConnectCallbackHandler.NamesHostOrNull(server, request.Host) ?? false,
        ChainsToCa = request.Ca is null ? null : Kme.KmeTls.ChainsTo(server, Array.Empty<X509Certificate2>(), request.Ca),
        CertificateTrusted = trusted,
        ClientCertificateRequested = requested,
    };

    /// <summary>Null when the certificate names the host and chains to the CA (or the machine's roots without one); else why not.</summary>
    private static string? Problem(X509Certificate2 server, IReadOnlyList<X509Certificate2> intermediates, string host, X509Certificate2? ca)
    {
        if (ConnectCallbackHandler.NamesHostOrNull(server, host) == false)
            return $"its certificate '{server.Subject}' does not name the host '{host}'";
        if (ca is not null)
            return Kme.KmeTls.ChainsTo(server, intermediates, ca) ? null : $"its certificate '{server.Subject}' (issuer '{server.Issuer}') does not chain to the CA '{ca.Subject}'";
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        foreach (var intermediate in intermediates) chain.ChainPolicy.ExtraStore.Add(intermediate);
        return chain.Build(server) ? null : $"its certificate '{server.Subject}' (issuer '{server.Issuer}') does not chain to a root this machine trusts";
    }

    private static string Sentence(string text) => char.ToUpperInvariant(text[0]) + text.Substring(1) + ".";

    private static QKDLiteException Untrusted(string message, string where, Exception inner) =>
        new(ErrorIds.TlsEndpointCertificateUntrusted, QKDLiteErrorCategory.SecurityError,
            Sentence(message) + " Give the CA it chains to with -CaCertificate, or add -SkipCertificateCheck to see what it negotiates anyway.", where, inner);
}
