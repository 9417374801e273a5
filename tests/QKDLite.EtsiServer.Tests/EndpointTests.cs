using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using QKDLite.Core.KeyStore;
using QKDLite.Core.Sources;
using QKDLite.EtsiServer.Protocol;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>Every call and form of the three endpoints over real mutual TLS, against the live key store.</summary>
[Collection(ServerCollection.Name)]
public class EndpointTests
{
    private readonly ServerFixture _server;

    public EndpointTests(ServerFixture server) => _server = server;

    private const string AB = ServerFixture.PoolAB;

    [Fact]
    public async Task Status_reports_the_pair_its_limits_and_the_live_count_to_master_and_slave()
    {
        var labels = _server.Refill(AB, 5, 256);
        _server.Store.CreateKeys(new NewKeysRequest(AB, 2, 512), new SystemRandomSource()).ToList();
        TokenBackdoor.CreatePendingKey(_server.Token.Settings, AB, 256);
        using var master = _server.Client(Pki.Master);
        using var slave = _server.Client(Pki.Slave);

        var status = await master.StatusAsync(Pki.SlaveId);

        status.AssertStatus(HttpStatusCode.OK);
        Assert.Equal("no-store", status.Headers.CacheControl?.ToString());
        Assert.Equal("application/json", status.ContentHeaders.ContentType?.MediaType);
        var json = status.Json;
        Assert.Equal("KME-A", json.GetProperty("source_KME_ID").GetString());
        Assert.Equal("KME-B", json.GetProperty("target_KME_ID").GetString());
        Assert.Equal(Pki.MasterId, json.GetProperty("master_SAE_ID").GetString());
        Assert.Equal(Pki.SlaveId, json.GetProperty("slave_SAE_ID").GetString());
        Assert.Equal(256, json.GetProperty("key_size").GetInt32());
        Assert.Equal(5, json.GetProperty("stored_key_count").GetInt32());
        Assert.Equal(RequestLimits.MaxKeyCount, json.GetProperty("max_key_count").GetInt32());
        Assert.Equal(ServerFixture.MaxKeysPerRequest, json.GetProperty("max_key_per_request").GetInt32());
        Assert.Equal(1024, json.GetProperty("max_key_size").GetInt32());
        Assert.Equal(64, json.GetProperty("min_key_size").GetInt32());
        Assert.Equal(0, json.GetProperty("max_SAE_ID_count").GetInt32());

        _server.Store.Remove(labels[0]);
        var fromSlave = await slave.StatusAsync(Pki.MasterId);
        fromSlave.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(Pki.MasterId, fromSlave.Json.GetProperty("master_SAE_ID").GetString());
        Assert.Equal(4, fromSlave.Json.GetProperty("stored_key_count").GetInt32());

        // SAE-A is also the slave of SAE-C's pair, whose keys are 128 bits.
        var asSlave = await master.StatusAsync(Pki.OtherMasterId);
        asSlave.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(Pki.OtherMasterId, asSlave.Json.GetProperty("master_SAE_ID").GetString());
        Assert.Equal(Pki.MasterId, asSlave.Json.GetProperty("slave_SAE_ID").GetString());
        Assert.Equal("KME-C", asSlave.Json.GetProperty("target_KME_ID").GetString());
        Assert.Equal(128, asSlave.Json.GetProperty("key_size").GetInt32());
    }

    [Fact]
    public async Task Enc_keys_POST_delivers_the_oldest_keys_byte_identical_and_removes_them()
    {
        var labels = _server.Refill(AB, 6, 256);
        var stored = _server.Material(labels.Take(3));
        using var master = _server.Client(Pki.Master);

        var answer = await master.EncKeysAsync(Pki.SlaveId, """{"number":3}""");

        answer.AssertStatus(HttpStatusCode.OK);
        Assert.Equal("no-store", answer.Headers.CacheControl?.ToString());
        Assert.Equal(labels.Take(3), answer.Keys.Select(k => k.Id));
        Assert.All(answer.Keys, k => Assert.Equal(stored[k.Id], k.Key));
        Assert.Equal(labels.Skip(3), _server.Store.List(AB).Select(k => k.Label));
        Assert.All(labels.Take(3), l => Assert.False(TokenBackdoor.Exists(_server.Token.Settings, l)));
    }

