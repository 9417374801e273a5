using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;
using QKDLite.TestKme;
using Xunit;

namespace QKDLite.TestKme.Tests;

/// <summary>The test KME pair follows ETSI GS QKD 014 v1.1.1 when no switch is on.</summary>
public sealed class ProtocolTests
{
    private static readonly string[] StatusFields =
    [
        "source_KME_ID", "target_KME_ID", "master_SAE_ID", "slave_SAE_ID", "key_size", "stored_key_count",
        "max_key_count", "max_key_per_request", "max_key_size", "min_key_size", "max_SAE_ID_count",
    ];

    [Fact]
    public async Task Status_has_exactly_the_standard_fields()
    {
        await using var pair = await Shared.StartPairAsync(poolSize: 500);
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);

        var answer = await master.StatusAsync("SAE-B");

        answer.AssertStatus(HttpStatusCode.OK);
        Assert.Equal("application/json", answer.ContentHeaders.ContentType?.MediaType);
        var status = answer.Json;
        Assert.Equal(StatusFields.Order(), status.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal("KME-A", status.GetProperty("source_KME_ID").GetString());
        Assert.Equal("KME-B", status.GetProperty("target_KME_ID").GetString());
        Assert.Equal("SAE-A", status.GetProperty("master_SAE_ID").GetString());
        Assert.Equal("SAE-B", status.GetProperty("slave_SAE_ID").GetString());
        Assert.Equal(256, status.GetProperty("key_size").GetInt32());
        Assert.Equal(500, status.GetProperty("stored_key_count").GetInt32());
        Assert.Equal(500, status.GetProperty("max_key_count").GetInt32());
        Assert.Equal(128, status.GetProperty("max_key_per_request").GetInt32());
        Assert.Equal(1024, status.GetProperty("max_key_size").GetInt32());
        Assert.Equal(64, status.GetProperty("min_key_size").GetInt32());
        Assert.Equal(0, status.GetProperty("max_SAE_ID_count").GetInt32());

        // KME B describes itself from its side.
        using var slave = new Sae(pair, pair.KmeB, Shared.SaeB);
        var statusB = (await slave.StatusAsync("SAE-A")).Json;
        Assert.Equal("KME-B", statusB.GetProperty("source_KME_ID").GetString());
        Assert.Equal("KME-A", statusB.GetProperty("target_KME_ID").GetString());
    }

    [Fact]
    public async Task Enc_keys_POST_delivers_the_requested_keys_and_dec_keys_POST_the_same_bytes_at_the_other_KME()
    {
        await using var pair = await Shared.StartPairAsync(poolSize: 100);
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);
        using var slave = new Sae(pair, pair.KmeB, Shared.SaeB);

        var enc = await master.EncKeysAsync("SAE-B", """{"number":3,"size":512}""");

        enc.AssertStatus(HttpStatusCode.OK);
        Assert.True(enc.Headers.CacheControl?.NoStore);
        Assert.DoesNotContain("\\u", enc.Body, StringComparison.Ordinal); // base64 '+' and '/' written plainly
        Assert.Equal(["keys"], enc.Json.EnumerateObject().Select(p => p.Name));
        var keys = enc.Keys;
        Assert.Equal(3, keys.Count);
        Assert.All(keys, k => Assert.Equal(64, k.Key.Length));
        Assert.All(keys, k => Assert.True(Guid.TryParseExact(k.Id, "D", out _)));
        Assert.Equal(3, keys.Select(k => k.Id).Distinct().Count());
        Assert.Equal(97, pair.Pool.StoredKeyCount);

        var dec = await slave.DecKeysAsync("SAE-A", keys.Select(k => k.Id).Reverse().ToArray());

