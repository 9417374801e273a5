using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;
using QKDLite.Core.KeyStore;
using QKDLite.Core.Sources;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>Core's delivery semantics on a real token: oldest first, all or nothing, at most once, pending never.</summary>
public sealed class KeyDeliveryTests : IClassFixture<TestToken>
{
    private readonly TestToken _token;
    private readonly IKeyStore _store;

    public KeyDeliveryTests(TestToken token)
    {
        _token = token;
        _store = token.Store;
    }

    private static string NewKeyId() => "D" + Guid.NewGuid().ToString("N")[..10];

    private List<string> Create(string keyId, int count, int sizeBits = 256) =>
        _store.CreateKeys(new NewKeysRequest(keyId, count, sizeBits), new SystemRandomSource()).Select(k => k.Label).ToList();

    [Fact]
    public void The_oldest_keys_of_the_keyID_and_size_are_taken_byte_identical_and_removed()
    {
        var keyId = NewKeyId();
        var labels = Create(keyId, 5);
        var other = Create(keyId, 2, 128);
        var expected = labels.Take(3).ToDictionary(l => l, _store.ReadKeyMaterial);

        var taken = _store.TakeOldestKeys(keyId, 256, 3);

        Assert.Equal(labels.Take(3), taken.Select(k => k.Label));
        Assert.All(taken, k => Assert.Equal(expected[k.Label], k.Material));
        Assert.All(taken, k => Assert.Equal(256, k.Key.SizeBits));
        Assert.Equal(labels.Skip(3).Concat(other).OrderBy(l => l), _store.List(keyId).Select(k => k.Label).OrderBy(l => l));
        Assert.Equal(2, _store.CountActiveKeys(keyId, 256));
        Assert.Equal(2, _store.CountActiveKeys(keyId.ToLowerInvariant(), 128));
        Assert.All(taken, k => Assert.False(TokenBackdoor.Exists(_token.Settings, k.Label)));
    }

    [Fact]
    public void Disposing_a_delivered_key_zeroes_its_bytes()
    {
        var keyId = NewKeyId();
        Create(keyId, 1);
        var key = Assert.Single(_store.TakeOldestKeys(keyId, 256, 1));
        Assert.Contains(key.Material, b => b != 0);
        key.Dispose();
        Assert.All(key.Material, b => Assert.Equal(0, b));
        Assert.Equal(key.Label, key.ToString());
    }

    [Fact]
    public void Too_few_keys_is_KeyPoolExhausted_and_nothing_is_taken()
    {
        var keyId = NewKeyId();
        var labels = Create(keyId, 3);
        Create(keyId, 2, 512);

        var e = Assert.Throws<QKDLiteException>(() => _store.TakeOldestKeys(keyId, 256, 4));

        Assert.Equal(ErrorIds.KeyPoolExhausted, e.ErrorId);
        Assert.Equal(3, _store.CountActiveKeys(keyId, 256));
        Assert.All(labels, l => Assert.NotNull(_store.Find(l)));
    }

    [Fact]
    public void Keys_by_label_are_taken_in_the_order_asked_and_only_once()
    {
        var keyId = NewKeyId();
        var labels = Create(keyId, 3, 128);
        var expected = _store.ReadKeyMaterial(labels[2]);

        var taken = _store.TakeKeys(keyId, [labels[2], labels[0]]);

        Assert.Equal([labels[2], labels[0]], taken.Select(k => k.Label));
        Assert.Equal(expected, taken[0].Material);
        Assert.Equal(16, taken[1].Material.Length);
        Assert.False(TokenBackdoor.Exists(_token.Settings, labels[0]));
        Assert.False(TokenBackdoor.Exists(_token.Settings, labels[2]));
        var replay = Assert.Throws<QKDLiteException>(() => _store.TakeKeys(keyId, [labels[0]]));
        Assert.Equal(ErrorIds.KeyNotFound, replay.ErrorId);
        Assert.NotNull(_store.Find(labels[1]));
    }

