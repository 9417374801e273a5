using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Authentication;
using System.Text;
using System.Threading.Tasks;
using Org.BouncyCastle.Tls;
using QKDLite.Core.Tls;
using QKDLite.EtsiServer.Hosting;
using QKDLite.TestKme;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>
/// The Hybrid and PostQuantumOnly listeners with BouncyCastle clients and the platform's own (OpenSSL
/// 3.0: classical only): which groups are negotiated, who is refused, and what the audit log records.
/// </summary>
[Collection(HybridServerCollection.Name)]
public sealed class PostQuantumTlsTests
{
    private readonly HybridServerFixture _server;

    public PostQuantumTlsTests(HybridServerFixture server) => _server = server;

    public static TheoryData<TlsProfile, string> ProfilesAndGroups => new()
    {
        { TlsProfile.Hybrid, "X25519MLKEM768" },
        { TlsProfile.Hybrid, "SecP256r1MLKEM768" },
        { TlsProfile.Hybrid, "SecP384r1MLKEM1024" },
        { TlsProfile.PostQuantumOnly, "X25519MLKEM768" },
        { TlsProfile.PostQuantumOnly, "SecP256r1MLKEM768" },
        { TlsProfile.PostQuantumOnly, "SecP384r1MLKEM1024" },
    };

    [Theory]
    [MemberData(nameof(ProfilesAndGroups))]
    public async Task Each_profile_serves_each_group_to_a_certified_client_and_refuses_one_without(TlsProfile profile, string group)
    {
        Assert.True(PostQuantumGroups.TryGetPostQuantum(group, out var code));
        await using var host = await _server.StartServerAsync(s =>
        {
            s.TlsProfile = profile;
            s.TlsGroups = [group];
            // Its own log: two servers appending to one file would overwrite each other's lines.
            s.AuditLog = $"audit-{Guid.NewGuid():N}.log";
        });

        var before = AuditLines(host).Length;
        using (var connection = await BcTls.ConnectAsync(host.Port, BcClientOffer.Hybrid(code, Pki.Master.Certificate)))
        {
            Assert.Equal(code, connection.Client.NegotiatedGroup);
            Assert.StartsWith("HTTP/1.1 200", await GetStatusAsync(connection));
        }
        Assert.Equal(group, AuditLineAfter(before, host).GetProperty("tlsGroup").GetString());

        await AssertRefusedAsync(host.Port, BcClientOffer.Hybrid(code, null));
    }

    [Fact]
    public async Task Under_Hybrid_a_client_with_an_early_x25519_share_is_moved_to_the_hybrid_group_it_lists()
    {
        // x25519 first in supported_groups and the only early key share: without the server's own
        // preference, x25519 would be taken at once.
        var offer = new BcClientOffer([NamedGroup.x25519, NamedGroup.X25519MLKEM768], [NamedGroup.x25519], ProtocolVersion.TLSv13.Only(), Pki.Master.Certificate);

        var before = AuditLines().Length;
        using var connection = await BcTls.ConnectAsync(_server.Server.Port, offer);

        Assert.Equal(NamedGroup.X25519MLKEM768, connection.Client.NegotiatedGroup);
        Assert.StartsWith("HTTP/1.1 200", await GetStatusAsync(connection));
        Assert.Equal("X25519MLKEM768", AuditLineAfter(before).GetProperty("tlsGroup").GetString());
    }

    [Fact]
    public async Task Hybrid_accepts_classical_clients_on_TLS_1_3_and_1_2_and_records_their_group()
    {
        var before = AuditLines().Length;
        using (var tls13 = await BcTls.ConnectAsync(_server.Server.Port, BcClientOffer.Classical(Pki.Master.Certificate)))
        {
            Assert.Equal(NamedGroup.x25519, tls13.Client.NegotiatedGroup);
            Assert.True(tls13.Client.NegotiatedVersion.Equals(ProtocolVersion.TLSv13));
            Assert.StartsWith("HTTP/1.1 200", await GetStatusAsync(tls13));
        }
        Assert.Equal("x25519", AuditLineAfter(before).GetProperty("tlsGroup").GetString());

        before = AuditLines().Length;
        var only12 = BcClientOffer.Classical(Pki.Master.Certificate) with { Versions = ProtocolVersion.TLSv12.Only() };
        using (var tls12 = await BcTls.ConnectAsync(_server.Server.Port, only12))
        {
            Assert.True(tls12.Client.NegotiatedVersion.Equals(ProtocolVersion.TLSv12));
            Assert.StartsWith("HTTP/1.1 200", await GetStatusAsync(tls12));
        }
        Assert.Equal("x25519", AuditLineAfter(before).GetProperty("tlsGroup").GetString());
    }

    [Fact]
    public async Task Hybrid_serves_the_platform_client_which_cannot_do_post_quantum_groups()
    {
        using var platform = new SaeClient(_server.BaseUri, Pki.Master);

        var before = AuditLines().Length;
        (await platform.StatusAsync(Pki.SlaveId)).AssertStatus(HttpStatusCode.OK);

        var line = AuditLineAfter(before);
        Assert.Equal("SAE-A", line.GetProperty("sae").GetString());
        // OpenSSL 3.0 offers x25519 first.
        Assert.Equal("x25519", line.GetProperty("tlsGroup").GetString());
    }

