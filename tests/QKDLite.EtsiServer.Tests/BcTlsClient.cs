using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using HashAlgorithm = Org.BouncyCastle.Tls.HashAlgorithm;
using TlsCertificateRequest = Org.BouncyCastle.Tls.CertificateRequest;

namespace QKDLite.EtsiServer.Tests;

/// <summary>
/// What a BouncyCastle test client offers: key-exchange groups (supported_groups, in order), the groups
/// it sends early key shares for, TLS versions, and the client certificate (none if null).
/// </summary>
internal sealed record BcClientOffer(int[] Groups, int[] EarlyShares, ProtocolVersion[] Versions, X509Certificate2? Certificate)
{
    /// <summary>A hybrid-capable TLS 1.3 client with a key share for <paramref name="group"/> only.</summary>
    public static BcClientOffer Hybrid(int group, X509Certificate2? certificate) =>
        new([group, NamedGroup.x25519, NamedGroup.secp256r1], [group], ProtocolVersion.TLSv13.Only(), certificate);

    /// <summary>A client that knows only classical groups, TLS 1.3 and 1.2.</summary>
    public static BcClientOffer Classical(X509Certificate2? certificate) =>
        new([NamedGroup.x25519, NamedGroup.secp256r1], [NamedGroup.x25519], ProtocolVersion.TLSv13.DownTo(ProtocolVersion.TLSv12), certificate);
}

/// <summary>A BouncyCastle TLS client (blocking mode: tests only) that trusts the test CA.</summary>
internal sealed class BcTestTlsClient : DefaultTlsClient
{
    private readonly BcClientOffer _offer;

    public BcTestTlsClient(BcClientOffer offer)
        : base(new BcTlsCrypto(new SecureRandom())) => _offer = offer;

    /// <summary>The group the handshake agreed on (a <see cref="NamedGroup"/> code).</summary>
    public int NegotiatedGroup => m_context.SecurityParameters.NegotiatedGroup;

    public ProtocolVersion NegotiatedVersion => m_context.SecurityParameters.NegotiatedVersion;

    public override ProtocolVersion[] GetProtocolVersions() => _offer.Versions;

    protected override IList<int> GetSupportedGroups(IList<int> namedGroupRoles) => _offer.Groups;

    public override IList<int> GetEarlyKeyShareGroups() => _offer.EarlyShares;

    protected override IList<ProtocolName> GetProtocolNames() => [ProtocolName.Http_1_1];

    public override TlsAuthentication GetAuthentication() => new Authentication(this);

    private sealed class Authentication : TlsAuthentication
    {
        private readonly BcTestTlsClient _client;

        public Authentication(BcTestTlsClient client) => _client = client;

        public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
        {
            var chain = serverCertificate.Certificate.GetCertificateList();
            if (chain.Length == 0) throw new TlsFatalAlert(AlertDescription.bad_certificate);
            using var server = X509CertificateLoader.LoadCertificate(chain[0].GetEncoded());
            using var check = new X509Chain();
            check.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            check.ChainPolicy.CustomTrustStore.Add(Pki.Ca.CaCertificate);
            check.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (!check.Build(server)) throw new TlsFatalAlert(AlertDescription.bad_certificate, "the server certificate does not chain to the test CA");
        }

        public TlsCredentials? GetClientCredentials(TlsCertificateRequest certificateRequest)
        {
            var certificate = _client._offer.Certificate;
            if (certificate is null) return null;
            var context = _client.m_context;
            var crypto = (BcTlsCrypto)_client.Crypto;
            using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("test client certificates are ECDSA");
            var pkcs8 = key.ExportPkcs8PrivateKey();
            var privateKey = PrivateKeyFactory.CreateKey(pkcs8);
            Array.Clear(pkcs8);
            var tlsCertificate = crypto.CreateCertificate(certificate.RawData);
            var bcCertificate = TlsUtilities.IsTlsV13(context)
                ? new Certificate(certificateRequest.GetCertificateRequestContext(), [new CertificateEntry(tlsCertificate, null)])
                : new Certificate([tlsCertificate]);
            return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), crypto, privateKey, bcCertificate,
                SignatureAndHashAlgorithm.GetInstance(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa));
        }
    }
}

/// <summary>Connects BouncyCastle TLS clients to the server, alone or under an <see cref="HttpClient"/>.</summary>
internal static class BcTls
{
    // This blocking-mode client holds a pool thread per pending read and handshake, and the servers
    // under test run in this process on the same pool: with a hundred connections at once the pool
    // would starve them (handshakes and requests stalled until the client's timeouts). Threads are
    // made available at once instead of being injected slowly.
    static BcTls()
    {
        ThreadPool.GetMinThreads(out var workers, out var completion);
        if (workers < 256) ThreadPool.SetMinThreads(256, completion);
    }


    /// <summary>A finished handshake: the client (negotiated group, version) and the protocol to talk through.</summary>
    public sealed record Connection(BcTestTlsClient Client, TlsClientProtocol Protocol, Socket Socket) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                Protocol.Close();
            }
            catch (IOException)
            {
            }
            Socket.Dispose();
        }
    }

    /// <summary>Connects and completes the handshake; throws <see cref="TlsFatalAlert"/>/<see cref="IOException"/> when refused.</summary>
    public static async Task<Connection> ConnectAsync(int port, BcClientOffer offer)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port);
            var client = new BcTestTlsClient(offer);
            var protocol = new TlsClientProtocol(new NetworkStream(socket, ownsSocket: false) { ReadTimeout = 20_000 });
            await Task.Run(() => protocol.Connect(client));
            return new Connection(client, protocol, socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An HttpClient whose connections are BouncyCastle TLS (plain http:// URIs, so that no SslStream is
    /// layered on top); <paramref name="groups"/> receives the group of each new connection.
    /// </summary>
    public static HttpClient CreateHttpClient(int port, BcClientOffer offer, List<int>? groups = null)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            ConnectCallback = async (_, cancellation) =>
            {
                var connection = await ConnectAsync(port, offer);
                if (groups is not null) lock (groups) groups.Add(connection.Client.NegotiatedGroup);
                return new IndependentStream(connection);
            },
        };
        return new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}/"),
            Timeout = TimeSpan.FromSeconds(20),
        };
    }

    /// <summary>
    /// BouncyCastle's blocking stream with reads and writes on their own threads: the base Stream's async
    /// methods share one lock, so a pending read would hold up every write.
    /// </summary>
    private sealed class IndependentStream : Stream
    {
        private readonly Connection _connection;
        private readonly Stream _inner;

        public IndependentStream(Connection connection)
        {
            _connection = connection;
            _inner = connection.Protocol.Stream;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => _inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

        public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>

            Task.Run(() => _inner.Read(buffer, offset, count), cancellationToken);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var array = new byte[buffer.Length];
            return new ValueTask<int>(Task.Run(() =>
            {
                var read = _inner.Read(array, 0, array.Length);
                array.AsSpan(0, read).CopyTo(buffer.Span);
                return read;
            }, cancellationToken));
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.Run(() => _inner.Write(buffer, offset, count), cancellationToken);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var array = buffer.ToArray();
            return new ValueTask(Task.Run(() => _inner.Write(array, 0, array.Length), cancellationToken));
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _connection.Dispose();
            base.Dispose(disposing);
        }
    }
}