    [Fact]
    public void One_unknown_label_or_a_key_of_another_keyID_takes_nothing()
    {
        var keyId = NewKeyId();
        var labels = Create(keyId, 2);
        var foreign = Create(NewKeyId(), 1);

        Assert.Equal(ErrorIds.KeyNotFound, Assert.Throws<QKDLiteException>(() => _store.TakeKeys(keyId, [labels[0], Guid.NewGuid().ToString()])).ErrorId);
        Assert.Equal(ErrorIds.KeyNotFound, Assert.Throws<QKDLiteException>(() => _store.TakeKeys(keyId, [labels[1], foreign[0]])).ErrorId);
        Assert.Equal(ErrorIds.DuplicateKeyLabel, Assert.Throws<QKDLiteException>(() => _store.TakeKeys(keyId, [labels[0], labels[0]])).ErrorId);
        Assert.Equal(ErrorIds.KeyLabelInvalid, Assert.Throws<QKDLiteException>(() => _store.TakeKeys(keyId, [labels[0], " padded "])).ErrorId);
        Assert.Equal(ErrorIds.KeyCountOutOfRange, Assert.Throws<QKDLiteException>(() => _store.TakeKeys(keyId, [])).ErrorId);

        Assert.All(labels.Concat(foreign), l => Assert.NotNull(_store.Find(l)));
    }

    [Fact]
    public void Bad_arguments_are_refused_before_the_store_is_touched()
    {
        var keyId = NewKeyId();
        Create(keyId, 1);
        Assert.Equal(ErrorIds.KeySizeNotMultipleOf8, Assert.Throws<QKDLiteException>(() => _store.TakeOldestKeys(keyId, 100, 1)).ErrorId);
        Assert.Equal(ErrorIds.KeyCountOutOfRange, Assert.Throws<QKDLiteException>(() => _store.TakeOldestKeys(keyId, 256, 0)).ErrorId);
        Assert.Equal(ErrorIds.KeyIdInvalid, Assert.Throws<QKDLiteException>(() => _store.TakeOldestKeys("bad keyID", 256, 1)).ErrorId);
        Assert.Equal(1, _store.CountActiveKeys(keyId, 256));
    }

    [Fact]
    public void Pending_keys_are_never_counted_nor_taken()
    {
        var keyId = NewKeyId();
        var pending = TokenBackdoor.CreatePendingKey(_token.Settings, keyId, 256);
        var active = Create(keyId, 1);

        Assert.Equal(1, _store.CountActiveKeys(keyId, 256));
        Assert.Equal(ErrorIds.KeyPoolExhausted, Assert.Throws<QKDLiteException>(() => _store.TakeOldestKeys(keyId, 256, 2)).ErrorId);
        Assert.Equal(ErrorIds.KeyNotFound, Assert.Throws<QKDLiteException>(() => _store.TakeKeys(keyId, [pending])).ErrorId);
        // The pending key is older, yet the active one is delivered.
        Assert.Equal(active, _store.TakeOldestKeys(keyId, 256, 1).Select(k => k.Label));
        Assert.True(TokenBackdoor.Exists(_token.Settings, pending));
    }

    [Fact]
    public void A_key_destroyed_by_another_process_unnoticed_is_not_found_and_the_rest_stays()
    {
        var keyId = NewKeyId();
        var labels = Create(keyId, 3);
        TokenBackdoor.DestroySilently(_token.Settings, labels[1]);

        var e = Assert.Throws<QKDLiteException>(() => _store.TakeKeys(keyId, [labels[0], labels[1]]));

        Assert.Equal(ErrorIds.KeyNotFound, e.ErrorId);
        Assert.NotNull(_store.Find(labels[0]));
        Assert.NotNull(_store.Find(labels[2]));
    }

    [Fact]
    public void When_the_oldest_key_vanished_unnoticed_the_next_oldest_is_delivered()
    {
        var keyId = NewKeyId();
        var labels = Create(keyId, 3);
        TokenBackdoor.DestroySilently(_token.Settings, labels[0]);

        var taken = _store.TakeOldestKeys(keyId, 256, 1);

        Assert.Equal(labels[1], Assert.Single(taken).Label);
        Assert.Equal([labels[2]], _store.List(keyId).Select(k => k.Label));
    }

    [Fact]
    public void A_key_taken_through_another_view_of_the_token_is_not_found_here()
    {
        var keyId = NewKeyId();
        var labels = Create(keyId, 2);
        var otherProcess = Pkcs11KeyStore.OpenUncached(_token.Settings, TestToken.Pin());

        Assert.Equal(labels[0], Assert.Single(otherProcess.TakeKeys(keyId, [labels[0]])).Label);

        Assert.Equal(ErrorIds.KeyNotFound, Assert.Throws<QKDLiteException>(() => _store.TakeKeys(keyId, [labels[0]])).ErrorId);
        Assert.Equal(labels[1], Assert.Single(_store.TakeOldestKeys(keyId, 256, 1)).Label);
    }

