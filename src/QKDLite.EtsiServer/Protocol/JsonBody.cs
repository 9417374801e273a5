using System;
using System.Text.Json;
using System.Text.Unicode;

namespace QKDLite.EtsiServer.Protocol;

/// <summary>Turns a request body into a JSON document, or says why it is not one.</summary>
internal static class JsonBody
{
    private static readonly JsonDocumentOptions Options = new()
    {
        // Nesting deeper than this has no use in ETSI requests and only costs work.
        MaxDepth = 32,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
    };

    /// <summary>True when the body holds nothing but white space.</summary>
    public static bool IsBlank(ReadOnlySpan<byte> body)
    {
        foreach (var b in WithoutBom(body))
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) return false;
        }
        return true;
    }

    /// <summary>Parses UTF-8 JSON (a leading byte order mark is allowed); null when it is not valid.</summary>
    public static JsonDocument? TryParse(ReadOnlyMemory<byte> body)
    {
        if (body.Span.StartsWith(Bom)) body = body[Bom.Length..];
        if (!Utf8.IsValid(body.Span)) return null;
        try
        {
            return JsonDocument.Parse(body, Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];

    private static ReadOnlySpan<byte> WithoutBom(ReadOnlySpan<byte> body) => body.StartsWith(Bom) ? body[Bom.Length..] : body;
}