    [Fact]
    public async Task PostQuantumOnly_refuses_classical_clients_the_platform_one_and_TLS_1_2()
    {
        await using var host = await _server.StartServerAsync(s =>
        {
            s.TlsProfile = TlsProfile.PostQuantumOnly;
            s.AuditLog = "audit-pq-only.log";
        });
        var baseUri = new Uri($"https://127.0.0.1:{host.Port}/");

        await AssertRefusedAsync(host.Port, BcClientOffer.Classical(Pki.Master.Certificate));
        var only12 = BcClientOffer.Hybrid(NamedGroup.X25519MLKEM768, Pki.Master.Certificate) with
        {
            Versions = ProtocolVersion.TLSv12.Only(),
            Groups = [NamedGroup.X25519MLKEM768, NamedGroup.x25519],
        };
        await AssertRefusedAsync(host.Port, only12);
        using (var platform = new SaeClient(baseUri, Pki.Master))
        {
            var e = await Assert.ThrowsAsync<HttpRequestException>(() => platform.StatusAsync(Pki.SlaveId));
            Assert.IsType<AuthenticationException>(e.InnerException);
        }

        // The same listener serves a hybrid client.
        using var hybrid = _server.ClientAt(baseUri, Pki.Master.Certificate);
        (await hybrid.StatusAsync(Pki.SlaveId)).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_certificate_of_another_CA_is_refused_in_the_handshake()
    {
        await AssertRefusedAsync(_server.Server.Port, BcClientOffer.Hybrid(NamedGroup.X25519MLKEM768, Pki.WrongCa.Certificate));
    }

    [Fact]
    public async Task Listeners_of_several_profiles_serve_side_by_side_and_report_themselves()
    {
        await using var host = await _server.StartServerAsync(s =>
        {
            s.TlsProfile = TlsProfile.Classical;
            s.AuditLog = "audit-listeners.log";
            s.Listeners = [new() { Port = 0, TlsProfile = TlsProfile.PostQuantumOnly, TlsGroups = ["SecP384r1MLKEM1024", "X25519MLKEM768"] }];
        });

        Assert.Equal([TlsProfile.Classical, TlsProfile.PostQuantumOnly], host.Listeners.Select(l => l.Profile));
        Assert.All(host.Urls, url => Assert.StartsWith("https://127.0.0.1:", url));
        Assert.Equal(["SecP384r1MLKEM1024", "X25519MLKEM768"], host.Listeners[1].Groups);
        using (var platform = new SaeClient(new Uri(host.Listeners[0].Url + "/"), Pki.Master))
            (await platform.StatusAsync(Pki.SlaveId)).AssertStatus(HttpStatusCode.OK);
        using var pq = await BcTls.ConnectAsync(host.Listeners[1].Port, BcClientOffer.Hybrid(NamedGroup.X25519MLKEM768, Pki.Master.Certificate) with
        {
            Groups = [NamedGroup.X25519MLKEM768, NamedGroup.SecP384r1MLKEM1024],
        });
        // The server's order decides: its first group, through a HelloRetryRequest.
        Assert.Equal(NamedGroup.SecP384r1MLKEM1024, pq.Client.NegotiatedGroup);
        Assert.StartsWith("HTTP/1.1 200", await GetStatusAsync(pq));
    }

    private string[] AuditLines(EtsiServerHost? host = null)
    {
        var text = ServerFixture.ReadShared((host ?? _server.Server).AuditLogPath);
        return text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The first audit line after the first <paramref name="before"/>; the server writes it just after the answer, so wait for it briefly.</summary>
    private System.Text.Json.JsonElement AuditLineAfter(int before, EtsiServerHost? host = null)
    {
        var lines = AuditLines(host);
        for (var attempt = 0; lines.Length <= before && attempt < 100; attempt++)
        {
            System.Threading.Thread.Sleep(50);
            lines = AuditLines(host);
        }
        Assert.True(lines.Length > before, "no new audit line");
        return System.Text.Json.JsonDocument.Parse(lines[before]).RootElement.Clone();
    }

    /// <summary>
    /// The handshake is refused: under TLS 1.3 the client may believe it finished before the server's
    /// alert arrives, so the refusal can also surface on the first request.
    /// </summary>
    private static async Task AssertRefusedAsync(int port, BcClientOffer offer)
    {
        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            using var connection = await BcTls.ConnectAsync(port, offer);
            await GetStatusAsync(connection);
        });
    }

    /// <summary>One status request on the connection (keep-alive); returns the whole answer.</summary>
    internal static async Task<string> GetStatusAsync(BcTls.Connection connection)
    {
        var request = Encoding.ASCII.GetBytes($"GET /api/v1/keys/{Pki.SlaveId}/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        return await Task.Run(() =>
        {
            var stream = connection.Protocol.Stream;
            stream.Write(request, 0, request.Length);
            var answer = new StringBuilder();
            var buffer = new byte[4096];
            // Headers and the short JSON body; Content-Length tells when it is all there.
            while (true)
            {
                var read = stream.Read(buffer, 0, buffer.Length);
                if (read == 0) break;
                answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
                var text = answer.ToString();
                var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (end < 0) continue;
                var length = text.Split("\r\n").FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
                if (length is null || text.Length - end - 4 >= int.Parse(length["Content-Length:".Length..].Trim())) break;
            }
            return answer.ToString();
        });
    }
}
