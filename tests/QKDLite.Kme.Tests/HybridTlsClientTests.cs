using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using QKDLite.Core.Errors;
using QKDLite.Core.Kme;
using QKDLite.Core.Tls;
using QKDLite.TestKme;
using Xunit;

namespace QKDLite.Kme.Tests;

/// <summary>
/// Test KME pairs for the post-quantum TLS profiles, sharing one ECDSA PKI: one speaking hybrid TLS 1.3
/// (BouncyCastle, in the test project), one with Kestrel's classical TLS, and a hybrid one whose
/// certificates name only kme.example (so 127.0.0.1 does not match them).
/// </summary>
public sealed class HybridKmeFixture : IAsyncLifetime
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("qkdlite-hybrid-").FullName;
    public TestPki Pki { get; } = TestPki.Create(algorithm: TestKeyAlgorithm.EcdsaP256);
    public TestKmePair Hybrid { get; private set; } = null!;
    public TestKmePair Classical { get; private set; } = null!;
    public TestKmePair OtherName { get; private set; } = null!;
    public TestCertificateFiles SaeA { get; private set; } = null!;
    public TestCertificateFiles SaeB { get; private set; } = null!;
    public string Ca { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Hybrid = await TestKmePair.StartAsync(new TestKmeOptions { PoolSize = 500, MaxKeyPerRequest = 16, Pki = Pki, Tls = TestKmeTls.Hybrid });
        Classical = await TestKmePair.StartAsync(new TestKmeOptions { PoolSize = 500, Pki = Pki });
        OtherName = await TestKmePair.StartAsync(new TestKmeOptions { Pki = Pki, Tls = TestKmeTls.Hybrid, ServerDnsNames = ["kme.example"] });
        using var a = Pki.CreateClientCertificate("SAE-A");
        using var b = Pki.CreateClientCertificate("SAE-B");
        SaeA = a.WriteFiles(Dir, "sae-a");
        SaeB = b.WriteFiles(Dir, "sae-b");
        Ca = Pki.WriteCaPem(Dir);
    }

    public async Task DisposeAsync()
    {
        await Hybrid.DisposeAsync();
        await Classical.DisposeAsync();
        await OtherName.DisposeAsync();
        Pki.Dispose();
        Directory.Delete(Dir, true);
    }
}

/// <summary>The KME client with TlsProfile Hybrid and PostQuantumOnly, over real TLS on 127.0.0.1.</summary>
public sealed class HybridTlsClientTests : IClassFixture<HybridKmeFixture>
{
    private readonly HybridKmeFixture _f;

    public HybridTlsClientTests(HybridKmeFixture fixture)
    {
        fixture.Hybrid.Reset();
        fixture.Classical.Reset();
        _f = fixture;
    }

    private KmeSettings Settings(QKDLite.TestKme.TestKme kme, TlsProfile profile, params string[] groups) => new()
    {
        Name = "link-pq", SaeId = "SAE-A", Urls = [kme.BaseUri.ToString()],
        ClientCertificate = _f.SaeA.CertificatePem, ClientKey = _f.SaeA.PrivateKeyPem, CaCertificate = _f.Ca,
        // TimeoutSeconds is a bound for a loaded machine, not a timing check.
        TimeoutSeconds = 30, Rounds = 1, TlsProfile = profile, TlsGroups = groups.Length == 0 ? null : [.. groups],
    };

    [Theory]
    [InlineData(TlsProfile.Hybrid, "X25519MLKEM768")]
    [InlineData(TlsProfile.Hybrid, "SecP256r1MLKEM768")]
    [InlineData(TlsProfile.Hybrid, "SecP384r1MLKEM1024")]
    [InlineData(TlsProfile.PostQuantumOnly, "X25519MLKEM768")]
    [InlineData(TlsProfile.PostQuantumOnly, "SecP256r1MLKEM768")]
    [InlineData(TlsProfile.PostQuantumOnly, "SecP384r1MLKEM1024")]
    public async Task Each_profile_and_group_negotiates_that_group_with_a_hybrid_KME(TlsProfile profile, string group)
    {
        using var client = new EtsiKmeClient(Settings(_f.Hybrid.KmeA, profile, group));
        var status = await client.GetStatusAsync("SAE-B");
        Assert.Equal("SAE-A", status.MasterSaeId); // the KME read the SAE ID from the client certificate
        Assert.Equal(profile, status.TlsProfile);
        Assert.Equal(group, status.TlsGroup);
        Assert.Equal("TLS 1.3", status.TlsProtocol);
        Assert.True(status.PostQuantum);
        Assert.Equal(group, client.LastTls!.Group);
        Assert.StartsWith("TLS_AES_", client.LastTls.CipherSuite);
        // The KME's own record of the handshake agrees.
        Assert.Equal(group, Assert.Single(_f.Hybrid.KmeA.Requests).TlsGroup);
    }

    [Fact]
    public async Task Without_TlsGroups_the_default_is_X25519MLKEM768()
    {
        using var client = new EtsiKmeClient(Settings(_f.Hybrid.KmeA, TlsProfile.Hybrid));
        var status = await client.GetStatusAsync("SAE-B");
        Assert.Equal("X25519MLKEM768", status.TlsGroup);
        Assert.Equal("X25519MLKEM768", Assert.Single(_f.Hybrid.KmeA.Requests).TlsGroup);
    }

