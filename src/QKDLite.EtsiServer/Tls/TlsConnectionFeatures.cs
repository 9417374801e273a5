using System;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace QKDLite.EtsiServer.Tls;

/// <summary>The key exchange a connection negotiated: what the audit log records beside each request.</summary>
internal interface ITlsKeyExchangeFeature
{
    /// <summary>The key-exchange group, such as X25519MLKEM768 or x25519.</summary>
    string Group { get; }

    /// <summary>TLS 1.2 or 1.3.</summary>
    SslProtocols Protocol { get; }
}

/// <summary>
/// What a BouncyCastle TLS connection tells Kestrel and the endpoint: the validated client certificate
/// (as <see cref="ITlsConnectionFeature"/>, exactly where the classical path puts it), the protocol chosen
/// by ALPN, and the key exchange.
/// </summary>
internal sealed class TlsConnectionFeatures : ITlsConnectionFeature, ITlsApplicationProtocolFeature, ITlsKeyExchangeFeature
{
    public TlsConnectionFeatures(X509Certificate2 clientCertificate, ReadOnlyMemory<byte> applicationProtocol, string group, SslProtocols protocol)
    {
        ClientCertificate = clientCertificate;
        ApplicationProtocol = applicationProtocol;
        Group = group;
        Protocol = protocol;
    }

    public X509Certificate2? ClientCertificate { get; set; }

    public ReadOnlyMemory<byte> ApplicationProtocol { get; }

    public string Group { get; }

    public SslProtocols Protocol { get; }

    /// <summary>The certificate came with the handshake (it is required): nothing to renegotiate.</summary>
    public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult(ClientCertificate);
}
