using System;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;
using QKDLite.TestKme;
using Xunit;

namespace QKDLite.TestKme.Tests;

/// <summary>Each misbehaviour switch has its observable effect, on its own KME only, and can be turned off again.</summary>
public sealed class MisbehaviourTests
{
    [Fact]
    public async Task BitsBytesConfusion_delivers_size_bytes_instead_of_size_over_8()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);
        using var slave = new Sae(pair, pair.KmeB, Shared.SaeB);
        pair.KmeA.Behaviour.BitsBytesConfusion = true;

        var confused = Assert.Single((await master.EncKeysAsync("SAE-B", """{"size":256}""")).Keys);
        var correct = Assert.Single((await slave.DecKeysAsync("SAE-A", confused.Id)).Keys);

        Assert.Equal(256, confused.Key.Length);
        Assert.Equal(32, correct.Key.Length);
        Assert.Equal(correct.Key, confused.Key[..32]);
    }

    [Fact]
    public async Task WrongKeyLength_makes_the_first_key_one_byte_short()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);
        using var slave = new Sae(pair, pair.KmeB, Shared.SaeB);
        pair.KmeB.Behaviour.WrongKeyLength = true;

        var keys = (await master.EncKeysAsync("SAE-B", """{"number":2}""")).Keys;
        var fetched = (await slave.DecKeysAsync("SAE-A", keys.Select(k => k.Id).ToArray())).Keys;

        Assert.All(keys, k => Assert.Equal(32, k.Key.Length));
        Assert.Equal([31, 32], fetched.Select(k => k.Key.Length));
    }

    [Fact]
    public async Task Html401_answers_401_with_an_HTML_body()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);
        pair.KmeA.Behaviour.Html401 = true;

        var answer = await master.EncKeysAsync("SAE-B");

        answer.AssertStatus(HttpStatusCode.Unauthorized);
        Assert.Equal("text/html", answer.ContentHeaders.ContentType?.MediaType);
        Assert.StartsWith("<html>", answer.Body, StringComparison.Ordinal);
        Assert.Equal(1000, pair.Pool.StoredKeyCount);
    }

    [Fact]
    public async Task Empty401_answers_401_without_a_body()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);
        pair.KmeA.Behaviour.Empty401 = true;

        var answer = await master.StatusAsync("SAE-B");

        answer.AssertStatus(HttpStatusCode.Unauthorized);
        Assert.Equal(string.Empty, answer.Body);
        Assert.Null(answer.ContentHeaders.ContentType);
    }

    [Fact]
    public async Task Status504_answers_504()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);
        pair.KmeA.Behaviour.Status504 = true;

        var answer = await master.StatusAsync("SAE-B");

        answer.AssertStatus(HttpStatusCode.GatewayTimeout);
    }

    [Fact]
    public async Task Status503_answers_503_with_an_error_message()
    {
        await using var pair = await Shared.StartPairAsync();
        using var slave = new Sae(pair, pair.KmeB, Shared.SaeB);
        pair.KmeB.Behaviour.Status503 = true;

        var answer = await slave.DecKeysAsync("SAE-A", Guid.NewGuid().ToString());

        answer.AssertStatus(HttpStatusCode.ServiceUnavailable);
        Assert.Equal(EtsiMessages.ServiceUnavailable, answer.Message);
    }

    [Fact]
    public async Task DelayMilliseconds_slows_answers_down()
    {
        await using var pair = await Shared.StartPairAsync();
        using var patient = new Sae(pair, pair.KmeA, Shared.SaeA);
        // A wide gap between the client's timeout and the delay, so a busy machine (late timers) cannot blur it.
        using var hasty = new Sae(pair, pair.KmeA, Shared.SaeA, timeout: TimeSpan.FromMilliseconds(200));
        pair.KmeA.Behaviour.DelayMilliseconds = 2000;

        var watch = Stopwatch.StartNew();
        var answer = await patient.StatusAsync("SAE-B");
        watch.Stop();

        answer.AssertStatus(HttpStatusCode.OK);
        Assert.True(watch.ElapsedMilliseconds >= 1990, $"answered after {watch.ElapsedMilliseconds} ms");
        await Assert.ThrowsAsync<TaskCanceledException>(() => hasty.StatusAsync("SAE-B"));
    }

    [Fact]
    public async Task DropConnections_aborts_without_any_answer()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);
        pair.KmeA.Behaviour.DropConnections = true;

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => master.EncKeysAsync("SAE-B"));
        Assert.Equal(0, Assert.Single(pair.KmeA.Requests).StatusCode);

        pair.KmeA.Behaviour.DropConnections = false;
        (await master.EncKeysAsync("SAE-B")).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task MalformedJson_sends_200_with_unparseable_JSON()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);
        pair.KmeA.Behaviour.MalformedJson = true;

        var status = await master.StatusAsync("SAE-B");
        var keys = await master.EncKeysAsync("SAE-B");

        foreach (var answer in new[] { status, keys })
        {
            answer.AssertStatus(HttpStatusCode.OK);
            Assert.Equal("application/json", answer.ContentHeaders.ContentType?.MediaType);
            Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(answer.Body));
        }
    }

    [Fact]
    public async Task OutOfKeys_reports_an_empty_pool_and_refuses_enc_keys_but_serves_dec_keys()
    {
        await using var pair = await Shared.StartPairAsync();
        using var master = new Sae(pair, pair.KmeA, Shared.SaeA);
        using var slave = new Sae(pair, pair.KmeB, Shared.SaeB);
        var id = Assert.Single((await master.EncKeysAsync("SAE-B")).Keys).Id;
        pair.KmeA.Behaviour.OutOfKeys = true;
        pair.KmeB.Behaviour.OutOfKeys = true;

        var status = await master.StatusAsync("SAE-B");
        var enc = await master.EncKeysAsync("SAE-B");
        var dec = await slave.DecKeysAsync("SAE-A", id);

        Assert.Equal(0, status.Json.GetProperty("stored_key_count").GetInt32());
        enc.AssertStatus(HttpStatusCode.ServiceUnavailable);
        dec.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(999, pair.Pool.StoredKeyCount);
    }

    [Fact]
    public async Task Switches_act_on_their_own_KME_only_and_reset_turns_them_off()
    {
        await using var pair = await Shared.StartPairAsync();
        using var atA = new Sae(pair, pair.KmeA, Shared.SaeA);
        using var atB = new Sae(pair, pair.KmeB, Shared.SaeB);
        pair.KmeA.Behaviour.Status504 = true;

        (await atB.StatusAsync("SAE-A")).AssertStatus(HttpStatusCode.OK);
        (await atA.StatusAsync("SAE-B")).AssertStatus(HttpStatusCode.GatewayTimeout);
        Assert.True(pair.KmeA.Behaviour.Any);

        pair.Reset();

        Assert.False(pair.KmeA.Behaviour.Any);
        (await atA.StatusAsync("SAE-B")).AssertStatus(HttpStatusCode.OK);
    }
}