        dec.AssertStatus(HttpStatusCode.OK);
        Assert.True(dec.Headers.CacheControl?.NoStore);
        var fetched = dec.Keys.ToDictionary(k => k.Id, k => k.Key);
        Assert.Equal(3, fetched.Count);
        Assert.All(keys, k => Assert.Equal(k.Key, fetched[k.Id]));
        Assert.Equal(0, pair.Pool.PendingKeyCount);
    }

    [Fact]
    public async Task Enc_keys_POST_with_empty_object_gives_one_key_of_the_default_size()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);

        var enc = await master.EncKeysAsync("SAE-B", "{}");

        enc.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(32, Assert.Single(enc.Keys).Key.Length);
    }

    [Fact]
    public async Task Enc_keys_GET_without_and_with_number_and_size()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);

        var plain = await master.GetAsync("api/v1/keys/SAE-B/enc_keys");
        var sized = await master.GetAsync("api/v1/keys/SAE-B/enc_keys?number=2&size=128");
        var onlySize = await master.GetAsync("api/v1/keys/SAE-B/enc_keys?size=1024");

        plain.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(32, Assert.Single(plain.Keys).Key.Length);
        sized.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(2, sized.Keys.Count);
        Assert.All(sized.Keys, k => Assert.Equal(16, k.Key.Length));
        Assert.Equal(128, Assert.Single(onlySize.Keys).Key.Length);
    }

    [Theory]
    [InlineData("api/v1/keys/SAE-B/enc_keys?count=2")]
    [InlineData("api/v1/keys/SAE-B/enc_keys?number=1&number=2")]
    [InlineData("api/v1/keys/SAE-B/enc_keys?number=two")]
    public async Task Enc_keys_GET_accepts_only_number_and_size(string path)
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);

        var answer = await master.GetAsync(path);

        answer.AssertStatus(HttpStatusCode.BadRequest);
        Assert.Equal(EtsiMessages.BadRequestFormat, answer.Message);
    }

    [Fact]
    public async Task Dec_keys_GET_with_one_key_ID()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);
        using var slave = new Sae(pair, pair.KmeB, Shared.SaeB);
        var key = Assert.Single((await master.EncKeysAsync("SAE-B")).Keys);

        var dec = await slave.GetAsync($"api/v1/keys/SAE-A/dec_keys?key_ID={key.Id}");
        var twoIds = await slave.GetAsync($"api/v1/keys/SAE-A/dec_keys?key_ID={key.Id}&key_ID={Guid.NewGuid()}");
        var none = await slave.GetAsync("api/v1/keys/SAE-A/dec_keys");

        dec.AssertStatus(HttpStatusCode.OK);
        var fetched = Assert.Single(dec.Keys);
        Assert.Equal(key.Id, fetched.Id);
        Assert.Equal(key.Key, fetched.Key);
        twoIds.AssertStatus(HttpStatusCode.BadRequest);
        none.AssertStatus(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Dec_keys_replay_is_400_not_found()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);
        using var slave = new Sae(pair, pair.KmeB, Shared.SaeB);
        var id = Assert.Single((await master.EncKeysAsync("SAE-B")).Keys).Id;
        (await slave.DecKeysAsync("SAE-A", id)).AssertStatus(HttpStatusCode.OK);

        var replay = await slave.DecKeysAsync("SAE-A", id);
        var replayGet = await slave.GetAsync($"api/v1/keys/SAE-A/dec_keys?key_ID={id}");

        replay.AssertStatus(HttpStatusCode.BadRequest);
        Assert.Equal("one or more keys specified are not found on KME", replay.Message);
        replayGet.AssertStatus(HttpStatusCode.BadRequest);
        Assert.Equal(EtsiMessages.KeysNotFound, replayGet.Message);
    }

    [Fact]
    public async Task Dec_keys_is_all_or_nothing_and_unknown_or_foreign_IDs_are_not_found()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);
        using var slave = new Sae(pair, pair.KmeB, Shared.SaeB);
        using var slaveAtA = new Sae(pair, pair.KmeA, Shared.SaeB);
        var id = Assert.Single((await master.EncKeysAsync("SAE-B")).Keys).Id;

        var withUnknown = await slave.DecKeysAsync("SAE-A", id, Guid.NewGuid().ToString());
        var notUuid = await slave.DecKeysAsync("SAE-A", "not-a-uuid");
        var wrongMaster = await slave.DecKeysAsync("SAE-X", id);
        var atIssuingKme = await slaveAtA.DecKeysAsync("SAE-A", id);
        var duplicate = await slave.DecKeysAsync("SAE-A", id, id);

        foreach (var answer in new[] { withUnknown, notUuid, wrongMaster, atIssuingKme, duplicate })
        {
            answer.AssertStatus(HttpStatusCode.BadRequest);
            Assert.Equal(EtsiMessages.KeysNotFound, answer.Message);
        }

        // Nothing was consumed by the failed attempts.
        (await slave.DecKeysAsync("SAE-A", id)).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Dec_keys_by_an_SAE_that_is_not_the_slave_is_401_and_consumes_nothing()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);
        using var intruder = new Sae(pair, pair.KmeB, Shared.SaeX);
        using var slave = new Sae(pair, pair.KmeB, Shared.SaeB);
        var id = Assert.Single((await master.EncKeysAsync("SAE-B")).Keys).Id;

        var refused = await intruder.DecKeysAsync("SAE-A", id);

        refused.AssertStatus(HttpStatusCode.Unauthorized);
        Assert.DoesNotContain("key\"", refused.Body, StringComparison.Ordinal);
        (await slave.DecKeysAsync("SAE-A", id)).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Size_not_a_multiple_of_8_is_400_with_the_standard_message()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);

        var post = await master.EncKeysAsync("SAE-B", """{"size":100}""");
        var get = await master.GetAsync("api/v1/keys/SAE-B/enc_keys?size=257");

        post.AssertStatus(HttpStatusCode.BadRequest);
        Assert.Equal("size shall be a multiple of 8", post.Message);
        get.AssertStatus(HttpStatusCode.BadRequest);
        Assert.Equal("size shall be a multiple of 8", get.Message);
        Assert.Equal(1000, pair.Pool.StoredKeyCount);
    }

    [Theory]
    [InlineData("""{"number":129}""", "max_key_per_request")]
    [InlineData("""{"number":0}""", "number")]
    [InlineData("""{"size":56}""", "min_key_size")]
    [InlineData("""{"size":1032}""", "max_key_size")]
    [InlineData("""{"additional_slave_SAE_IDs":["SAE-X"]}""", "max_SAE_ID_count")]
    public async Task Requests_outside_the_advertised_limits_are_400(string request, string detail)
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);

        var answer = await master.EncKeysAsync("SAE-B", request);

        answer.AssertStatus(HttpStatusCode.BadRequest);
        Assert.Equal(EtsiMessages.ParametersOutsideLimits, answer.Message);
        Assert.Equal(detail, answer.Json.GetProperty("details")[0].EnumerateObject().Single().Name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"number":"2"}""")]
    [InlineData("""{"number":1.5}""")]
    [InlineData("""{"additional_slave_SAE_IDs":"SAE-X"}""")]
    public async Task Malformed_key_requests_are_400(string request)
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);

        var answer = await master.EncKeysAsync("SAE-B", request);

        answer.AssertStatus(HttpStatusCode.BadRequest);
        Assert.Equal(EtsiMessages.BadRequestFormat, answer.Message);
    }

    [Fact]
    public async Task Mandatory_extensions_are_refused_and_optional_ones_ignored()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);

        var mandatory = await master.EncKeysAsync("SAE-B", """{"extension_mandatory":[{"abc_route_type":"direct"}]}""");
        var optional = await master.EncKeysAsync("SAE-B", """{"extension_optional":[{"abc_max_age":30000}]}""");

        mandatory.AssertStatus(HttpStatusCode.BadRequest);
        Assert.Equal("not all extension_mandatory parameters are supported", mandatory.Message);
        optional.AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Multicast_keys_reach_each_named_slave_once()
    {
        await using var pair = await Shared.StartPairAsync(maxSaeIdCount: 1);
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);
        using var slaveB = new Sae(pair, pair.KmeB, Shared.SaeB);
        using var slaveX = new Sae(pair, pair.KmeB, Shared.SaeX);

        var key = Assert.Single((await master.EncKeysAsync("SAE-B", """{"additional_slave_SAE_IDs":["SAE-X"]}""")).Keys);

        Assert.Equal(key.Key, Assert.Single((await slaveB.DecKeysAsync("SAE-A", key.Id)).Keys).Key);
        Assert.Equal(1, pair.Pool.PendingKeyCount);
        Assert.Equal(key.Key, Assert.Single((await slaveX.DecKeysAsync("SAE-A", key.Id)).Keys).Key);
        Assert.Equal(0, pair.Pool.PendingKeyCount);
        (await slaveX.DecKeysAsync("SAE-A", key.Id)).AssertStatus(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Exhausted_pool_is_503_and_status_counts_down()
    {
        await using var pair = await Shared.StartPairAsync(poolSize: 3);
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);

        (await master.EncKeysAsync("SAE-B", """{"number":2}""")).AssertStatus(HttpStatusCode.OK);
        var tooMany = await master.EncKeysAsync("SAE-B", """{"number":2}""");
        var status = await master.StatusAsync("SAE-B");

        tooMany.AssertStatus(HttpStatusCode.ServiceUnavailable);
        Assert.Equal(EtsiMessages.InsufficientKeys, tooMany.Message);
        Assert.Equal(1, status.Json.GetProperty("stored_key_count").GetInt32());
        (await master.EncKeysAsync("SAE-B")).AssertStatus(HttpStatusCode.OK);
        (await master.EncKeysAsync("SAE-B")).AssertStatus(HttpStatusCode.ServiceUnavailable);
    }

    [Fact]
    public async Task Concurrent_requests_never_share_a_key()
    {
        await using var pair = await Shared.StartPairAsync(poolSize: 100);
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => master.EncKeysAsync("SAE-B", """{"number":5}""")));

        Assert.All(answers, a => a.AssertStatus(HttpStatusCode.OK));
        Assert.Equal(100, answers.SelectMany(a => a.Keys).Select(k => k.Id).Distinct().Count());
        Assert.Equal(0, pair.Pool.StoredKeyCount);
    }

    [Fact]
    public async Task SAE_IDs_in_the_path_are_URL_decoded_once()
    {
        await using var pair = await Shared.StartPairAsync();
        using var oddCertificate = Shared.Pki.CreateClientCertificate("SAE/B 2%");
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);
        using var oddSlave = new Sae(pair, pair.KmeB, oddCertificate);

        var status = await master.GetAsync("api/v1/keys/SAE%2FB%202%25/status");
        var key = Assert.Single((await master.PostAsync("api/v1/keys/SAE%2FB%202%25/enc_keys", "{}")).Keys);
        var dec = await oddSlave.DecKeysAsync("SAE-A", key.Id);

        Assert.Equal("SAE/B 2%", status.Json.GetProperty("slave_SAE_ID").GetString());
        dec.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(key.Key, Assert.Single(dec.Keys).Key);
    }

    [Fact]
    public async Task Wrong_methods_and_paths()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);

        var postStatus = await master.PostAsync("api/v1/keys/SAE-B/status", "{}");
        var putEnc = await master.SendAsync(new HttpRequestMessage(HttpMethod.Put, "api/v1/keys/SAE-B/enc_keys"));
        var unknown = await master.GetAsync("api/v1/keys/SAE-B/other");
        var v2 = await master.GetAsync("api/v2/keys/SAE-B/status");

        postStatus.AssertStatus(HttpStatusCode.MethodNotAllowed);
        putEnc.AssertStatus(HttpStatusCode.MethodNotAllowed);
        unknown.AssertStatus(HttpStatusCode.NotFound);
        v2.AssertStatus(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Each_request_is_logged_without_key_bytes()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);
        var enc = await master.EncKeysAsync("SAE-B", """{"number":1}""");
        var keyBase64 = enc.Json.GetProperty("keys")[0].GetProperty("key").GetString()!;

        var record = Assert.Single(pair.KmeA.Requests);

        Assert.Equal(("POST", "/api/v1/keys/SAE-B/enc_keys", "SAE-A", 200), (record.Method, record.RawTarget, record.SaeId, record.StatusCode));
        Assert.Equal("""{"number":1}""", record.RequestBody);
        Assert.DoesNotContain(keyBase64, JsonSerializer.Serialize(record), StringComparison.Ordinal);
        Assert.Empty(pair.KmeB.Requests);
    }
}
