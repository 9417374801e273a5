using System;
using System.Collections.Generic;

namespace QKDLite.EtsiServer.Audit;

/// <summary>
/// What one request did, filled in as it is handled and written as one line of the audit log.
/// Holds identifiers only: never key bytes.
/// </summary>
internal sealed class AuditRecord
{
    /// <summary>Longest client-supplied text kept (path SAE ID, each key_ID): the log must not grow with what callers send.</summary>
    public const int MaxTextLength = 256;

    public DateTimeOffset Time { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>Remote address and port.</summary>
    public string? Remote { get; init; }

    /// <summary>The caller's SAE ID, or null when the certificate names none.</summary>
    public string? SaeId { get; set; }

    /// <summary>SHA-1 thumbprint of the client certificate.</summary>
    public string? Thumbprint { get; init; }

    public string? Method { get; init; }

    /// <summary>The TLS key-exchange group of the connection (X25519MLKEM768, x25519...), when the listener's TLS reports it.</summary>
    public string? TlsGroup { get; init; }

    /// <summary>status, enc_keys, dec_keys, or the path of any other request.</summary>
    public string? Endpoint { get; set; }

    /// <summary>The SAE ID named in the path.</summary>
    public string? PathSaeId { get; set; }

    /// <summary>The keyID of the pair served.</summary>
    public string? KeyId { get; set; }

    /// <summary>key_IDs requested (dec_keys) or delivered (enc_keys, dec_keys).</summary>
    public IReadOnlyList<string>? KeyIds { get; set; }

    public int Status { get; set; }

    /// <summary>"delivered", "status", or why the request was refused.</summary>
    public string? Outcome { get; set; }

    /// <summary>
    /// Client-supplied text cut to <see cref="MaxTextLength"/> characters. (The JSON writer escapes
    /// the rest, and writes lone surrogates as U+FFFD.)
    /// </summary>
    public static string? Cut(string? text) => text is null || text.Length <= MaxTextLength ? text : text[..MaxTextLength] + "...";
}
