using System.Security.Authentication;

namespace QKDLite.EtsiServer.Tls;

/// <summary>The TLS versions the server speaks: ETSI GS QKD 014 asks for TLS 1.2 or later.</summary>
internal static class TlsPolicy
{
    /// <summary>TLS 1.2 and 1.3; never the operating system's default, which may still include older versions.</summary>
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;
}