    [Fact]
    public async Task Enc_keys_serves_every_allowed_form()
    {
        var labels = _server.Refill(AB, 9, 256);
        var small = _server.Store.CreateKeys(new NewKeysRequest(AB, 2, 128), new SystemRandomSource()).Select(k => k.Label).ToList();
        var smallMaterial = _server.Material(small);
        using var master = _server.Client(Pki.Master);
        const string path = "api/v1/keys/SAE-B/enc_keys";

        Assert.Equal([labels[0]], (await master.PostAsync(path, "{}")).Keys.Select(k => k.Id));
        Assert.Equal([labels[1]], (await master.PostAsync(path, "")).Keys.Select(k => k.Id));
        Assert.Equal([labels[2]], (await master.GetAsync(path)).Keys.Select(k => k.Id));
        Assert.Equal([labels[3], labels[4]], (await master.GetAsync(path + "?number=2")).Keys.Select(k => k.Id));
        Assert.Equal([labels[5], labels[6]], (await master.GetAsync(path + "?number=2&size=256")).Keys.Select(k => k.Id));
        Assert.Equal([labels[7]], (await master.PostAsync(path, """{"number":1,"size":256,"extension_optional":[{"x_vendor":1}]}""")).Keys.Select(k => k.Id));

        var sized = await master.PostAsync(path, """{"number":2,"size":128}""");
        Assert.Equal(small, sized.Keys.Select(k => k.Id));
        Assert.All(sized.Keys, k => Assert.Equal(smallMaterial[k.Id], k.Key));
        Assert.Equal([labels[8]], _server.Store.List(AB).Select(k => k.Label));
    }

    [Fact]
    public async Task Dec_keys_delivers_the_named_keys_once_by_POST_and_GET()
    {
        var labels = _server.Refill(AB, 4, 256);
        var stored = _server.Material(labels);
        using var slave = _server.Client(Pki.Slave);

        var posted = await slave.DecKeysAsync(Pki.MasterId, labels[1], labels[0]);
        posted.AssertStatus(HttpStatusCode.OK);
        Assert.Equal("no-store", posted.Headers.CacheControl?.ToString());
        Assert.Equal([labels[1], labels[0]], posted.Keys.Select(k => k.Id));
        Assert.All(posted.Keys, k => Assert.Equal(stored[k.Id], k.Key));

        var got = await slave.GetAsync($"api/v1/keys/SAE-A/dec_keys?key_ID={labels[2]}");
        got.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(stored[labels[2]], Assert.Single(got.Keys).Key);

        // Replays, by either form, find nothing: each key reaches this side once.
        var replay = await slave.DecKeysAsync(Pki.MasterId, labels[0]);
        replay.AssertBadRequest(EtsiMessages.KeysNotFound);
        KeyBytes.AssertAbsent(replay.Body, KeyBytes.Of(stored));
        (await slave.GetAsync($"api/v1/keys/SAE-A/dec_keys?key_ID={labels[2]}")).AssertBadRequest(EtsiMessages.KeysNotFound);
        Assert.Equal([labels[3]], _server.Store.List(AB).Select(k => k.Label));
        Assert.All(labels.Take(3), l => Assert.False(TokenBackdoor.Exists(_server.Token.Settings, l)));
    }

    [Fact]
    public async Task Dec_keys_is_all_or_nothing_and_never_serves_pending_or_foreign_keys()
    {
        var labels = _server.Refill(AB, 2, 256);
        var foreign = _server.Refill(ServerFixture.PoolCA, 1, 128);
        var pending = TokenBackdoor.CreatePendingKey(_server.Token.Settings, AB, 256);
        var stored = _server.Material(labels.Concat(foreign));
        using var slave = _server.Client(Pki.Slave);

        foreach (var ids in new[] { new[] { labels[0], Guid.NewGuid().ToString() }, [labels[0], foreign[0]], [labels[1], pending], ["not a label "] })
        {
            var answer = await slave.DecKeysAsync(Pki.MasterId, ids);
            answer.AssertBadRequest(EtsiMessages.KeysNotFound);
            KeyBytes.AssertAbsent(answer.Body, KeyBytes.Of(stored));
        }

        Assert.Equal(labels, _server.Store.List(AB).Select(k => k.Label));
        Assert.Equal(foreign, _server.Store.List(ServerFixture.PoolCA).Select(k => k.Label));
        Assert.True(TokenBackdoor.Exists(_server.Token.Settings, pending));
    }