    [Fact]
    public async Task The_first_of_several_groups_is_preferred()
    {
        using var client = new EtsiKmeClient(Settings(_f.Hybrid.KmeA, TlsProfile.PostQuantumOnly, "SecP384r1MLKEM1024", "X25519MLKEM768"));
        Assert.Equal("SecP384r1MLKEM1024", (await client.GetStatusAsync("SAE-B")).TlsGroup);
    }

    [Theory]
    [InlineData(TlsProfile.Hybrid)]
    [InlineData(TlsProfile.PostQuantumOnly)]
    public async Task Master_and_slave_receive_the_same_keys_over_post_quantum_TLS(TlsProfile profile)
    {
        // PFX for the master, PEM for the slave: both forms of client certificate go through BouncyCastle.
        var master = Settings(_f.Hybrid.KmeA, profile);
        master.ClientCertificate = _f.SaeA.Pfx;
        master.ClientKey = null;
        var slave = Settings(_f.Hybrid.KmeB, profile);
        (slave.SaeId, slave.ClientCertificate, slave.ClientKey) = ("SAE-B", _f.SaeB.CertificatePem, _f.SaeB.PrivateKeyPem);
        using var masterClient = new EtsiKmeClient(master);
        using var slaveClient = new EtsiKmeClient(slave);
        var sent = await masterClient.GetKeysAsync("SAE-B", 40, 256); // status and three enc_keys on pooled connections
        var received = await slaveClient.GetKeysWithIdsAsync("SAE-A", sent.Select(k => k.KeyId).ToList(), 256);
        Assert.Equal(40, sent.Count);
        Assert.All(sent.Zip(received), p => Assert.Equal(p.First.Key, p.Second.Key));
        Assert.All(_f.Hybrid.KmeA.Requests.Concat(_f.Hybrid.KmeB.Requests), r => Assert.Equal("X25519MLKEM768", r.TlsGroup));
        Assert.Equal(4, _f.Hybrid.KmeA.Requests.Count(r => r.StatusCode == 200));
    }

    [Fact]
    public async Task PostQuantumOnly_refuses_a_classical_only_KME_before_any_request()
    {
        using var client = new EtsiKmeClient(Settings(_f.Classical.KmeA, TlsProfile.PostQuantumOnly));
        var e = await Assert.ThrowsAsync<QKDLiteException>(() => client.GetStatusAsync("SAE-B"));
        Assert.Equal(ErrorIds.TlsPostQuantumRefused, e.ErrorId);
        Assert.Contains("X25519MLKEM768", e.Message);
        Assert.Empty(_f.Classical.KmeA.Requests);
    }

    [Fact]
    public async Task Hybrid_accepts_a_classical_only_KME_and_reports_the_classical_group()
    {
        using var client = new EtsiKmeClient(Settings(_f.Classical.KmeA, TlsProfile.Hybrid));
        var status = await client.GetStatusAsync("SAE-B");
        Assert.Equal("SAE-A", status.MasterSaeId);
        Assert.Equal("x25519", status.TlsGroup);
        Assert.False(status.PostQuantum);
        Assert.Equal("TLS 1.3", status.TlsProtocol);
    }

    [Fact]
    public async Task Classical_reports_its_profile_and_no_group()
    {
        using var client = new EtsiKmeClient(Settings(_f.Classical.KmeA, TlsProfile.Classical));
        var status = await client.GetStatusAsync("SAE-B");
        Assert.Equal(TlsProfile.Classical, status.TlsProfile);
        Assert.Null(status.TlsGroup);
        Assert.False(status.PostQuantum);
    }

    [Fact]
    public async Task A_KME_certificate_from_another_CA_is_refused_on_the_post_quantum_path()
    {
        var settings = Settings(_f.Hybrid.KmeA, TlsProfile.Hybrid);
        settings.CaCertificate = _f.Pki.Unrelated.WriteCaPem(_f.Dir, "other-ca-" + Guid.NewGuid().ToString("N"));
        using var client = new EtsiKmeClient(settings);
        var e = await Assert.ThrowsAsync<QKDLiteException>(() => client.GetStatusAsync("SAE-B"));
        Assert.Equal(ErrorIds.KmeCertificateInvalid, e.ErrorId);
        Assert.Contains("does not chain to the CA", e.Message);
        Assert.Empty(_f.Hybrid.KmeA.Requests);
    }

    [Fact]
    public async Task A_KME_certificate_for_another_host_name_is_refused()
    {
        using var client = new EtsiKmeClient(Settings(_f.OtherName.KmeA, TlsProfile.PostQuantumOnly));
        var e = await Assert.ThrowsAsync<QKDLiteException>(() => client.GetStatusAsync("SAE-B"));
        Assert.Equal(ErrorIds.KmeCertificateInvalid, e.ErrorId);
        Assert.Contains("does not name the host '127.0.0.1'", e.Message);
        Assert.Empty(_f.OtherName.KmeA.Requests);
    }

