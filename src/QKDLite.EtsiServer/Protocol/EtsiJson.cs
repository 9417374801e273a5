using System;
using System.Buffers;
using System.Collections.Generic;
using System.Text.Encodings.Web;
using System.Text.Json;
using QKDLite.Core.KeyStore;

namespace QKDLite.EtsiServer.Protocol;

/// <summary>Writes the ETSI GS QKD 014 answers: Status, Key container and Error.</summary>
internal static class EtsiJson
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The Status data format (section 6.1 of the standard).</summary>
    public static byte[] Status(EtsiStatus status) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("source_KME_ID", status.SourceKmeId);
        w.WriteString("target_KME_ID", status.TargetKmeId);
        w.WriteString("master_SAE_ID", status.MasterSaeId);
        w.WriteString("slave_SAE_ID", status.SlaveSaeId);
        w.WriteNumber("key_size", status.KeySize);
        w.WriteNumber("stored_key_count", status.StoredKeyCount);
        w.WriteNumber("max_key_count", status.MaxKeyCount);
        w.WriteNumber("max_key_per_request", status.MaxKeyPerRequest);
        w.WriteNumber("max_key_size", status.MaxKeySize);
        w.WriteNumber("min_key_size", status.MinKeySize);
        w.WriteNumber("max_SAE_ID_count", status.MaxSaeIdCount);
        w.WriteEndObject();
    });

    /// <summary>The Error data format: message and optional details.</summary>
    public static byte[] Error(EtsiError error) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("message", error.Message);
        if (error.Details is { Count: > 0 })
        {
            w.WriteStartArray("details");
            foreach (var (name, value) in error.Details)
            {
                w.WriteStartObject();
                w.WriteNumber(name, value);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    });

    /// <summary>
    /// Writes the Key container for <paramref name="keys"/> into a buffer that zeroes itself when
    /// disposed: the answer holds the keys in Base64, so it is as secret as they are.
    /// </summary>
    public static ZeroingBufferWriter KeyContainer(IReadOnlyList<DeliveredKey> keys)
    {
        var capacity = 32;
        foreach (var key in keys) capacity += 48 + key.Label.Length * 6 + (key.Material.Length + 2) / 3 * 4;
        var buffer = new ZeroingBufferWriter(capacity);
        try
        {
            using var w = new Utf8JsonWriter(buffer, Options);
            w.WriteStartObject();
            w.WriteStartArray("keys");
            foreach (var key in keys)
            {
                w.WriteStartObject();
                w.WriteString("key_ID", key.Label);
                w.WriteBase64String("key", key.Material);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.Flush();
            return buffer;
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    private static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            write(writer);
        }
        return buffer.WrittenSpan.ToArray();
    }
}