    [Fact]
    public void Pool_counts_follow_keys_created_removed_and_taken_per_keyID_and_size()
    {
        var keyId = NewKeyId();
        var labels = Create(keyId, 4);
        Create(keyId.ToLowerInvariant(), 2);
        Create(keyId, 3, 512);
        Assert.Equal(6, _store.CountActiveKeys(keyId.ToUpperInvariant(), 256));
        Assert.Equal(3, _store.CountActiveKeys(keyId, 512));
        Assert.Equal(0, _store.CountActiveKeys(keyId, 128));

        _store.Remove(labels[0]);
        Assert.Equal(5, _store.CountActiveKeys(keyId, 256));
        _store.TakeKeys(keyId, [labels[1]]);
        _store.TakeOldestKeys(keyId, 512, 3);

        Assert.Equal(4, _store.CountActiveKeys(keyId, 256));
        Assert.Equal(0, _store.CountActiveKeys(keyId, 512));
    }

    [Fact]
    public async Task Every_count_sees_what_another_view_of_the_token_changed_before_it_was_asked()
    {
        var keyId = NewKeyId();
        Create(keyId, 2);
        var otherProcess = Pkcs11KeyStore.OpenUncached(_token.Settings, TestToken.Pin());
        Assert.Equal(2, _store.CountActiveKeys(keyId, 256));
        var expected = 2;
        for (var round = 0; round < 10; round++)
        {
            if (round % 3 == 2)
            {
                otherProcess.TakeOldestKeys(keyId, 256, 1);
                expected--;
            }
            else
            {
                _ = otherProcess.CreateKeys(new NewKeysRequest(keyId, 1, 256), new SystemRandomSource()).ToList();
                expected++;
            }
            // Concurrent counts may share one look at the token, but never one taken before they were asked.
            var counts = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => _store.CountActiveKeys(keyId, 256))));
            Assert.All(counts, c => Assert.Equal(expected, c));
        }
    }

    [Fact]
    public void A_count_with_a_max_age_may_miss_another_views_latest_change_but_never_its_own()
    {
        var keyId = NewKeyId();
        Create(keyId, 2);
        var otherProcess = Pkcs11KeyStore.OpenUncached(_token.Settings, TestToken.Pin());
        var longAgo = TimeSpan.FromMinutes(10);
        Assert.Equal(2, _store.CountActiveKeys(keyId, 256, longAgo));

        _ = otherProcess.CreateKeys(new NewKeysRequest(keyId, 1, 256), new SystemRandomSource()).ToList();
        // The token was read a moment ago: that view stands in for it, and the token is not read.
        Assert.Equal(2, _store.CountActiveKeys(keyId, 256, longAgo));
        Thread.Sleep(60);
        // A view older than the max age is not used.
        Assert.Equal(3, _store.CountActiveKeys(keyId, 256, TimeSpan.FromMilliseconds(50)));

        _ = otherProcess.CreateKeys(new NewKeysRequest(keyId, 1, 256), new SystemRandomSource()).ToList();
        _store.TakeOldestKeys(keyId, 256, 1);
        // This process's own delivery counts at once (and, having read the token, so does the other's key).
        Assert.Equal(3, _store.CountActiveKeys(keyId, 256, longAgo));
    }

    [Fact]
    public async Task Concurrent_takers_never_receive_the_same_key()
    {
        var keyId = NewKeyId();
        var labels = Create(keyId, 40);
        var delivered = new ConcurrentBag<string>();
        var exhausted = 0;
        using var start = new Barrier(8);
        // Threads of their own: eight blocked pool threads would wait for the pool to grow.
        var takers = Enumerable.Range(0, 8).Select(i => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (var round = 0; round < 4; round++)
            {
                try
                {
                    var keys = i % 2 == 0 ? _store.TakeOldestKeys(keyId, 256, 2) : _store.TakeKeys(keyId, [labels[(i * 5 + round) % labels.Count]]);
                    foreach (var key in keys) delivered.Add(key.Label);
                }
                catch (QKDLiteException e) when (e.ErrorId is ErrorIds.KeyNotFound or ErrorIds.KeyPoolExhausted)
                {
                    Interlocked.Increment(ref exhausted);
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        await Task.WhenAll(takers);

        Assert.Equal(delivered.Count, delivered.Distinct().Count());
        Assert.Equal(labels.Count, delivered.Count + _store.CountActiveKeys(keyId, 256));
    }
}
