using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading.Tasks;
using QKDLite.Core.Tls;
using QKDLite.EtsiServer.Hosting;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>A fact that is skipped, saying why, when Debian's Chromium is not installed.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (ChromiumTests.Executable is null)
            Skip = "Chromium is not installed (apt-get install -y chromium): no independent post-quantum TLS client to test with";
    }
}

/// <summary>
/// An independent client: Debian's headless Chromium, whose TLS (BoringSSL) offers X25519MLKEM768,
/// against a Hybrid listener. Headless Chromium cannot present a client certificate without a
/// certificate database and an auto-select policy, so the server refuses it, as it refuses any
/// client without one; the server's log of that refusal names the key exchange the two agreed on
/// first, which is what this test is about. (The listener runs exactly as in production: no
/// optional-certificate mode exists.)
/// </summary>
[Collection(HybridServerCollection.Name)]
public sealed class ChromiumTests
{
    private readonly HybridServerFixture _server;

    public ChromiumTests(HybridServerFixture server) => _server = server;

    internal static string? Executable =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);

    [ChromiumFact]
    public async Task Chromium_negotiates_X25519MLKEM768_with_a_Hybrid_listener()
    {
        var logs = new LogCollector();
        await using var host = await EtsiServerHost.StartAsync(new EtsiServerHostOptions
        {
            Settings = _server.NewSettings(s =>
            {
                s.TlsProfile = TlsProfile.Hybrid;
                s.AuditLog = "audit-chromium.log";
            }),
            ConfigurationFile = _server.ConfigurationFile,
            KeyStore = _server.Store,
            ConsoleLogging = false,
            HandleSignals = false,
            LoggerProvider = logs,
        });
        var spki = Convert.ToBase64String(SHA256.HashData(Pki.Server.Certificate.PublicKey.ExportSubjectPublicKeyInfo()));
        var profile = Directory.CreateTempSubdirectory("qkdlite-chromium-").FullName;
        try
        {
            var start = new ProcessStartInfo(Executable!)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                $"--user-data-dir={profile}", $"--ignore-certificate-errors-spki-list={spki}",
                "--dump-dom", $"https://127.0.0.1:{host.Port}/api/v1/keys/{Pki.SlaveId}/status",
            })
                start.ArgumentList.Add(argument);
            using var chromium = Process.Start(start)!;
            var output = chromium.StandardOutput.ReadToEndAsync();
            var errors = chromium.StandardError.ReadToEndAsync();
            using (var timeout = new System.Threading.CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                try
                {
                    await chromium.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    chromium.Kill(entireProcessTree: true);
                    await chromium.WaitForExitAsync();
                }
            }
            await Task.WhenAll(output, errors);

            var refused = logs.Lines.Where(l => l.Contains("Refused a TLS handshake", StringComparison.Ordinal)).ToList();
            Assert.True(refused.Count > 0, "the server saw no handshake from Chromium; its output: " + errors.Result);
            Assert.All(refused, line =>
            {
                Assert.Contains("the client presented no certificate", line);
                Assert.Contains("(key exchange: X25519MLKEM768)", line);
            });
        }
        finally
        {
            Directory.Delete(profile, true);
        }
    }
}
