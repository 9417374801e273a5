using System;
using System.IO;
using System.IO.Pipelines;
using System.Security.Authentication;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;
using Org.BouncyCastle.Tls;
using QKDLite.Core.Tls;

namespace QKDLite.EtsiServer.Tls;

/// <summary>
/// Kestrel connection middleware (<c>ListenOptions.Use</c>) that speaks TLS through BouncyCastle for the
/// Hybrid and PostQuantumOnly profiles: handshake, then the HTTP layer reads and writes plaintext pipes
/// while <see cref="NonBlockingTlsConnection"/> moves records. A refused handshake never reaches HTTP.
/// </summary>
internal sealed class PostQuantumTlsMiddleware
{
    private readonly ConnectionDelegate _next;
    private readonly PostQuantumTlsOptions _options;
    private readonly ILogger _logger;

    public PostQuantumTlsMiddleware(ConnectionDelegate next, PostQuantumTlsOptions options, ILogger logger)
    {
        _next = next;
        _options = options;
        _logger = logger;
    }

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        var server = new PostQuantumTlsServer(_options.Crypto, _options);
        var protocol = new TlsServerProtocol();
        var network = connection.Transport;
        var tls = new NonBlockingTlsConnection(protocol, network);
        try
        {
            if (!await HandshakeAsync(connection, server, protocol, tls)) return;

            var parameters = server.SecurityParameters;
            var features = new TlsConnectionFeatures(server.ClientCertificate!,
                parameters.ApplicationProtocol?.GetBytes() ?? ReadOnlyMemory<byte>.Empty,
                PostQuantumGroups.NameOf(server.NegotiatedGroup),
                TlsUtilities.IsTlsV13(parameters.NegotiatedVersion) ? SslProtocols.Tls13 : SslProtocols.Tls12);
            connection.Features.Set<ITlsConnectionFeature>(features);
            connection.Features.Set<ITlsApplicationProtocolFeature>(features);
            connection.Features.Set<ITlsKeyExchangeFeature>(features);

            var toHttp = new Pipe(new PipeOptions(useSynchronizationContext: false));
            var fromHttp = new Pipe(new PipeOptions(useSynchronizationContext: false));
            using var stopReading = new CancellationTokenSource();
            var pumping = tls.RunAsync(toHttp.Writer, fromHttp.Reader, stopReading.Token);
            connection.Transport = new DuplexPipe(toHttp.Reader, fromHttp.Writer);
            try
            {
                await _next(connection);
            }
            finally
            {
                // The HTTP layer is done: close_notify goes out after its last bytes, and the read loop
                // stops waiting for a client that keeps the connection open.
                await fromHttp.Writer.CompleteAsync();
                await toHttp.Reader.CompleteAsync();
                stopReading.Cancel();
                await pumping;
                connection.Transport = network;
            }
        }
        finally
        {
            server.ClientCertificate?.Dispose();
        }
    }

    private async Task<bool> HandshakeAsync(ConnectionContext connection, PostQuantumTlsServer server, TlsServerProtocol protocol, NonBlockingTlsConnection tls)
    {
        var stopping = connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        using var timeout = new CancellationTokenSource(_options.HandshakeTimeout);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, connection.ConnectionClosed, stopping);
        try
        {
            protocol.Accept(server);
            await tls.HandshakeAsync(cancel.Token);
            return server.ClientCertificate is not null;
        }
        catch (TlsFatalAlert alert)
        {
            LogRefused(connection, server, server.RefusalReason ?? $"{AlertDescription.GetText(alert.AlertDescription)}: {alert.Message}");
        }
        catch (TlsFatalAlertReceived alert)
        {
            LogRefused(connection, server, $"the client ended the handshake ({AlertDescription.GetText(alert.AlertDescription)})");
        }
        catch (OperationCanceledException)
        {
            _logger.LogDebug("A TLS handshake from {Remote} did not complete in time or the server is stopping.", connection.RemoteEndPoint);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            _logger.LogDebug("A TLS handshake from {Remote} ended: {Message}", connection.RemoteEndPoint, e.Message);
        }
        return false;
    }

    private void LogRefused(ConnectionContext connection, PostQuantumTlsServer server, string reason)
    {
        // The group is known once the ServerHello is out: it tells an administrator whether a refused
        // appliance could do post-quantum key exchange at all.
        var group = server.NegotiatedGroup >= 0 ? PostQuantumGroups.NameOf(server.NegotiatedGroup) : "none agreed";
        _logger.LogWarning("Refused a TLS handshake from {Remote} on a {Profile} listener: {Reason} (key exchange: {Group}).",
            connection.RemoteEndPoint, _options.Profile, reason, group);
    }

    private sealed class DuplexPipe : IDuplexPipe
    {
        public DuplexPipe(PipeReader input, PipeWriter output)
        {
            Input = input;
            Output = output;
        }

        public PipeReader Input { get; }

        public PipeWriter Output { get; }
    }
}
