using System;
using System.IO;
using System.Text.Json;
using QKDLite.Core.Errors;

namespace QKDLite.EtsiServer.Audit;

/// <summary>
/// The append-only audit log: one JSON object per line per request, flushed as written, so that a
/// crash loses at most the line being written. Owner-only on Unix.
/// </summary>
internal sealed class AuditLog : IDisposable
{
    private readonly object _gate = new();
    private readonly FileStream _stream;

    private AuditLog(string path, FileStream stream)
    {
        Path = path;
        _stream = stream;
    }

    public string Path { get; }

    /// <summary>Opens (creating if needed) the log for appending.</summary>
    public static AuditLog Open(string path)
    {
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.Append,
                Access = FileAccess.Write,
                Share = FileShare.Read,
            };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            return new AuditLog(path, new FileStream(path, options));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new QKDLiteException(ErrorIds.EtsiServerStartFailed, QKDLiteErrorCategory.WriteError,
                $"The ETSI server cannot write its audit log '{path}': {e.Message}", path, e);
        }
    }

    /// <summary>Appends one record.</summary>
    public void Write(AuditRecord record)
    {
        var line = Serialize(record);
        lock (_gate)
        {
            _stream.Write(line);
            _stream.Flush();
        }
    }

    public void Dispose()
    {
        lock (_gate) _stream.Dispose();
    }

    internal static byte[] Serialize(AuditRecord record)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("time", record.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("remote", record.Remote);
            w.WriteString("sae", AuditRecord.Cut(record.SaeId));
            w.WriteString("thumbprint", record.Thumbprint);
            w.WriteString("tlsGroup", record.TlsGroup);
            w.WriteString("method", record.Method);
            w.WriteString("endpoint", AuditRecord.Cut(record.Endpoint));
            w.WriteString("pathSae", AuditRecord.Cut(record.PathSaeId));
            w.WriteString("keyId", record.KeyId);
            w.WriteStartArray("keyIds");
            foreach (var id in record.KeyIds ?? Array.Empty<string>()) w.WriteStringValue(AuditRecord.Cut(id));
            w.WriteEndArray();
            w.WriteNumber("status", record.Status);
            w.WriteString("outcome", record.Outcome);
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }
}
