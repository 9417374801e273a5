using System;
using System.Buffers;
using System.IO;
using System.IO.Pipelines;
using System.Linq;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using CertificateRequest = Org.BouncyCastle.Tls.CertificateRequest;
using HashAlgorithm = Org.BouncyCastle.Tls.HashAlgorithm;

namespace QKDLite.TestKme;

/// <summary>TLS of a test KME.</summary>
public enum TestKmeTls
{
    /// <summary>Kestrel's own TLS (SslStream over OpenSSL): TLS 1.2 and 1.3, classical key exchange only.</summary>
    Platform,
    /// <summary>BouncyCastle TLS 1.3: every hybrid and ML-KEM group, and x25519, secp256r1, secp384r1 for classical clients.</summary>
    Hybrid,
    /// <summary>BouncyCastle TLS 1.3 with hybrid and ML-KEM groups only: a classical-only client is refused.</summary>
    PostQuantumOnly,
}

/// <summary>What a hybrid TLS handshake negotiated, as a connection feature (the request log shows the group).</summary>
public sealed class HybridTlsHandshake
{
    /// <summary>IANA name of the key-exchange group (BouncyCastle's text), e.g. X25519MLKEM768.</summary>
    public required string Group { get; init; }
}

/// <summary>
/// Hybrid TLS for the test KME, written independently of the product: Kestrel connection middleware
/// running BouncyCastle's blocking <see cref="TlsServerProtocol"/>, a thread per connection for the
/// handshake and for reading, and pipes between it and Kestrel. Client certificate required and checked
/// against the test CA, as on the platform TLS path.
/// </summary>
internal static class HybridTls
{
    public static void Use(ListenOptions listen, TestCertificate serverCertificate, TestPki pki, TestKmeTls mode)
    {
        var groups = mode == TestKmeTls.PostQuantumOnly
            ? new[] { NamedGroup.X25519MLKEM768, NamedGroup.SecP256r1MLKEM768, NamedGroup.SecP384r1MLKEM1024, NamedGroup.MLKEM768, NamedGroup.MLKEM1024 }
            : new[] { NamedGroup.X25519MLKEM768, NamedGroup.SecP256r1MLKEM768, NamedGroup.SecP384r1MLKEM1024, NamedGroup.MLKEM768, NamedGroup.MLKEM1024, NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1 };
        using var key = (AsymmetricAlgorithm?)serverCertificate.Certificate.GetRSAPrivateKey() ?? serverCertificate.Certificate.GetECDsaPrivateKey()!;
        var privateKey = PrivateKeyFactory.CreateKey(key.ExportPkcs8PrivateKey());
        listen.Use(next => connection => ServeAsync(connection, next, new Server(serverCertificate.Certificate.RawData, privateKey, pki, groups)));
    }

    private static async Task ServeAsync(ConnectionContext connection, ConnectionDelegate next, Server server)
    {
        var raw = new DuplexStream(connection.Transport.Input.AsStream(), connection.Transport.Output.AsStream());
        var protocol = new TlsServerProtocol(raw);
        var handshake = RunOnThread("hybrid TLS handshake", () => protocol.Accept(server));
        if (await Task.WhenAny(handshake, Task.Delay(TimeSpan.FromSeconds(10))) != handshake)
        {
            connection.Abort(); // a hung handshake
            return;
        }

        if (handshake.IsFaulted)
        {
            _ = handshake.Exception; // BouncyCastle has sent its alert; returning closes the connection after it
            return;
        }

        connection.Features.Set<ITlsConnectionFeature>(new ClientCertificateFeature(server.ClientCertificate));
        connection.Features.Set(new HybridTlsHandshake { Group = NamedGroup.GetName(server.NegotiatedGroup) });
        var fromClient = new Pipe();
        var toClient = new Pipe();
        var tls = protocol.Stream;
        _ = RunOnThread("hybrid TLS reader", () =>
        {
            var buffer = new byte[16 * 1024];
            try
            {
                int count;
                while ((count = tls.Read(buffer, 0, buffer.Length)) > 0)
                {
                    fromClient.Writer.Write(buffer.AsSpan(0, count));
                    if (fromClient.Writer.FlushAsync().AsTask().GetAwaiter().GetResult().IsCompleted)
                    {
                        break;
                    }
                }
            }
            catch (Exception e) when (e is IOException or TlsException or ObjectDisposedException or InvalidOperationException)
            {
                // the client went away
            }

            fromClient.Writer.Complete();
        });
        var writer = WriteAsync(toClient.Reader, tls);
        var original = connection.Transport;
        connection.Transport = new DuplexPipe(fromClient.Reader, toClient.Writer);
        try
        {
            await next(connection);
        }
        finally
        {
            connection.Transport = original;
            await toClient.Writer.CompleteAsync();
            await fromClient.Reader.CompleteAsync();
            await writer;
            try
            {
                protocol.Close();
            }
            catch (Exception e) when (e is IOException or TlsException or ObjectDisposedException or InvalidOperationException)
            {
                // the client went away first
            }
        }
    }

