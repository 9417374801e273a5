using System.Collections.Concurrent;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using QKDLite.EtsiServer.Protocol;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>Concurrent requests never receive the same key.</summary>
[Collection(ServerCollection.Name)]
public class ConcurrencyTests
{
    private readonly ServerFixture _server;

    public ConcurrencyTests(ServerFixture server) => _server = server;

    [Fact]
    public async Task A_hundred_parallel_dec_keys_for_one_key_ID_deliver_it_exactly_once()
    {
        var labels = _server.Refill(ServerFixture.PoolAB, 2, 256);
        var stored = _server.Material(labels);
        using var slave = _server.Client(Pki.Slave);

        var answers = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(() => slave.DecKeysAsync(Pki.MasterId, labels[0]))));

        var delivered = Assert.Single(answers, a => a.Status == HttpStatusCode.OK);
        Assert.Equal(stored[labels[0]], Assert.Single(delivered.Keys).Key);
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.OK), a =>
        {
            a.AssertBadRequest(EtsiMessages.KeysNotFound);
            KeyBytes.AssertAbsent(a.Body, KeyBytes.Of(stored));
        });
        Assert.Equal([labels[1]], _server.Store.List(ServerFixture.PoolAB).Select(k => k.Label));
    }

    [Fact]
    public async Task Parallel_enc_keys_share_out_the_pool_without_repeats()
    {
        var labels = _server.Refill(ServerFixture.PoolAB, 30, 256);
        using var master = _server.Client(Pki.Master);

        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Task.Run(() => master.EncKeysAsync(Pki.SlaveId, """{"number":3}"""))));

        var ok = answers.Where(a => a.Status == HttpStatusCode.OK).ToList();
        Assert.Equal(10, ok.Count);
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.OK), a => Assert.Equal(HttpStatusCode.ServiceUnavailable, a.Status));
        var delivered = ok.SelectMany(a => a.Keys.Select(k => k.Id)).ToList();
        Assert.Equal(labels.OrderBy(l => l), delivered.OrderBy(l => l));
        Assert.Equal(0, _server.Store.CountActiveKeys(ServerFixture.PoolAB, 256));
    }
}
