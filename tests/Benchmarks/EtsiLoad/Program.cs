// A load generator for QKDLite_ETSI on loopback, bounded in count and time. Prints one JSON line.
//   pki    <dir>                                          CA, server (127.0.0.1) and SAE-A/SAE-B client certificates as PEM
//   status <url> <dir> <slave> <requests> <connections>   GET status over keep-alive mutual TLS
//   enc    <url> <dir> <slave> <keys> <connections>       POST enc_keys for one key per request until <keys> arrived
//   tls    <url> <dir> <slave> <profile> <handshakes> <requests> <connections>
//          through QKDLite's KME client with TLS profile Classical or Hybrid: <handshakes> status calls
//          each on a new connection (a full handshake each), then <requests> status calls over
//          <connections> keep-alive connections; reports both rates and the negotiated group
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

var mode = args[0];
if (mode == "pki")
{
    WritePki(args[1]);
    Console.WriteLine("{\"mode\":\"pki\"}");
    return;
}
var (url, dir, slave) = (args[1].TrimEnd('/'), args[2], args[3]);
if (mode == "tls")
{
    await TlsComparison.RunAsync(url, dir, slave, Enum.Parse<QKDLite.Core.Tls.TlsProfile>(args[4]), int.Parse(args[5]), int.Parse(args[6]), int.Parse(args[7]));
    return;
}
var total = int.Parse(args[4]);
var connections = int.Parse(args[5]);
using var client = Client(dir, connections);
var target = mode == "status" ? $"{url}/api/v1/keys/{Uri.EscapeDataString(slave)}/status" : $"{url}/api/v1/keys/{Uri.EscapeDataString(slave)}/enc_keys";

// Warm-up (untimed): connections, TLS sessions and JIT on both sides.
await Run(Math.Min(200, total / 5), connections, target, mode, client, new List<double>());

var latencies = new List<double>(total);
var timer = Stopwatch.StartNew();
await Run(total, connections, target, mode, client, latencies);
timer.Stop();
latencies.Sort();
double P(double q) => latencies[Math.Min(latencies.Count - 1, (int)(latencies.Count * q))];
Console.WriteLine(JsonSerializer.Serialize(new { mode, count = total, ms = timer.Elapsed.TotalMilliseconds, perSecond = total / timer.Elapsed.TotalSeconds, p50 = P(0.5), p99 = P(0.99) }));

static async Task Run(int count, int connections, string target, string mode, HttpClient client, List<double> latencies)
{
    var next = 0;
    using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(5));
    var workers = Enumerable.Range(0, connections).Select(async _ =>
    {
        var mine = new List<double>();
        while (Interlocked.Increment(ref next) <= count)
        {
            var started = Stopwatch.GetTimestamp();
            using var request = mode == "status"
                ? new HttpRequestMessage(HttpMethod.Get, target)
                : new HttpRequestMessage(HttpMethod.Post, target) { Content = new StringContent("{\"number\":1}", Encoding.UTF8, "application/json") };
            using var response = await client.SendAsync(request, stop.Token);
            var body = await response.Content.ReadAsByteArrayAsync(stop.Token);
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{target} answered {(int)response.StatusCode}");
            CryptographicOperations.ZeroMemory(body);
            mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        return mine;
    }).ToList();
    foreach (var worker in workers) latencies.AddRange(await worker);
}

static HttpClient Client(string dir, int connections)
{
    var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(dir, "ca.crt.pem")));
    var handler = new SocketsHttpHandler
    {
        MaxConnectionsPerServer = connections,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificates = new X509CertificateCollection { X509Certificate2.CreateFromPemFile(Path.Combine(dir, "SAE-A.crt.pem"), Path.Combine(dir, "SAE-A.key.pem")) },
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return certificate is X509Certificate2 server && chain.Build(server);
            },
        },
    };
    return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
}

static void WritePki(string dir)
{
    Directory.CreateDirectory(dir);
    using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    var caRequest = new CertificateRequest("CN=QKDLite benchmark CA", caKey, HashAlgorithmName.SHA256);
    caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
    caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
    var from = DateTimeOffset.UtcNow.AddHours(-1);
    using var ca = caRequest.CreateSelfSigned(from, from.AddDays(2));
    File.WriteAllText(Path.Combine(dir, "ca.crt.pem"), ca.ExportCertificatePem());
    Issue(dir, ca, "server", "KME-BENCH", server: true, from);
    Issue(dir, ca, "SAE-A", "SAE-A", server: false, from);
    Issue(dir, ca, "SAE-B", "SAE-B", server: false, from);
}

static void Issue(string dir, X509Certificate2 ca, string file, string name, bool server, DateTimeOffset from)
{
    using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
    request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
    request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2") }, false));
    if (server)
    {
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
    }
    var serial = RandomNumberGenerator.GetBytes(16);
    serial[0] &= 0x7F;
    using var issued = request.Create(ca, from, from.AddDays(1), serial);
    File.WriteAllText(Path.Combine(dir, file + ".crt.pem"), issued.ExportCertificatePem());
    var keyPath = Path.Combine(dir, file + ".key.pem");
    File.WriteAllText(keyPath, "");
    if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
}