    [Fact]
    public async Task A_client_certificate_from_another_CA_is_refused_by_the_hybrid_KME()
    {
        using var stranger = _f.Pki.Unrelated.CreateClientCertificate("SAE-A");
        var files = stranger.WriteFiles(_f.Dir, "stranger-" + Guid.NewGuid().ToString("N"));
        var settings = Settings(_f.Hybrid.KmeA, TlsProfile.Hybrid);
        (settings.ClientCertificate, settings.ClientKey) = (files.CertificatePem, files.PrivateKeyPem);
        using var client = new EtsiKmeClient(settings);
        var e = await Assert.ThrowsAsync<QKDLiteException>(() => client.GetStatusAsync("SAE-B"));
        Assert.Equal(ErrorIds.KmeCertificateInvalid, e.ErrorId);
        Assert.Contains("refused the client certificate", e.Message);
        Assert.Empty(_f.Hybrid.KmeA.Requests);
    }

    [Fact]
    public async Task A_dead_first_URL_fails_over_to_the_hybrid_KME()
    {
        var settings = Settings(_f.Hybrid.KmeA, TlsProfile.Hybrid);
        settings.Urls.Insert(0, "https://127.0.0.1:9/");
        using var client = new EtsiKmeClient(settings);
        Assert.Equal("X25519MLKEM768", (await client.GetStatusAsync("SAE-B")).TlsGroup);
        Assert.Equal(_f.Hybrid.KmeA.BaseUri.ToString(), client.LastUrl);
    }

    [Fact]
    public async Task A_client_certificate_from_the_store_is_presented_through_BouncyCastle()
    {
        using var sae = _f.Pki.CreateClientCertificate("SAE-A");
        using var withKey = X509CertificateLoader.LoadPkcs12(sae.ExportPfx(), null, X509KeyStorageFlags.PersistKeySet | X509KeyStorageFlags.Exportable);
        using var store = new X509Store(StoreName.My, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        store.Add(withKey);
        try
        {
            var settings = Settings(_f.Hybrid.KmeA, TlsProfile.PostQuantumOnly);
            (settings.ClientCertificate, settings.ClientKey) = ("cert:" + withKey.Thumbprint, null);
            using var client = new EtsiKmeClient(settings);
            Assert.Equal("SAE-A", (await client.GetStatusAsync("SAE-B")).MasterSaeId);
        }
        finally
        {
            store.Remove(withKey);
        }
    }

    [Fact]
    public async Task An_RSA_client_certificate_is_presented_through_BouncyCastle()
    {
        // An RSA SAE certificate issued by the (ECDSA) test CA, whose key signs with RSA-PSS in TLS 1.3.
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var request = new CertificateRequest("CN=SAE-A", rsa, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")], false));
        using var caKey = _f.Pki.CaCertificate.GetECDsaPrivateKey()!;
        using var issued = request.Create(_f.Pki.CaCertificate.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey),
            DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1), [1, 2, 3, 4]);
        var name = Path.Combine(_f.Dir, "rsa-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(name + ".crt.pem", issued.ExportCertificatePem());
        File.WriteAllText(name + ".key.pem", rsa.ExportPkcs8PrivateKeyPem());
        var settings = Settings(_f.Hybrid.KmeA, TlsProfile.PostQuantumOnly);
        (settings.ClientCertificate, settings.ClientKey) = (name + ".crt.pem", name + ".key.pem");
        using var client = new EtsiKmeClient(settings);
        Assert.Equal("SAE-A", (await client.GetStatusAsync("SAE-B")).MasterSaeId);
    }

    [Theory]
    [InlineData(TlsProfile.Hybrid, new[] { "X25519" }, "not a post-quantum group")]
    [InlineData(TlsProfile.Hybrid, new[] { "X25519MLKEM768", "x25519mlkem768" }, "more than once")]
    [InlineData(TlsProfile.Classical, new[] { "X25519MLKEM768" }, "applies to TlsProfile Hybrid or PostQuantumOnly")]
    [InlineData((TlsProfile)7, new string[0], "TlsProfile 7 is not one of")]
    public void Bad_TLS_settings_are_refused_before_any_connection(TlsProfile profile, string[] groups, string why)
    {
        var settings = Settings(_f.Hybrid.KmeA, profile, groups);
        var e = Assert.Throws<QKDLiteException>(() => new EtsiKmeClient(settings));
        Assert.Equal(ErrorIds.KmeConfigurationInvalid, e.ErrorId);
        Assert.Contains(why, e.Message);
        Assert.Empty(_f.Hybrid.KmeA.Requests);
    }

    [Fact]
    public void A_plain_http_URL_is_refused_with_a_post_quantum_profile()
    {
        var settings = Settings(_f.Hybrid.KmeA, TlsProfile.Hybrid);
        settings.Urls = ["http://127.0.0.1:1/"];
        var e = Assert.Throws<QKDLiteException>(() => new EtsiKmeClient(settings));
        Assert.Equal(ErrorIds.KmeConfigurationInvalid, e.ErrorId);
        Assert.Contains("needs https:// URLs", e.Message);
    }
}
