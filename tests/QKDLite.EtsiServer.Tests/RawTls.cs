using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace QKDLite.EtsiServer.Tests;

/// <summary>
/// Speaks the first TLS message by hand, so that the server's protocol versions are tested whatever
/// this machine's own TLS library would allow a client to offer.
/// </summary>
internal static class RawTls
{
    public const ushort Tls10 = 0x0301;
    public const ushort Tls11 = 0x0302;
    public const ushort Tls12 = 0x0303;

    /// <summary>What came back first: a record type (22 handshake, 21 alert), the handshake type (2 ServerHello), or nothing.</summary>
    public sealed record Reply(byte? RecordType, byte? HandshakeType)
    {
        public bool IsServerHello => RecordType == 22 && HandshakeType == 2;
    }

    /// <summary>Sends a ClientHello offering only <paramref name="version"/> (no supported_versions extension) and reads the reply.</summary>
    public static async Task<Reply> HelloAsync(int port, ushort version)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(ClientHello(version));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var header = new byte[6];
        var read = 0;
        try
        {
            while (read < header.Length)
            {
                var n = await stream.ReadAsync(header.AsMemory(read), timeout.Token);
                if (n == 0) break;
                read += n;
            }
        }
        catch (Exception e) when (e is System.IO.IOException or SocketException)
        {
            // Reset by the server: an answer of sorts, and no ServerHello.
        }
        return new Reply(read >= 1 ? header[0] : null, read >= 6 ? header[5] : null);
    }

    private static byte[] ClientHello(ushort version)
    {
        var body = new List<byte>();
        Add16(body, version);
        body.AddRange(RandomNumberGenerator.GetBytes(32));
        body.Add(0); // no session id
        ushort[] suites = [0xC02B, 0xC02F, 0xC009, 0xC013, 0xC00A, 0xC014, 0x002F, 0x0035, 0x00FF];
        Add16(body, (ushort)(suites.Length * 2));
        foreach (var suite in suites) Add16(body, suite);
        body.Add(1);
        body.Add(0); // null compression

        var extensions = new List<byte>();
        var host = Encoding.ASCII.GetBytes("localhost");
        Extension(extensions, 0x0000, [.. Be16(host.Length + 3), 0, .. Be16(host.Length), .. host]);
        Extension(extensions, 0x000a, [0, 6, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]);
        Extension(extensions, 0x000b, [1, 0]);
        Extension(extensions, 0x000d, [0, 10, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03, 0x02, 0x01]);
        Add16(body, (ushort)extensions.Count);
        body.AddRange(extensions);

        var handshake = new List<byte> { 1, (byte)(body.Count >> 16), (byte)(body.Count >> 8), (byte)body.Count };
        handshake.AddRange(body);
        var record = new List<byte> { 22 };
        Add16(record, Tls10); // the record layer version of a first flight, as clients send it
        Add16(record, (ushort)handshake.Count);
        record.AddRange(handshake);
        return record.ToArray();
    }

    private static void Extension(List<byte> extensions, ushort type, byte[] data)
    {
        Add16(extensions, type);
        Add16(extensions, (ushort)data.Length);
        extensions.AddRange(data);
    }

    private static byte[] Be16(int value) => [(byte)(value >> 8), (byte)value];

    private static void Add16(List<byte> bytes, ushort value) => bytes.AddRange(Be16(value));
}
