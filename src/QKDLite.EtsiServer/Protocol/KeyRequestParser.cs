using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;

namespace QKDLite.EtsiServer.Protocol;

/// <summary>
/// Reads "get key" requests: a POST body or the GET query. Pure functions: no I/O, no exceptions
/// for any input; bad input gives a 400 error naming what is wrong.
/// </summary>
internal static class KeyRequestParser
{
    /// <summary>
    /// Parses a POST body. An empty body counts as <c>{}</c> (clients that send none mean the
    /// defaults). Unknown members are ignored; a known member given twice is refused.
    /// </summary>
    public static Parsed<KeyRequest> ParseBody(ReadOnlyMemory<byte> body)
    {
        if (JsonBody.IsBlank(body.Span)) return Parsed<KeyRequest>.Ok(KeyRequest.Defaults);
        using var document = JsonBody.TryParse(body);
        if (document is null) return EtsiError.BadRequest(EtsiMessages.BodyNotJson);
        try
        {
            return FromJson(document.RootElement);
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate ("\ud800") is valid JSON syntax but names no Unicode text.
            return EtsiError.BadRequest(EtsiMessages.BodyNotJson);
        }
    }

    private static Parsed<KeyRequest> FromJson(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) return EtsiError.BadRequest("the key request shall be a JSON object");

        int? number = null, size = null;
        var slaves = new List<string>();
        bool mandatory = false, optional = false;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "number":
                case "size":
                case "additional_slave_SAE_IDs":
                case "extension_mandatory":
                case "extension_optional":
                    // Two values for one member would let a client and an intermediary read different requests.
                    if (!seen.Add(property.Name)) return EtsiError.BadRequestFormat("member {0} appears more than once", property.Name);
                    break;
                default:
                    continue;
            }
            switch (property.Name)
            {
                case "number":
                    if (!TryReadInteger(value, out var n)) return EtsiError.BadRequest("number shall be an integer");
                    number = n;
                    break;
                case "size":
                    if (!TryReadInteger(value, out var s)) return EtsiError.BadRequest("size shall be an integer");
                    size = s;
                    break;
                case "additional_slave_SAE_IDs":
                    if (value.ValueKind != JsonValueKind.Array) return EtsiError.BadRequest("additional_slave_SAE_IDs shall be an array of strings");
                    foreach (var item in value.EnumerateArray())
                    {
                        if (item.ValueKind != JsonValueKind.String) return EtsiError.BadRequest("additional_slave_SAE_IDs shall be an array of strings");
                        slaves.Add(item.GetString()!);
                    }
                    break;
                case "extension_mandatory":
                    if (!TryReadExtensions(value, out mandatory)) return EtsiError.BadRequest("extension_mandatory shall be an array of objects");
                    break;
                case "extension_optional":
                    if (!TryReadExtensions(value, out optional)) return EtsiError.BadRequest("extension_optional shall be an array of objects");
                    break;
            }
        }
        return Parsed<KeyRequest>.Ok(new KeyRequest(number, size, slaves, mandatory, optional));
    }

    /// <summary>
    /// Parses the query of a GET: only <c>number</c> and <c>size</c>, each at most once (ETSI GS QKD 014
    /// allows no other GET form). <paramref name="query"/> is the raw query string, with or without '?'.
    /// </summary>
    public static Parsed<KeyRequest> ParseQuery(string? query)
    {
        var parameters = QueryHelpers.ParseNullableQuery(query);
        if (parameters is null) return Parsed<KeyRequest>.Ok(KeyRequest.Defaults);
        int? number = null, size = null;
        foreach (var (name, values) in parameters)
        {
            var isNumber = string.Equals(name, "number", StringComparison.Ordinal);
            if (!isNumber && !string.Equals(name, "size", StringComparison.Ordinal) || values.Count != 1)
                return EtsiError.BadRequest("GET enc_keys takes only the query parameters number and size, each at most once");
            if (!TryParseInteger(values[0], out var parsed))
                return EtsiError.BadRequestFormat("{0} shall be an integer", name);
            if (isNumber) number = parsed;
            else size = parsed;
        }
        return Parsed<KeyRequest>.Ok(new KeyRequest(number, size, Array.Empty<string>(), false, false));
    }

    /// <summary>A JSON integer (no fraction, no exponent); one beyond the int range is clamped so that the range check names the limit.</summary>
    private static bool TryReadInteger(JsonElement value, out int result)
    {
        result = 0;
        if (value.ValueKind != JsonValueKind.Number) return false;
        var raw = value.GetRawText();
        if (raw.AsSpan().IndexOfAny('.', 'e', 'E') >= 0) return false;
        if (value.TryGetInt32(out result)) return true;
        result = raw.StartsWith('-') ? int.MinValue : int.MaxValue;
        return true;
    }

    private static bool TryParseInteger(string? text, out int result)
    {
        result = 0;
        if (string.IsNullOrEmpty(text) || text.Length > 64) return false;
        var digits = text[0] is '-' or '+' ? text.AsSpan(1) : text.AsSpan();
        if (digits.Length == 0) return false;
        foreach (var c in digits)
        {
            if (c is < '0' or > '9') return false;
        }
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out result)) return true;
        result = text[0] == '-' ? int.MinValue : int.MaxValue;
        return true;
    }

    /// <summary>An array of objects; <paramref name="any"/> tells whether some object names a parameter.</summary>
    private static bool TryReadExtensions(JsonElement value, out bool any)
    {
        any = false;
        if (value.ValueKind != JsonValueKind.Array) return false;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object) return false;
            foreach (var _ in item.EnumerateObject())
            {
                any = true;
                break;
            }
        }
        return true;
    }
}