    [Theory]
    [InlineData("""{"size":100}""", EtsiMessages.SizeNotMultipleOf8)]
    [InlineData("""{"extension_mandatory":[{"x_vendor_route":"fiber"}]}""", EtsiMessages.ExtensionMandatoryNotSupported)]
    [InlineData("""{"number":17}""", "number shall be from 1 to max_key_per_request (16)")]
    [InlineData("""{"number":0}""", "number shall be from 1 to max_key_per_request (16)")]
    [InlineData("""{"size":2048}""", "size shall be from min_key_size (64) to max_key_size (1024)")]
    [InlineData("""{"size":56}""", "size shall be from min_key_size (64) to max_key_size (1024)")]
    [InlineData("""{"additional_slave_SAE_IDs":["SAE-C"]}""", EtsiMessages.MulticastNotSupported)]
    [InlineData("""{"number":"1"}""", "number shall be an integer")]
    [InlineData("""{"number":1""", EtsiMessages.BodyNotJson)]
    [InlineData("[]", "the key request shall be a JSON object")]
    public async Task Enc_keys_refuses_bad_requests_with_their_message_and_takes_nothing(string body, string message)
    {
        var labels = _server.Refill(AB, 3, 256);
        var stored = _server.Material(labels);
        using var master = _server.Client(Pki.Master);

        var answer = await master.EncKeysAsync(Pki.SlaveId, body);

        answer.AssertBadRequest(message);
        KeyBytes.AssertAbsent(answer.Body, KeyBytes.Of(stored));
        Assert.Equal(3, _server.Store.CountActiveKeys(AB, 256));
    }

    [Fact]
    public async Task The_limit_errors_name_the_limit_in_details()
    {
        _server.Refill(AB, 1, 256);
        using var master = _server.Client(Pki.Master);
        var answer = await master.EncKeysAsync(Pki.SlaveId, """{"number":99}""");
        var details = answer.Json.GetProperty("details");
        Assert.Equal(ServerFixture.MaxKeysPerRequest, Assert.Single(details.EnumerateArray()).GetProperty("max_key_per_request").GetInt32());
    }

    [Fact]
    public async Task Dec_keys_refuses_too_many_or_repeated_key_IDs_and_takes_nothing()
    {
        var labels = _server.Refill(AB, 2, 256);
        using var slave = _server.Client(Pki.Slave);

        var tooMany = labels.Concat(Enumerable.Range(0, 15).Select(_ => Guid.NewGuid().ToString())).ToArray();
        (await slave.DecKeysAsync(Pki.MasterId, tooMany)).AssertBadRequest("key_IDs names more keys than max_key_per_request (16)");
        (await slave.DecKeysAsync(Pki.MasterId, labels[0], labels[1], labels[0])).AssertBadRequest(EtsiMessages.RepeatedKeyId);
        (await slave.PostAsync("api/v1/keys/SAE-A/dec_keys", """{"key_IDs":[]}""")).AssertStatus(HttpStatusCode.BadRequest);
        (await slave.GetAsync($"api/v1/keys/SAE-A/dec_keys?key_ID={labels[0]}&key_ID={labels[1]}")).AssertBadRequest("GET dec_keys takes exactly one query parameter key_ID");
        (await slave.GetAsync("api/v1/keys/SAE-A/dec_keys")).AssertBadRequest("GET dec_keys takes exactly one query parameter key_ID");

        Assert.Equal(labels, _server.Store.List(AB).Select(k => k.Label));
    }

    [Fact]
    public async Task Too_few_keys_is_503_and_nothing_is_taken_and_pending_keys_do_not_count()
    {
        var labels = _server.Refill(AB, 2, 256);
        var pending = TokenBackdoor.CreatePendingKey(_server.Token.Settings, AB, 256);
        var stored = _server.Material(labels);
        using var master = _server.Client(Pki.Master);

        var answer = await master.EncKeysAsync(Pki.SlaveId, """{"number":3}""");

        answer.AssertStatus(HttpStatusCode.ServiceUnavailable);
        Assert.Equal(EtsiMessages.NotEnoughKeys, answer.Message);
        KeyBytes.AssertAbsent(answer.Body, KeyBytes.Of(stored));
        Assert.Equal(labels, _server.Store.List(AB).Select(k => k.Label));
        Assert.True(TokenBackdoor.Exists(_server.Token.Settings, pending));

        // A size nobody stocked is exhaustion too, not an error of the caller.
        (await master.EncKeysAsync(Pki.SlaveId, """{"size":1024}""")).AssertStatus(HttpStatusCode.ServiceUnavailable);
        Assert.Equal(2, (await master.EncKeysAsync(Pki.SlaveId, """{"number":2}""")).Keys.Count);
        (await master.EncKeysAsync(Pki.SlaveId)).AssertStatus(HttpStatusCode.ServiceUnavailable);
    }

