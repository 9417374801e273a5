using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Threading.Tasks;
using QKDLite.Core.Configuration;
using QKDLite.TestKme;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>
/// Who may call what: the pair rules for master, slave, an SAE of another pair and an unrelated SAE
/// on every endpoint; refused handshakes without a certificate or with one from another CA; and the
/// three rules for naming the SAE in its certificate.
/// </summary>
[Collection(ServerCollection.Name)]
public class AuthorizationTests
{
    private readonly ServerFixture _server;

    public AuthorizationTests(ServerFixture server) => _server = server;

    public enum Caller
    {
        Master,
        Slave,
        OtherMaster,
        Unrelated,
    }

    /// <summary>Pairs: SAE-A -> SAE-B (pool-ab) and SAE-C -> SAE-A (pool-ca).</summary>
    public static TheoryData<Caller, string, string, int> Matrix => new()
    {
        // Status: the caller must belong to the pair named by (caller, path SAE), in either role.
        { Caller.Master, "GET", "SAE-B/status", 200 },
        { Caller.Slave, "GET", "SAE-A/status", 200 },
        { Caller.OtherMaster, "GET", "SAE-A/status", 200 },
        { Caller.Master, "GET", "SAE-C/status", 200 },
        { Caller.Slave, "GET", "SAE-B/status", 401 },
        { Caller.Master, "GET", "SAE-A/status", 401 },
        { Caller.OtherMaster, "GET", "SAE-B/status", 401 },
        { Caller.Unrelated, "GET", "SAE-B/status", 401 },
        { Caller.Unrelated, "GET", "SAE-A/status", 401 },
        // enc_keys: only the pair's master, naming its slave.
        { Caller.Master, "POST", "SAE-B/enc_keys", 200 },
        { Caller.Master, "GET", "SAE-B/enc_keys", 200 },
        { Caller.OtherMaster, "POST", "SAE-A/enc_keys", 200 },
        { Caller.Slave, "POST", "SAE-A/enc_keys", 401 },
        { Caller.Slave, "POST", "SAE-B/enc_keys", 401 },
        { Caller.Master, "POST", "SAE-C/enc_keys", 401 },
        { Caller.OtherMaster, "POST", "SAE-B/enc_keys", 401 },
        { Caller.Unrelated, "POST", "SAE-B/enc_keys", 401 },
        { Caller.Unrelated, "GET", "SAE-B/enc_keys", 401 },
        // dec_keys: only the pair's slave, naming its master.
        { Caller.Slave, "POST", "SAE-A/dec_keys", 200 },
        { Caller.Slave, "GET", "SAE-A/dec_keys", 200 },
        { Caller.Master, "POST", "SAE-C/dec_keys", 200 },
        { Caller.Master, "POST", "SAE-A/dec_keys", 401 },
        { Caller.Master, "POST", "SAE-B/dec_keys", 401 },
        { Caller.OtherMaster, "POST", "SAE-A/dec_keys", 401 },
        { Caller.Unrelated, "POST", "SAE-A/dec_keys", 401 },
        { Caller.Unrelated, "GET", "SAE-A/dec_keys", 401 },
        // Authorisation comes before the request form: an unauthorised caller learns nothing about it.
        { Caller.Unrelated, "PUT", "SAE-B/enc_keys", 401 },
        { Caller.Slave, "POST", "SAE-B/status", 401 },
    };

    private static TestCertificate Certificate(Caller caller) => caller switch
    {
        Caller.Master => Pki.Master,
        Caller.Slave => Pki.Slave,
        Caller.OtherMaster => Pki.OtherMaster,
        _ => Pki.Unrelated,
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Each_SAE_gets_only_what_its_pairs_allow(Caller caller, string method, string call, int expected)
    {
        var ab = _server.Refill(ServerFixture.PoolAB, 2, 256);
        var ca = _server.Refill(ServerFixture.PoolCA, 2, 128);
        var stored = _server.Material(ab.Concat(ca));
        using var client = _server.Client(Certificate(caller));
        var request = Request(method, call, call.StartsWith("SAE-C/", StringComparison.Ordinal) ? ca[0] : ab[0]);

        var answer = await client.SendAsync(request);

        answer.AssertStatus((HttpStatusCode)expected);
        if (expected == 401)
        {
            Assert.Equal(string.Empty, answer.Body);
            Assert.Equal(ab, _server.Store.List(ServerFixture.PoolAB).Select(k => k.Label));
            Assert.Equal(ca, _server.Store.List(ServerFixture.PoolCA).Select(k => k.Label));
        }
        else if (call.EndsWith("_keys", StringComparison.Ordinal))
        {
            var key = Assert.Single(answer.Keys);
            Assert.Equal(stored[key.Id], key.Key);
        }
    }

    private static HttpRequestMessage Request(string method, string call, string keyId)
    {
        var path = "api/v1/keys/" + call;
        if (method == "GET" && call.EndsWith("dec_keys", StringComparison.Ordinal)) path += "?key_ID=" + keyId;
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PUT")
        {
            var body = call.EndsWith("dec_keys", StringComparison.Ordinal) ? $$"""{"key_IDs":[{"key_ID":"{{keyId}}"}]}""" : "{}";
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }
        return request;
    }

    public static TheoryData<string> Calls => new() { "GET status", "POST enc_keys", "GET enc_keys", "POST dec_keys", "GET dec_keys" };

    [Theory]
    [MemberData(nameof(Calls))]
    public async Task Without_a_certificate_or_with_one_from_another_CA_the_handshake_is_refused(string call)
    {
        var labels = _server.Refill(ServerFixture.PoolAB, 2, 256);
        var (method, operation) = (call.Split(' ')[0], call.Split(' ')[1]);
        var path = (operation == "dec_keys" ? "SAE-A/" : "SAE-B/") + operation;
        using var expired = Pki.Ca.CreateClientCertificate(Pki.MasterId, DateTimeOffset.UtcNow.AddMinutes(-50), DateTimeOffset.UtcNow.AddMinutes(-5));
        var before = _server.AuditLines().Count;

        foreach (var certificate in new[] { null, Pki.WrongCa, expired, Pki.Server })
        {
            using var client = _server.Client(certificate);
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.SendAsync(Request(method, path, labels[0])));
        }

        Assert.Equal(labels, _server.Store.List(ServerFixture.PoolAB).Select(k => k.Label));
        Assert.Equal(before, _server.AuditLines().Count);
    }

