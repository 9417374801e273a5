using System;
using System.IO;

namespace QKDLite.Core.Tls;

/// <summary>Why a BouncyCastle TLS connection could not be made.</summary>
internal enum TlsConnectFailure
{
    /// <summary>The TCP connection was refused, or the host name does not resolve.</summary>
    Unreachable,
    /// <summary>The server's certificate does not chain to the CA or does not name the host.</summary>
    ServerCertificateUntrusted,
    /// <summary>The server refused this client's certificate (or that none was sent).</summary>
    ClientCertificateRefused,
    /// <summary>PostQuantumOnly: the server agreed to none of the post-quantum groups offered.</summary>
    PostQuantumRefused,
    /// <summary>Any other handshake failure.</summary>
    HandshakeFailed,
}

/// <summary>A failed BouncyCastle TLS connection, with the reason sorted so callers can give a specific error.</summary>
internal sealed class TlsConnectException : IOException
{
    public TlsConnectException(TlsConnectFailure failure, string message, Exception? inner = null)
        : base(message, inner) => Failure = failure;

    /// <summary>The sorted reason.</summary>
    public TlsConnectFailure Failure { get; }

    /// <summary>
    /// A fatal alert that refuses this client's certificate, sorted; null for other alerts. In TLS 1.3
    /// the server checks the client certificate after the client finished its handshake, so this
    /// alert also arrives with the first answer.
    /// </summary>
    public static TlsConnectException? ClientCertificateAlert(short alert, string where, Exception inner) =>
        alert is Org.BouncyCastle.Tls.AlertDescription.bad_certificate or Org.BouncyCastle.Tls.AlertDescription.certificate_required
            or Org.BouncyCastle.Tls.AlertDescription.unknown_ca or Org.BouncyCastle.Tls.AlertDescription.certificate_unknown
            or Org.BouncyCastle.Tls.AlertDescription.certificate_expired or Org.BouncyCastle.Tls.AlertDescription.certificate_revoked
            or Org.BouncyCastle.Tls.AlertDescription.unsupported_certificate or Org.BouncyCastle.Tls.AlertDescription.access_denied
            ? new TlsConnectException(TlsConnectFailure.ClientCertificateRefused,
                $"{where} refused the client certificate (alert {Org.BouncyCastle.Tls.AlertDescription.GetText(alert)} from the server)", inner)
            : null;

    /// <summary>The first <see cref="TlsConnectException"/> in <paramref name="e"/>'s inner chain, or null.</summary>
    public static TlsConnectException? Find(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is TlsConnectException found) return found;
        return null;
    }
}
