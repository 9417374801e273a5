using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using QKDLite.TestKme;
using Xunit;

namespace QKDLite.TestKme.Tests;

/// <summary>Mutual TLS: a client certificate chaining to the test CA is required; the server certificate fits 127.0.0.1.</summary>
public sealed class TlsTests
{
    [Fact]
    public async Task The_default_pair_makes_its_own_RSA_PKI_and_serves_a_round_trip()
    {
        await using var pair = await TestKmePair.StartAsync();
        using var saeA = pair.Pki.CreateClientCertificate("SAE-A");
        using var saeB = pair.Pki.CreateClientCertificate("SAE-B");
        using var master = new Sae(pair, pair.KmeA, saeA);
        using var slave = new Sae(pair, pair.KmeB, saeB);

        var key = Assert.Single((await master.EncKeysAsync("SAE-B")).Keys);
        var fetched = Assert.Single((await slave.DecKeysAsync("SAE-A", key.Id)).Keys);

        Assert.Equal(TestKeyAlgorithm.Rsa2048, pair.Pki.Algorithm);
        Assert.NotNull(pair.KmeA.ServerCertificate.Certificate.GetRSAPublicKey());
        Assert.Equal(key.Key, fetched.Key);
        Assert.Equal(10000, pair.Options.PoolSize);
    }

    [Fact]
    public async Task Without_a_client_certificate_the_handshake_is_refused()
    {
        await using var pair = await Shared.StartPairAsync();
        using var anonymous = new Sae(pair, pair.KmeA, certificate: null);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => anonymous.StatusAsync("SAE-B"));
        Assert.Empty(pair.KmeA.Requests);
    }

    [Fact]
    public async Task A_client_certificate_from_another_CA_is_refused_even_with_a_known_CN()
    {
        await using var pair = await Shared.StartPairAsync();
        using var impostor = new Sae(pair, pair.KmeA, Shared.WrongCa);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => impostor.StatusAsync("SAE-B"));
        Assert.Empty(pair.KmeA.Requests);
    }

    [Fact]
    public async Task An_expired_client_certificate_is_refused()
    {
        await using var pair = await Shared.StartPairAsync();
        using var expired = Shared.Pki.CreateClientCertificate(
            "SAE-A", DateTimeOffset.UtcNow.AddMinutes(-50), DateTimeOffset.UtcNow.AddMinutes(-5));
        using var sae = new Sae(pair, pair.KmeA, expired);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => sae.StatusAsync("SAE-B"));
    }

    [Fact]
    public async Task A_server_certificate_is_not_accepted_as_client_certificate()
    {
        await using var pair = await Shared.StartPairAsync();
        using var sae = new Sae(pair, pair.KmeA, pair.KmeB.ServerCertificate); // EKU serverAuth only

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => sae.StatusAsync("SAE-B"));
    }

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task TLS_1_2_and_1_3_are_accepted(SslProtocols protocol)
    {
        await using var pair = await Shared.StartPairAsync();
        using var handler = TestKmeClient.CreateHandler(Shared.Pki.CaCertificate, Shared.SaeA.Certificate);
        handler.SslOptions.EnabledSslProtocols = protocol;
        using var http = new HttpClient(handler) { BaseAddress = pair.KmeA.BaseUri };

        using var response = await http.GetAsync("api/v1/keys/SAE-B/status");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task The_client_helper_refuses_a_KME_whose_certificate_is_from_another_CA()
    {
        await using var pair = await Shared.StartPairAsync();
        using var http = TestKmeClient.CreateHttpClient(pair.KmeA.BaseUri, Shared.Pki.Unrelated.CaCertificate, Shared.SaeA.Certificate);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetAsync("api/v1/keys/SAE-B/status"));
    }

    [Fact]
    public async Task Server_certificates_name_localhost_and_the_loopback_addresses()
    {
        await using var pair = await Shared.StartPairAsync();
        var certificate = pair.KmeA.ServerCertificate.Certificate;
        var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();

        Assert.Equal(["localhost"], san.EnumerateDnsNames());
        Assert.Equal([IPAddress.Loopback, IPAddress.IPv6Loopback], san.EnumerateIPAddresses());
        Assert.True(certificate.MatchesHostname("127.0.0.1"));
        Assert.True(certificate.MatchesHostname("localhost"));
        Assert.True(Shared.Pki.ValidateServerCertificate(certificate));
        Assert.False(Shared.Pki.ValidateClientCertificate(certificate));
        Assert.False(Shared.Pki.Unrelated.ValidateServerCertificate(certificate));
        Assert.Equal(IPAddress.Loopback.ToString(), pair.KmeA.BaseUri.Host);
        Assert.NotEqual(pair.KmeA.Port, pair.KmeB.Port);
    }
}