    [Fact]
    public async Task Wrong_forms_and_methods_are_refused_and_take_nothing()
    {
        var labels = _server.Refill(AB, 2, 256);
        using var master = _server.Client(Pki.Master);
        using var slave = _server.Client(Pki.Slave);

        var getWithBody = new HttpRequestMessage(HttpMethod.Get, "api/v1/keys/SAE-B/enc_keys") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        (await master.SendAsync(getWithBody)).AssertBadRequest(EtsiMessages.BodyOnGet);
        var decGetWithBody = new HttpRequestMessage(HttpMethod.Get, $"api/v1/keys/SAE-A/dec_keys?key_ID={labels[0]}") { Content = new StringContent("x") };
        (await slave.SendAsync(decGetWithBody)).AssertBadRequest(EtsiMessages.BodyOnGet);
        (await master.GetAsync("api/v1/keys/SAE-B/enc_keys?count=2")).AssertBadRequest("GET enc_keys takes only the query parameters number and size, each at most once");

        var put = await master.SendAsync(new HttpRequestMessage(HttpMethod.Put, "api/v1/keys/SAE-B/enc_keys") { Content = new StringContent("{}") });
        put.AssertStatus(HttpStatusCode.MethodNotAllowed);
        Assert.Equal(["GET", "POST"], put.ContentHeaders.Allow);
        var postStatus = await master.PostAsync("api/v1/keys/SAE-B/status", "{}");
        postStatus.AssertStatus(HttpStatusCode.MethodNotAllowed);
        Assert.Equal(["GET"], postStatus.ContentHeaders.Allow);
        (await slave.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"api/v1/keys/SAE-A/dec_keys?key_ID={labels[0]}"))).AssertStatus(HttpStatusCode.MethodNotAllowed);

        var unknown = await master.GetAsync("api/v1/keys/SAE-B/keys");
        unknown.AssertStatus(HttpStatusCode.NotFound);
        Assert.Equal(EtsiMessages.NoSuchEndpoint, unknown.Message);
        (await master.GetAsync("")).AssertStatus(HttpStatusCode.NotFound);

        Assert.Equal(labels, _server.Store.List(AB).Select(k => k.Label));
    }

    [Fact]
    public async Task Oversized_bodies_are_refused_with_400_whether_announced_or_streamed()
    {
        var labels = _server.Refill(AB, 2, 256);
        using var master = _server.Client(Pki.Master);
        const string path = "api/v1/keys/SAE-B/enc_keys";
        var message = $"the request body is larger than {ServerFixture.MaxBodyBytes} bytes";

        (await master.PostAsync(path, "{\"number\":1}" + new string(' ', ServerFixture.MaxBodyBytes))).AssertBadRequest(message);
        var streamed = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"number\":1" + new string(' ', ServerFixture.MaxBodyBytes * 3) + "}")));
        streamed.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var chunked = new HttpRequestMessage(HttpMethod.Post, path) { Content = streamed };
        chunked.Headers.TransferEncodingChunked = true;
        (await master.SendAsync(chunked)).AssertBadRequest(message);
        // Far beyond the limit the server does not even read it: a 400 or a closed connection, never keys.
        using (var sender = _server.Client(Pki.Master))
        {
            try
            {
                var huge = await sender.PostAsync(path, "{\"number\":1}" + new string(' ', 2 * 1024 * 1024));
                huge.AssertBadRequest(message);
                Assert.True(huge.Headers.ConnectionClose);
            }
            catch (HttpRequestException)
            {
            }
        }
        Assert.Equal(labels, _server.Store.List(AB).Select(k => k.Label));

        // Exactly at the limit is fine.
        var atLimit = "{\"number\":1}" + new string(' ', ServerFixture.MaxBodyBytes - 12);
        Assert.Equal(ServerFixture.MaxBodyBytes, Encoding.UTF8.GetByteCount(atLimit));
        Assert.Equal([labels[0]], (await master.PostAsync(path, atLimit)).Keys.Select(k => k.Id));
    }

    [Fact]
    public async Task Every_request_leaves_one_audit_line_without_key_bytes()
    {
        var labels = _server.Refill(AB, 3, 256);
        var stored = _server.Material(labels);
        using var master = _server.Client(Pki.Master);
        using var slave = _server.Client(Pki.Slave);
        using var stranger = _server.Client(Pki.Unrelated);
        var before = _server.AuditLines().Count;

        await master.StatusAsync(Pki.SlaveId);
        await master.EncKeysAsync(Pki.SlaveId, """{"number":2}""");
        await slave.DecKeysAsync(Pki.MasterId, labels[2], "no-such-key");
        await slave.DecKeysAsync(Pki.MasterId, labels[2]);
        await stranger.EncKeysAsync(Pki.SlaveId);

        var lines = _server.AuditLines().Skip(before).ToList();
        Assert.Equal(5, lines.Count);
        Assert.Equal(["status", "enc_keys", "dec_keys", "dec_keys", "enc_keys"], lines.Select(l => l.GetProperty("endpoint").GetString()));
        Assert.Equal([200, 200, 400, 200, 401], lines.Select(l => l.GetProperty("status").GetInt32()));
        Assert.Equal([Pki.MasterId, Pki.MasterId, Pki.SlaveId, Pki.SlaveId, Pki.UnrelatedId], lines.Select(l => l.GetProperty("sae").GetString()));
        Assert.Equal(labels.Take(2), lines[1].GetProperty("keyIds").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([labels[2], "no-such-key"], lines[2].GetProperty("keyIds").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(EtsiMessages.KeysNotFound, lines[2].GetProperty("outcome").GetString());
        Assert.Equal("delivered", lines[3].GetProperty("outcome").GetString());
        Assert.All(lines.Take(4), l => Assert.Equal(AB, l.GetProperty("keyId").GetString()));
        Assert.All(lines, l => Assert.Equal("127.0.0.1", l.GetProperty("remote").GetString()!.Split(':')[0]));
        Assert.Equal(Pki.Master.Thumbprint, lines[0].GetProperty("thumbprint").GetString());
        Assert.All(lines, l => Assert.True(DateTimeOffset.UtcNow - l.GetProperty("time").GetDateTimeOffset() < TimeSpan.FromMinutes(1)));
        KeyBytes.AssertAbsent(ServerFixture.ReadShared(_server.AuditLogPath), KeyBytes.Of(stored));
    }

    [Fact]
    public async Task Master_and_slave_receive_the_same_keys_from_their_own_nodes()
    {
        // Node B holds replicated copies: same labels, same bytes, its own token and server.
        var nodeB = new TestToken();
        var material = Enumerable.Range(0, 3).Select(_ => System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ToList();
        var labels = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid().ToString()).ToList();
        _server.Refill(AB, 0, 256);
        _server.Store.CreateKeys(new NewKeysRequest(AB, 3, 256, labels), new ReplayingSource(material)).ToList();
        nodeB.Store.CreateKeys(new NewKeysRequest(AB, 3, 256, labels), new ReplayingSource(material)).ToList();
        await using var serverB = await _server.StartServerAsync(s => { s.KmeId = "KME-B"; s.AuditLog = "audit-node-b.log"; }, nodeB.Store);
        using var master = _server.Client(Pki.Master);
        using var slave = _server.ClientAt(new Uri($"https://127.0.0.1:{serverB.Port}/"), Pki.Slave);

        var sent = await master.EncKeysAsync(Pki.SlaveId, """{"number":2}""");
        var received = await slave.DecKeysAsync(Pki.MasterId, sent.Keys.Select(k => k.Id).ToArray());

        Assert.Equal(labels.Take(2), sent.Keys.Select(k => k.Id));
        Assert.Equal(sent.Keys.Select(k => Convert.ToBase64String(k.Key)), received.Keys.Select(k => Convert.ToBase64String(k.Key)));
        Assert.Equal(material.Take(2).Select(Convert.ToBase64String), received.Keys.Select(k => Convert.ToBase64String(k.Key)));
        Assert.Equal(1, (await slave.StatusAsync(Pki.MasterId)).Json.GetProperty("stored_key_count").GetInt32());
        Assert.Equal("KME-B", (await slave.StatusAsync(Pki.MasterId)).Json.GetProperty("source_KME_ID").GetString());
    }

    /// <summary>Gives the same bytes again: the two nodes of a pair hold identical keys.</summary>
    private sealed class ReplayingSource(IReadOnlyList<byte[]> material) : IKeyMaterialSource
    {
        private int _next;

        public QKDLite.Core.Keys.KeySource Kind => QKDLite.Core.Keys.KeySource.Kme;

        public void Fill(byte[] buffer) => material[_next++].CopyTo(buffer, 0);
    }
}
