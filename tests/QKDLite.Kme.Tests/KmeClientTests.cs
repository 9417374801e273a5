using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using QKDLite.Core.Errors;
using QKDLite.Core.Kme;
using QKDLite.TestKme;
using Xunit;

namespace QKDLite.Kme.Tests;

/// <summary>One test KME pair (ECDSA certificates: quick to make) for the whole class; reset before each test.</summary>
public sealed class KmePairFixture : IAsyncLifetime
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("qkdlite-kme-").FullName;
    public TestKmePair Pair { get; private set; } = null!;
    public TestCertificateFiles SaeA { get; private set; } = null!;
    public TestCertificateFiles SaeB { get; private set; } = null!;
    public string Ca { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Pair = await TestKmePair.StartAsync(new TestKmeOptions { PoolSize = 500, MaxKeyPerRequest = 16, Pki = TestPki.Create(algorithm: TestKeyAlgorithm.EcdsaP256) });
        using var a = Pair.Pki.CreateClientCertificate("SAE-A");
        using var b = Pair.Pki.CreateClientCertificate("SAE-B");
        SaeA = a.WriteFiles(Dir, "sae-a", "pfx-pass");
        SaeB = b.WriteFiles(Dir, "sae-b");
        Ca = Pair.Pki.WriteCaPem(Dir);
    }

    public async Task DisposeAsync()
    {
        await Pair.DisposeAsync();
        Pair.Pki.Dispose();
        Directory.Delete(Dir, true);
    }
}

/// <summary>The ETSI GS QKD 014 client against the clean-room test KME pair, over real mutual TLS on 127.0.0.1.</summary>
public sealed class KmeClientTests : IClassFixture<KmePairFixture>
{
    private readonly string _dir;
    private readonly TestKmePair _pair;
    private readonly TestCertificateFiles _saeA;
    private readonly TestCertificateFiles _saeB;
    private readonly string _ca;

    public KmeClientTests(KmePairFixture fixture)
    {
        fixture.Pair.Reset();
        (_dir, _pair, _saeA, _saeB, _ca) = (fixture.Dir, fixture.Pair, fixture.SaeA, fixture.SaeB, fixture.Ca);
    }

    private KmeSettings Master(params Uri[] urls) => new()
    {
        Name = "link-A", SaeId = "SAE-A", Urls = (urls.Length == 0 ? new[] { _pair.KmeA.BaseUri } : urls).Select(u => u.ToString()).ToList(),
        ClientCertificate = _saeA.PfxWithPassword!, ClientCertificatePasswordVariable = PasswordVariable(), CaCertificate = _ca, TimeoutSeconds = 2, Rounds = 1,
    };

    private KmeSettings Slave() => new()
    {
        Name = "link-B", SaeId = "SAE-B", Urls = new() { _pair.KmeB.BaseUri.ToString() },
        ClientCertificate = _saeB.CertificatePem, ClientKey = _saeB.PrivateKeyPem, CaCertificate = _ca, TimeoutSeconds = 2, Rounds = 1,
    };

    private static string PasswordVariable()
    {
        Environment.SetEnvironmentVariable("QKDLITE_TEST_PFX_PASSWORD", "pfx-pass");
        return "QKDLITE_TEST_PFX_PASSWORD";
    }

    [Fact]
    public async Task Status_reads_every_field_of_the_pair()
    {
        using var client = new EtsiKmeClient(Master());
        var status = await client.GetStatusAsync("SAE-B");
        Assert.Equal("SAE-A", status.MasterSaeId);
        Assert.Equal("SAE-B", status.SlaveSaeId);
        Assert.Equal("KME-A", status.SourceKmeId);
        Assert.Equal(256, status.KeySize);
        Assert.Equal(16, status.MaxKeyPerRequest);
        Assert.Equal(500, status.StoredKeyCount);
    }

    [Fact]
    public async Task Master_and_slave_receive_the_same_keys_and_large_requests_are_split()
    {
        using var master = new EtsiKmeClient(Master());
        using var slave = new EtsiKmeClient(Slave());
        var sent = await master.GetKeysAsync("SAE-B", 40, 256);
        Assert.Equal(40, sent.Count);
        Assert.Equal(3, _pair.KmeA.Requests.Count(r => r.RawTarget.EndsWith("/enc_keys")));
        var received = await slave.GetKeysWithIdsAsync("SAE-A", sent.Select(k => k.KeyId).ToList(), 256);
        Assert.Equal(sent.Select(k => k.KeyId), received.Select(k => k.KeyId));
        Assert.All(sent.Zip(received), p => Assert.Equal(p.First.Key, p.Second.Key));
        Assert.All(sent, k => Assert.Equal(32, k.Key.Length));
    }

