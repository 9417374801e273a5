using System.Net;
using System.Net.Http;
using System.Security.Authentication;
using System.Threading.Tasks;
using QKDLite.EtsiServer.Tls;
using QKDLite.TestKme;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>TLS 1.2 and 1.3 only; the server's certificate is the configured one.</summary>
[Collection(ServerCollection.Name)]
public class TlsTests
{
    private readonly ServerFixture _server;

    public TlsTests(ServerFixture server) => _server = server;

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task TLS_1_2_and_1_3_clients_are_served(SslProtocols protocol)
    {
        using var handler = TestKmeClient.CreateHandler(Pki.Ca.CaCertificate, Pki.Master.Certificate);
        handler.SslOptions.EnabledSslProtocols = protocol;
        using var http = new HttpClient(handler) { BaseAddress = _server.BaseUri };

        using var response = await http.GetAsync("api/v1/keys/SAE-B/status");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData(RawTls.Tls10)]
    [InlineData(RawTls.Tls11)]
    public async Task TLS_1_0_and_1_1_hellos_get_no_ServerHello(ushort version)
    {
        // The same hand-made hello offering TLS 1.2 is answered: the probe itself works.
        Assert.True((await RawTls.HelloAsync(_server.Server.Port, RawTls.Tls12)).IsServerHello);

        var reply = await RawTls.HelloAsync(_server.Server.Port, version);

        Assert.False(reply.IsServerHello, $"record type {reply.RecordType}, handshake type {reply.HandshakeType}");
    }

    [Fact]
    public void The_server_asks_for_TLS_1_2_and_1_3_and_nothing_else()
    {
        // The operating system's default might still allow 1.0/1.1 on another machine; ours never does.
        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, TlsPolicy.Protocols);
    }

    [Fact]
    public async Task The_server_presents_the_configured_certificate()
    {
        string? seen = null;
        using var handler = TestKmeClient.CreateHandler(Pki.Ca.CaCertificate, Pki.Master.Certificate);
        var check = handler.SslOptions.RemoteCertificateValidationCallback!;
        handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
        {
            seen = (certificate as System.Security.Cryptography.X509Certificates.X509Certificate2)?.Thumbprint;
            return check(sender, certificate, chain, errors);
        };
        using var http = new HttpClient(handler) { BaseAddress = _server.BaseUri };

        using var response = await http.GetAsync("api/v1/keys/SAE-B/status");

        Assert.Equal(Pki.Server.Thumbprint, seen);
    }
}
