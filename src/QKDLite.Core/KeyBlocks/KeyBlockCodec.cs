using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;
using QKDLite.Core.KeyStore;

namespace QKDLite.Core.KeyBlocks;

/// <summary>
/// The key block text format, version 1:
/// <c>QKDLKB1.{header}.{wrapped key}.{mac}</c>, each part unpadded Base64url. The header is UTF-8
/// JSON; the wrapped key is RFC 5649 (AES key wrap with padding) under the transport key; the MAC is
/// HMAC-SHA256, under a key derived from the transport key, over the ASCII text before the last dot.
/// Only canonical Base64url is accepted, so that no change to the text goes unnoticed.
/// </summary>
internal static class KeyBlockCodec
{
    public const string Prefix = "QKDLKB";
    public const int Version = 1;

    public sealed class Parsed
    {
        public Parsed(KeyBlockHeader header, byte[] wrapped, byte[] signedPart, byte[] mac)
        {
            Header = header;
            Wrapped = wrapped;
            SignedPart = signedPart;
            Mac = mac;
        }

        public KeyBlockHeader Header { get; }
        public byte[] Wrapped { get; }
        public byte[] SignedPart { get; }
        public byte[] Mac { get; }
    }

    /// <summary>The text the MAC is computed over.</summary>
    public static byte[] SignedPart(KeyBlockHeader header, byte[] wrapped) =>
        Encoding.ASCII.GetBytes($"{Prefix}{Version}.{Base64Url(EncodeHeader(header))}.{Base64Url(wrapped)}");

    public static string Text(byte[] signedPart, byte[] mac) => Encoding.ASCII.GetString(signedPart) + "." + Base64Url(mac);

    public static Parsed Parse(string? text)
    {
        var line = (text ?? string.Empty).Trim();
        var parts = line.Split('.');
        if (!line.StartsWith(Prefix, StringComparison.Ordinal) || parts.Length < 1)
            throw Malformed("it does not start with " + Prefix);
        var version = parts[0].Substring(Prefix.Length);
        if (version != Version.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            if (version.Length > 0 && version.Length < 6 && int.TryParse(version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var other) && other.ToString(System.Globalization.CultureInfo.InvariantCulture) == version)
                throw new QKDLiteException(ErrorIds.KeyBlockVersionUnsupported, QKDLiteErrorCategory.InvalidData,
                    $"The key block has format version {other}; this QKDLite reads version {Version}. Update QKDLite on this node.", other);
            throw Malformed("its format version is not readable");
        }
        if (parts.Length != 4) throw Malformed($"it has {parts.Length} parts instead of 4");
        var headerBytes = FromBase64Url(parts[1], "header");
        var wrapped = FromBase64Url(parts[2], "wrapped key");
        var mac = FromBase64Url(parts[3], "MAC");
        if (mac.Length != 32) throw Malformed("its MAC is not 32 bytes");
        if (wrapped.Length < 16 || wrapped.Length % 8 != 0) throw Malformed("its wrapped key has an impossible length");
        var signed = Encoding.ASCII.GetBytes(line.Substring(0, line.LastIndexOf('.')));
        return new Parsed(DecodeHeader(headerBytes), wrapped, signed, mac);
    }

    private static byte[] EncodeHeader(KeyBlockHeader header)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", Version);
            writer.WriteString("label", header.Label);
            writer.WriteString("keyId", header.KeyId);
            writer.WriteNumber("size", header.SizeBits);
            writer.WriteString("source", header.Source.ToString());
            writer.WriteNumber("created", KeyRecord.ToUnixMicroseconds(header.Created));
            writer.WriteString("kcv", header.CheckValue);
            writer.WriteString("tk", header.TransportKeyCheckValue);
            writer.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static KeyBlockHeader DecodeHeader(byte[] json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Malformed("its header is not a JSON object");
            if (root.GetProperty("v").GetInt32() != Version) throw Malformed("its header version does not match its prefix");
            if (!Enum.TryParse<KeySource>(root.GetProperty("source").GetString(), false, out var source) || !Enum.IsDefined(typeof(KeySource), source))
                throw Malformed("its header names an unknown key source");
            return new KeyBlockHeader(
                root.GetProperty("label").GetString() ?? throw Malformed("its header has no label"),
                root.GetProperty("keyId").GetString() ?? throw Malformed("its header has no keyId"),
                root.GetProperty("size").GetInt32(),
                source,
                KeyRecord.FromUnixMicroseconds(root.GetProperty("created").GetInt64()),
                root.GetProperty("kcv").GetString() ?? throw Malformed("its header has no check value"),
                root.GetProperty("tk").GetString() ?? throw Malformed("its header has no transport key check value"));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentOutOfRangeException)
        {
            throw Malformed("its header is not valid: " + e.Message, e);
        }
    }

    public static string Base64Url(byte[] value) =>
        Convert.ToBase64String(value).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text, string part)
    {
        if (text.Length == 0) throw Malformed($"its {part} is empty");
        var standard = text.Replace('-', '+').Replace('_', '/');
        standard += new string('=', (4 - standard.Length % 4) % 4);
        byte[] value;
        try
        {
            value = Convert.FromBase64String(standard);
        }
        catch (FormatException e)
        {
            throw Malformed($"its {part} is not Base64url", e);
        }
        // Several texts decode to the same bytes (unused low bits); accept only the one we would write.
        if (Base64Url(value) != text) throw Malformed($"its {part} is not canonical Base64url");
        return value;
    }

    private static QKDLiteException Malformed(string why, Exception? inner = null) =>
        new(ErrorIds.KeyBlockMalformed, QKDLiteErrorCategory.InvalidData, $"The text is not a valid key block: {why}. Nothing was imported.", null, inner);
}