    [Fact]
    public async Task Batches_come_one_request_at_a_time_with_the_same_keys_at_the_slave()
    {
        using var master = new EtsiKmeClient(Master());
        using var slave = new EtsiKmeClient(Slave());
        var batches = master.GetKeyBatches("SAE-B", 40, 256).ToList();
        Assert.Equal(new[] { 16, 16, 8 }, batches.Select(b => b.Count));
        var sent = batches.SelectMany(b => b).ToList();
        Assert.Equal(40, sent.Select(k => k.KeyId).Distinct().Count());
        var received = await slave.GetKeysWithIdsAsync("SAE-A", sent.Select(k => k.KeyId).ToList(), 256);
        Assert.All(sent.Zip(received), p => Assert.Equal(p.First.Key, p.Second.Key));
    }

    [Fact]
    public async Task A_caller_that_stops_after_one_batch_has_asked_for_one_more_ahead_and_no_others()
    {
        using var master = new EtsiKmeClient(Master());
        int EncKeysRequests() => _pair.KmeA.Requests.Count(r => r.RawTarget.EndsWith("/enc_keys"));
        var before = EncKeysRequests();
        using (var batches = master.GetKeyBatches("SAE-B", 64, 256).GetEnumerator())
        {
            Assert.True(batches.MoveNext());
            Assert.Equal(16, batches.Current.Count);
        }
        // The request ahead may still be on its way to the KME: wait for it, then make sure no other follows.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (EncKeysRequests() - before < 2 && DateTime.UtcNow < deadline) await Task.Delay(20);
        await Task.Delay(300);
        Assert.Equal(2, EncKeysRequests() - before);
    }

    [Fact]
    public async Task A_dead_first_URL_fails_over_to_the_second()
    {
        var dead = new Uri("https://127.0.0.1:9/");
        using var client = new EtsiKmeClient(Master(dead, _pair.KmeA.BaseUri));
        var keys = await client.GetKeysAsync("SAE-B", 2, 256);
        Assert.Equal(2, keys.Count);
        Assert.Equal(_pair.KmeA.BaseUri.ToString(), client.LastUrl);
    }

    [Fact]
    public async Task A_slow_or_503_KME_fails_over_and_all_down_is_KmeUnavailable()
    {
        _pair.KmeA.Behaviour.DelayMilliseconds = 4000;
        using (var client = new EtsiKmeClient(Master(_pair.KmeA.BaseUri, _pair.KmeB.BaseUri)))
        {
            Assert.Single(await client.GetKeysAsync("SAE-B", 1, 256));
            Assert.Equal(_pair.KmeB.BaseUri.ToString(), client.LastUrl);
        }
        _pair.KmeA.Behaviour.DelayMilliseconds = 0;
        _pair.KmeA.Behaviour.Status503 = true;
        using var only = new EtsiKmeClient(Master());
        var e = await Assert.ThrowsAsync<QKDLiteException>(() => only.GetKeysAsync("SAE-B", 1, 256));
        Assert.Equal(ErrorIds.KmeUnavailable, e.ErrorId);
    }

    [Theory]
    [InlineData(nameof(KmeBehaviour.BitsBytesConfusion), ErrorIds.KmeAnswerInvalid)]
    [InlineData(nameof(KmeBehaviour.WrongKeyLength), ErrorIds.KmeAnswerInvalid)]
    [InlineData(nameof(KmeBehaviour.MalformedJson), ErrorIds.KmeAnswerInvalid)]
    [InlineData(nameof(KmeBehaviour.Html401), ErrorIds.KmeUnauthorized)]
    [InlineData(nameof(KmeBehaviour.Empty401), ErrorIds.KmeUnauthorized)]
    [InlineData(nameof(KmeBehaviour.Status504), ErrorIds.KmeUnavailable)]
    [InlineData(nameof(KmeBehaviour.DropConnections), ErrorIds.KmeUnavailable)]
    [InlineData(nameof(KmeBehaviour.OutOfKeys), ErrorIds.KmeUnavailable)]
    public async Task Misbehaving_KMEs_give_specific_errors(string behaviour, string errorId)
    {
        typeof(KmeBehaviour).GetProperty(behaviour)!.SetValue(_pair.KmeA.Behaviour, true);
        using var client = new EtsiKmeClient(Master());
        var e = await Assert.ThrowsAsync<QKDLiteException>(() => client.GetKeysAsync("SAE-B", 2, 256));
        Assert.Equal(errorId, e.ErrorId);
    }