    private static async Task WriteAsync(PipeReader reader, Stream tls)
    {
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                foreach (var segment in result.Buffer)
                {
                    tls.Write(segment.Span);
                }

                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or TlsException or ObjectDisposedException or InvalidOperationException)
        {
            // the client went away
        }

        await reader.CompleteAsync();
    }

    private static Task RunOnThread(string name, Action action)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            try
            {
                action();
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        { IsBackground = true, Name = name }.Start();
        return done.Task;
    }

    /// <summary>The BouncyCastle server: TLS 1.3, the mode's groups, client certificate required.</summary>
    private sealed class Server(byte[] certificate, Org.BouncyCastle.Crypto.AsymmetricKeyParameter privateKey, TestPki pki, int[] groups)
        : DefaultTlsServer(new BcTlsCrypto(new SecureRandom()))
    {
        public X509Certificate2? ClientCertificate { get; private set; }

        public int NegotiatedGroup { get; private set; } = -1;

        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.TLSv13.Only();

        public override int[] GetSupportedGroups() => groups;

        public override TlsCredentials GetCredentials()
        {
            var crypto = (BcTlsCrypto)Crypto;
            var chain = new Certificate(Array.Empty<byte>(), [new CertificateEntry(crypto.CreateCertificate(certificate), null)]);
            var signature = privateKey is Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters
                ? SignatureAndHashAlgorithm.rsa_pss_rsae_sha256
                : SignatureAndHashAlgorithm.GetInstance(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa);
            return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(m_context), crypto, privateKey, chain, signature);
        }

        public override CertificateRequest GetCertificateRequest() =>
            new(Array.Empty<byte>(), TlsUtilities.GetDefaultSupportedSignatureAlgorithms(m_context), null, null);

        public override void NotifyClientCertificate(Certificate clientCertificate)
        {
            if (clientCertificate is null || clientCertificate.IsEmpty)
            {
                throw new TlsFatalAlert(AlertDescription.certificate_required);
            }

            var presented = X509CertificateLoader.LoadCertificate(clientCertificate.GetCertificateAt(0).GetEncoded());
            if (!pki.ValidateClientCertificate(presented))
            {
                presented.Dispose();
                throw new TlsFatalAlert(AlertDescription.bad_certificate);
            }

            ClientCertificate = presented;
        }

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            NegotiatedGroup = m_context.SecurityParameters.NegotiatedGroup;
        }
    }

    private sealed class ClientCertificateFeature(X509Certificate2? certificate) : ITlsConnectionFeature
    {
        public X509Certificate2? ClientCertificate { get; set; } = certificate;

        public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult(ClientCertificate);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>Kestrel's transport as one blocking stream for BouncyCastle: reads from one side, writes to the other.</summary>
    private sealed class DuplexStream(Stream input, Stream output) : Stream
    {
        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => input.Read(buffer, offset, count);

        public override void Write(byte[] buffer, int offset, int count)
        {
            output.Write(buffer, offset, count);
            output.Flush();
        }

        public override void Flush() => output.Flush();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