    [Fact]
    public async Task Subject_common_name_rule_refuses_certificates_with_no_or_two_common_names()
    {
        _server.Refill(ServerFixture.PoolAB, 1, 256);
        using var noCn = CertificateMaker.Issue("O=QKDLite Tests", "urn:sae:SAE-A");
        using var twoCn = CertificateMaker.Issue("CN=SAE-A, CN=SAE-X, O=QKDLite Tests");
        using var plain = CertificateMaker.Issue("CN=SAE-A, O=QKDLite Tests");

        foreach (var certificate in new[] { noCn, twoCn })
        {
            using var client = _server.Client(certificate);
            var answer = await client.StatusAsync(Pki.SlaveId);
            answer.AssertStatus(HttpStatusCode.Unauthorized);
            Assert.Equal(string.Empty, answer.Body);
        }
        using var good = _server.Client(plain);
        (await good.StatusAsync(Pki.SlaveId)).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task URI_SAN_rule_names_the_SAE_by_its_one_URI()
    {
        _server.Refill("pool-uri", 2, 256);
        await using var server = await _server.StartServerAsync(s =>
        {
            s.SaeIdentity = SaeIdentitySource.UriSan;
            s.AuditLog = "audit-uri.log";
            s.Pairs = [new EtsiSaePair { MasterSaeId = "urn:sae:SAE-A", SlaveSaeId = "urn:sae:SAE-B", KeyId = "pool-uri", PeerKmeId = "KME-B" }];
        });
        var baseUri = new Uri($"https://127.0.0.1:{server.Port}/");
        using var master = CertificateMaker.Issue("CN=anything", "urn:sae:SAE-A");
        // Two URIs name no SAE, whichever comes first.
        using var masterFirst = CertificateMaker.Issue("CN=SAE-A", "urn:sae:SAE-A", "urn:sae:SAE-X");
        using var masterLast = CertificateMaker.Issue("CN=SAE-A", "urn:sae:SAE-X", "urn:sae:SAE-A");

        using (var client = _server.ClientAt(baseUri, master))
        {
            Assert.Single((await client.EncKeysAsync("urn:sae:SAE-B")).Keys);
        }
        foreach (var ambiguous in new[] { masterFirst, masterLast })
        {
            using var client = _server.ClientAt(baseUri, ambiguous);
            (await client.EncKeysAsync("urn:sae:SAE-B")).AssertStatus(HttpStatusCode.Unauthorized);
        }
        // A CN alone names nobody under this rule.
        using (var client = _server.ClientAt(baseUri, Pki.Master))
        {
            (await client.StatusAsync("urn:sae:SAE-B")).AssertStatus(HttpStatusCode.Unauthorized);
        }
        Assert.Equal(1, _server.Store.CountActiveKeys("pool-uri", 256));
    }

    [Fact]
    public async Task Thumbprint_rule_maps_SHA1_or_SHA256_thumbprints_to_SAE_IDs()
    {
        var labels = _server.Refill("pool-thumb", 3, 256);
        var sha256 = Pki.Slave.Certificate.GetCertHashString(HashAlgorithmName.SHA256);
        await using var server = await _server.StartServerAsync(s =>
        {
            s.SaeIdentity = SaeIdentitySource.Thumbprint;
            s.AuditLog = "audit-thumb.log";
            s.SaeThumbprints = new Dictionary<string, string>
            {
                [string.Join(":", Pki.Unrelated.Thumbprint.Chunk(2).Select(c => new string(c))).ToLowerInvariant()] = "appliance-1",
                [sha256] = "appliance-2",
            };
            s.Pairs = [new EtsiSaePair { MasterSaeId = "appliance-1", SlaveSaeId = "appliance-2", KeyId = "pool-thumb", PeerKmeId = "KME-B" }];
        });
        var baseUri = new Uri($"https://127.0.0.1:{server.Port}/");

        using (var master = _server.ClientAt(baseUri, Pki.Unrelated))
        {
            Assert.Equal(labels[0], Assert.Single((await master.EncKeysAsync("appliance-2")).Keys).Id);
            // One server plays both nodes here: the slave takes another key of the pool.
            using var slave = _server.ClientAt(baseUri, Pki.Slave);
            Assert.Equal(labels[1], Assert.Single((await slave.DecKeysAsync("appliance-1", labels[1])).Keys).Id);
        }
        // SAE-A's certificate is valid but its thumbprint is not listed; its CN counts for nothing here.
        using (var unlisted = _server.ClientAt(baseUri, Pki.Master))
        {
            (await unlisted.StatusAsync("appliance-2")).AssertStatus(HttpStatusCode.Unauthorized);
        }
        Assert.Equal([labels[2]], _server.Store.List("pool-thumb").Select(k => k.Label));
    }
}
