using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using QKDLite.TestKme;
using Xunit;

namespace QKDLite.TestKme.Tests;

/// <summary>The control endpoint and the executable mode that Pester tests use.</summary>
public sealed class ControlAndExecutableTests
{
    [Fact]
    public async Task Control_endpoint_sets_switches_and_pool_and_shows_the_request_log()
    {
        await using var pair = await Shared.StartPairAsync(control: true);
        using var control = new HttpClient { BaseAddress = pair.ControlUri };
        using var slave = new Sae(pair, pair.KmeB, Shared.SaeB);

        using (var put = await control.PutAsync("control/B/behaviour", Json("""{"Html401":true,"DelayMilliseconds":5}""")))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        Assert.True(pair.KmeB.Behaviour.Html401);
        Assert.Equal(5, pair.KmeB.Behaviour.DelayMilliseconds);
        Assert.False(pair.KmeA.Behaviour.Any);
        (await slave.StatusAsync("SAE-A")).AssertStatus(HttpStatusCode.Unauthorized);

        using (var bad = await control.PutAsync("control/B/behaviour", Json("""{"NoSuchSwitch":true}""")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        using (var pool = await control.PutAsync("control/pool", Json("""{"stored_key_count":7}""")))
        {
            Assert.Equal(7, JsonDocument.Parse(await pool.Content.ReadAsStringAsync()).RootElement.GetProperty("stored_key_count").GetInt32());
        }

        Assert.Equal(7, pair.Pool.StoredKeyCount);
        var log = JsonDocument.Parse(await control.GetStringAsync("control/B/requests")).RootElement;
        Assert.Equal(401, log[0].GetProperty("status").GetInt32());
        Assert.Equal("SAE-B", log[0].GetProperty("sae").GetString());

        using (var reset = await control.PostAsync("control/reset", null))
        {
            Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        }

        Assert.False(pair.KmeB.Behaviour.Any);
        Assert.Equal(1000, pair.Pool.StoredKeyCount);
        (await slave.StatusAsync("SAE-A")).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Executable_writes_kme_json_serves_the_listed_certificates_and_stops_when_stdin_closes()
    {
        var directory = Directory.CreateTempSubdirectory("qkdlite-testkme-");
        try
        {
            var dll = typeof(TestKmePair).Assembly.Location;
            var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { dll, "--dir", directory.FullName, "--max-seconds", "60", "--pfx-password", "pw-123", "--key-algorithm", "ecdsa" })
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start)!;
            try
            {
                using var ready = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                var line = await process.StandardOutput.ReadLineAsync(ready.Token);
                if (line is null || !line.StartsWith("READY ", StringComparison.Ordinal))
                {
                    process.Kill(entireProcessTree: true);
                    Assert.Fail($"no READY line: '{line}' {await process.StandardError.ReadToEndAsync(CancellationToken.None)}");
                }

                var manifestPath = line["READY ".Length..];
                Assert.Equal(Path.Combine(directory.FullName, "kme.json"), manifestPath);

                var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(manifestPath)).RootElement;
                var clients = manifest.GetProperty("clients");
                Assert.Equal("pw-123", manifest.GetProperty("pfxPassword").GetString());
                Assert.Equal("SAE-A", clients.GetProperty("wrong-ca").GetProperty("saeId").GetString());
                Assert.Equal("slave", clients.GetProperty("SAE-B").GetProperty("role").GetString());
                var kmeA = new Uri(manifest.GetProperty("kmeA").GetProperty("url").GetString()! + "/");
                var kmeB = new Uri(manifest.GetProperty("kmeB").GetProperty("url").GetString()! + "/");
                Assert.Equal("127.0.0.1", kmeA.Host);
                using var ca = X509CertificateLoader.LoadCertificateFromFile(manifest.GetProperty("caPem").GetString()!);

                // Master from the password-protected PFX, slave from the PEM pair, as the product's client loads them.
                using var saeA = X509CertificateLoader.LoadPkcs12FromFile(
                    clients.GetProperty("SAE-A").GetProperty("pfxWithPassword").GetString()!, "pw-123");
                using var saeB = X509Certificate2.CreateFromPemFile(
                    clients.GetProperty("SAE-B").GetProperty("certPem").GetString()!,
                    clients.GetProperty("SAE-B").GetProperty("keyPem").GetString()!);
                using var wrong = X509CertificateLoader.LoadPkcs12FromFile(clients.GetProperty("wrong-ca").GetProperty("pfx").GetString()!, null);
                using var master = TestKmeClient.CreateHttpClient(kmeA, ca, saeA);
                using var slave = TestKmeClient.CreateHttpClient(kmeB, ca, saeB);
                using var impostor = TestKmeClient.CreateHttpClient(kmeA, ca, wrong);

                var enc = JsonDocument.Parse(await master.GetStringAsync("api/v1/keys/SAE-B/enc_keys")).RootElement;
                var id = enc.GetProperty("keys")[0].GetProperty("key_ID").GetString();
                var dec = JsonDocument.Parse(await slave.GetStringAsync($"api/v1/keys/SAE-A/dec_keys?key_ID={id}")).RootElement;
                Assert.Equal(enc.GetProperty("keys")[0].GetProperty("key").GetString(), dec.GetProperty("keys")[0].GetProperty("key").GetString());
                await Assert.ThrowsAnyAsync<HttpRequestException>(() => impostor.GetAsync("api/v1/keys/SAE-B/status"));

                using var control = new HttpClient { BaseAddress = new Uri(manifest.GetProperty("controlUrl").GetString()! + "/") };
                using (await control.PutAsync("control/A/behaviour", Json("""{"Status504":true}""")))
                {
                }

                using (var refused = await master.GetAsync("api/v1/keys/SAE-B/status"))
                {
                    Assert.Equal(HttpStatusCode.GatewayTimeout, refused.StatusCode);
                }

                process.StandardInput.Close();
                using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await process.WaitForExitAsync(exit.Token);
                Assert.Equal(0, process.ExitCode);
            }
            finally
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