    [Fact]
    public async Task A_client_certificate_from_the_certificate_store_is_used_by_thumbprint()
    {
        using var sae = _pair.Pki.CreateClientCertificate("SAE-A");
        using var withKey = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(sae.ExportPfx(), null,
            System.Security.Cryptography.X509Certificates.X509KeyStorageFlags.PersistKeySet | System.Security.Cryptography.X509Certificates.X509KeyStorageFlags.Exportable);
        using var store = new System.Security.Cryptography.X509Certificates.X509Store(
            System.Security.Cryptography.X509Certificates.StoreName.My, System.Security.Cryptography.X509Certificates.StoreLocation.CurrentUser);
        store.Open(System.Security.Cryptography.X509Certificates.OpenFlags.ReadWrite);
        store.Add(withKey);
        try
        {
            var settings = Master();
            settings.ClientCertificate = "cert:" + withKey.Thumbprint;
            using var client = new EtsiKmeClient(settings);
            Assert.Equal("SAE-A", (await client.GetStatusAsync("SAE-B")).MasterSaeId);
            settings.ClientCertificate = "cert:" + new string('0', 40);
            Assert.Equal(ErrorIds.KmeConfigurationInvalid, Assert.Throws<QKDLiteException>(() => new EtsiKmeClient(settings)).ErrorId);
        }
        finally
        {
            store.Remove(withKey);
        }
    }

    [Fact]
    public async Task A_KME_certificate_from_another_CA_is_refused()
    {
        var settings = Master();
        settings.CaCertificate = _pair.Pki.Unrelated.WriteCaPem(_dir, "other-ca-" + Guid.NewGuid().ToString("N"));
        using var client = new EtsiKmeClient(settings);
        var e = await Assert.ThrowsAsync<QKDLiteException>(() => client.GetStatusAsync("SAE-B"));
        Assert.Equal(ErrorIds.KmeCertificateInvalid, e.ErrorId);
    }

    [Fact]
    public async Task A_client_certificate_from_another_CA_is_refused()
    {
        using var stranger = _pair.Pki.Unrelated.CreateClientCertificate("SAE-A");
        var files = stranger.WriteFiles(_dir, "stranger-" + Guid.NewGuid().ToString("N"));
        var settings = Master();
        settings.ClientCertificate = files.Pfx;
        settings.ClientCertificatePasswordVariable = null;
        using var client = new EtsiKmeClient(settings);
        var e = await Assert.ThrowsAsync<QKDLiteException>(() => client.GetStatusAsync("SAE-B"));
        Assert.Contains(e.ErrorId, new[] { ErrorIds.KmeCertificateInvalid, ErrorIds.KmeUnavailable, ErrorIds.KmeUnauthorized });
    }

    [Fact]
    public async Task A_size_outside_the_KMEs_limits_is_refused_before_asking_for_keys()
    {
        using var client = new EtsiKmeClient(Master());
        var e = await Assert.ThrowsAsync<QKDLiteException>(() => client.GetKeysAsync("SAE-B", 1, 2048));
        Assert.Equal(ErrorIds.KmeRequestRefused, e.ErrorId);
        Assert.DoesNotContain(_pair.KmeA.Requests, r => r.RawTarget.EndsWith("/enc_keys"));
    }

    [Fact]
    public async Task A_replayed_dec_keys_is_refused_with_the_KMEs_message()
    {
        using var master = new EtsiKmeClient(Master());
        using var slave = new EtsiKmeClient(Slave());
        var ids = (await master.GetKeysAsync("SAE-B", 1, 256)).Select(k => k.KeyId).ToList();
        await slave.GetKeysWithIdsAsync("SAE-A", ids, 256);
        var e = await Assert.ThrowsAsync<QKDLiteException>(() => slave.GetKeysWithIdsAsync("SAE-A", ids, 256));
        Assert.Equal(ErrorIds.KmeRequestRefused, e.ErrorId);
        Assert.Contains("one or more keys specified are not found on KME", e.Message);
    }

    [Fact]
    public async Task Cancellation_stops_a_hung_call()
    {
        _pair.KmeA.Behaviour.DelayMilliseconds = 10000;
        var settings = Master();
        settings.TimeoutSeconds = 30;
        using var client = new EtsiKmeClient(settings);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var started = DateTime.UtcNow;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetStatusAsync("SAE-B", cancel.Token));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
    }
}
