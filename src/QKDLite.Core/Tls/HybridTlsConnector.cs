using System;
using System.IO;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Org.BouncyCastle.Tls;

namespace QKDLite.Core.Tls;

/// <summary>Opens a TCP connection and runs a Hybrid or PostQuantumOnly TLS handshake over it.</summary>
internal static class HybridTlsConnector
{
    /// <summary>
    /// Connects to <paramref name="host"/>:<paramref name="port"/>; on failure throws a
    /// <see cref="TlsConnectException"/> saying why (or OperationCanceledException when cancelled).
    /// </summary>
    public static async Task<(BcTlsStream Stream, HybridTlsClient Client)> ConnectAsync(string host, int port, TlsClientOptions options, CancellationToken cancellation)
    {
        var client = new HybridTlsClient(options, host);
        var tcp = new TcpClient(); // resolves the host and tries each of its addresses, IPv4 and IPv6
        try
        {
            // TcpClient.ConnectAsync takes no token in netstandard2.0: closing the socket ends a pending connect.
            using (cancellation.Register(() => tcp.Dispose()))
            {
                try
                {
                    await tcp.ConnectAsync(host, port).ConfigureAwait(false);
                    tcp.NoDelay = true;
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    cancellation.ThrowIfCancellationRequested();
                    throw new TlsConnectException(TlsConnectFailure.Unreachable, $"{host}:{port} could not be reached: {e.Message}", e);
                }
            }
            try
            {
                var stream = await BcTlsStream.ConnectAsync(tcp.GetStream(), client, $"{host}:{port}", cancellation).ConfigureAwait(false);
                return (stream, client);
            }
            catch (Exception e) when (e is IOException or TlsException or ObjectDisposedException)
            {
                cancellation.ThrowIfCancellationRequested();
                throw Sort(e, client, options, host, port);
            }
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    private static TlsConnectException Sort(Exception e, HybridTlsClient client, TlsClientOptions options, string host, int port)
    {
        var where = $"{host}:{port}";
        if (client.CertificateProblem is not null)
            return new TlsConnectException(TlsConnectFailure.ServerCertificateUntrusted, $"the server certificate of {where} is not trusted: {client.CertificateProblem}", e);
        var alert = (e as TlsFatalAlertReceived)?.AlertDescription ?? (e.InnerException as TlsFatalAlertReceived)?.AlertDescription;
        var alertText = alert is short a ? $"alert {AlertDescription.GetText(a)} from the server" : e.Message;
        if (client.ClientCertificateProblem is not null)
            return new TlsConnectException(TlsConnectFailure.ClientCertificateRefused, $"{where}: {client.ClientCertificateProblem} ({alertText})", e);
        if (alert is short refused && TlsConnectException.ClientCertificateAlert(refused, where, e) is { } certificateRefused)
            return certificateRefused;
        // A classical-only server answers a post-quantum-only hello with handshake_failure (no common
        // group) or protocol_version (no TLS 1.3), or simply hangs up before its ServerHello.
        if (options.Profile == TlsProfile.PostQuantumOnly && client.Negotiated is null && client.ServerCertificate is null
            && (alert is null or AlertDescription.handshake_failure or AlertDescription.insufficient_security
                or AlertDescription.illegal_parameter or AlertDescription.protocol_version))
            return new TlsConnectException(TlsConnectFailure.PostQuantumRefused,
                $"{where} agreed to none of the post-quantum groups offered ({string.Join(", ", GroupNames(options))}): it appears to support classical key exchange only ({alertText})", e);
        return new TlsConnectException(TlsConnectFailure.HandshakeFailed, $"the TLS handshake with {where} failed: {alertText}", e);
    }

    private static System.Collections.Generic.IEnumerable<string> GroupNames(TlsClientOptions options)
    {
        foreach (var group in options.Groups) yield return PostQuantumGroups.NameOf(group);
    }
}
