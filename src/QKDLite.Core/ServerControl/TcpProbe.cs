using System;
using System.Net;
using System.Net.Sockets;

namespace QKDLite.Core.ServerControl;

/// <summary>Checks that a server accepts TCP connections: the state file alone could predate a failed bind.</summary>
public static class TcpProbe
{
    /// <summary>True when a TCP connection to <paramref name="host"/>:<paramref name="port"/> opens within <paramref name="timeout"/>.</summary>
    public static bool Accepts(string host, int port, TimeSpan timeout)
    {
        try
        {
            // A host name may resolve to IPv6 or IPv4 addresses: let the client choose.
            using var client = IPAddress.TryParse(host, out var address) ? new TcpClient(address.AddressFamily) : new TcpClient();
            var connect = client.ConnectAsync(host, port);
            return connect.Wait(timeout) && client.Connected;
        }
        catch (Exception e) when (e is SocketException or AggregateException or ObjectDisposedException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// The host to connect to for a listening URL: a wildcard address (0.0.0.0, [::], *, +) is
    /// reached through the loopback address of its family.
    /// </summary>
    public static string ConnectHost(string url)
    {
        // Kestrel writes wildcard URLs such as https://[::]:8443 or https://+:8443, which Uri may refuse.
        var authority = url;
        var scheme = authority.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0) authority = authority.Substring(scheme + 3);
        var slash = authority.IndexOf('/');
        if (slash >= 0) authority = authority.Substring(0, slash);
        string host;
        if (authority.StartsWith("[", StringComparison.Ordinal))
            host = authority.Substring(1, Math.Max(0, authority.IndexOf(']') - 1));
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon >= 0 ? authority.Substring(0, colon) : authority;
        }
        return host switch
        {
            "" or "*" or "+" or "0.0.0.0" => IPAddress.Loopback.ToString(),
            "::" => IPAddress.IPv6Loopback.ToString(),
            _ => host,
        };
    }
}
