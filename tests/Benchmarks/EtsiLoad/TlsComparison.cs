using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using QKDLite.Core.Kme;
using QKDLite.Core.Tls;

/// <summary>
/// Full handshakes per second and keep-alive requests per second against QKDLite_ETSI, through
/// QKDLite's own TLS clients: the platform's SslStream for Classical, the KME client's BouncyCastle
/// connector for Hybrid; keep-alive requests through the KME client itself.
/// </summary>
internal static class TlsComparison
{
    public static async Task RunAsync(string url, string dir, string slave, TlsProfile profile, int handshakes, int requests, int connections)
    {
        KmeSettings Settings() => new()
        {
            Name = "bench",
            Urls = [url],
            SaeId = "SAE-A",
            ClientCertificate = Path.Combine(dir, "SAE-A.crt.pem"),
            ClientKey = Path.Combine(dir, "SAE-A.key.pem"),
            CaCertificate = Path.Combine(dir, "ca.crt.pem"),
            TlsProfile = profile,
            TimeoutSeconds = 30,
            Rounds = 1,
        };
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        string? group = null;

        // Full handshakes: a new connection for every call, each carrying one status request, with the
        // certificates loaded once, so that only connection, handshake and request are timed.
        var uri = new Uri(url);
        var request = Encoding.ASCII.GetBytes($"GET /api/v1/keys/{Uri.EscapeDataString(slave)}/status HTTP/1.1\r\nHost: {uri.Authority}\r\nConnection: close\r\n\r\n");
        using var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(dir, "ca.crt.pem")));
        using var clientCertificate = X509Certificate2.CreateFromPemFile(Path.Combine(dir, "SAE-A.crt.pem"), Path.Combine(dir, "SAE-A.key.pem"));
        var options = profile == TlsProfile.Classical ? null : new TlsClientOptions(profile, Settings().TlsGroupCodes(),
            BcClientCredentials.From(clientCertificate, "bench"), (server, _, _) => Chains(server, ca) ? null : "not from the benchmark CA");
        async Task OneHandshake()
        {
            Stream stream;
            TcpClient? tcp = null;
            if (options is null)
            {
                tcp = new TcpClient();
                await tcp.ConnectAsync(uri.Host, uri.Port, stop.Token);
                var ssl = new SslStream(tcp.GetStream());
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = uri.Host,
                    ClientCertificates = new X509CertificateCollection { clientCertificate },
                    RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is X509Certificate2 server && Chains(server, ca),
                }, stop.Token);
                stream = ssl;
            }
            else
            {
                var (bc, client) = await HybridTlsConnector.ConnectAsync(uri.Host, uri.Port, options, stop.Token);
                group ??= client.Negotiated?.Group;
                stream = bc;
            }
            await using (stream)
            {
                await stream.WriteAsync(request, stop.Token);
                var answer = new MemoryStream();
                await stream.CopyToAsync(answer, stop.Token);
                if (!Encoding.ASCII.GetString(answer.GetBuffer(), 0, 12).EndsWith("200", StringComparison.Ordinal))
                    throw new InvalidOperationException("status over a new connection did not answer 200");
            }
            tcp?.Dispose();
        }
        for (var i = 0; i < Math.Min(20, handshakes); i++) await OneHandshake();
        var handshakeTimer = Stopwatch.StartNew();
        for (var i = 0; i < handshakes; i++) await OneHandshake();
        handshakeTimer.Stop();

        // Keep-alive: one client per connection, each connection warmed before the clock starts.
        var clients = Enumerable.Range(0, connections).Select(_ => new EtsiKmeClient(Settings())).ToList();
        try
        {
            foreach (var client in clients) group ??= (await client.GetStatusAsync(slave, stop.Token)).TlsGroup;
            var next = 0;
            var requestTimer = Stopwatch.StartNew();
            await Task.WhenAll(clients.Select(async client =>
            {
                while (Interlocked.Increment(ref next) <= requests) await client.GetStatusAsync(slave, stop.Token);
            }));
            requestTimer.Stop();
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                mode = "tls",
                profile = profile.ToString(),
                group,
                handshakesPerSecond = handshakes / handshakeTimer.Elapsed.TotalSeconds,
                requestsPerSecond = requests / requestTimer.Elapsed.TotalSeconds,
            }));
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }
    }

    private static bool Chains(X509Certificate2 server, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(server);
    }
}
