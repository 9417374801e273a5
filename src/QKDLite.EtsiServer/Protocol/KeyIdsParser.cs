using System;
using System.Collections.Generic;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;

namespace QKDLite.EtsiServer.Protocol;

/// <summary>
/// Reads "get key with key IDs" requests: a POST body (ETSI "Key IDs") or the GET query with one
/// <c>key_ID</c>. Pure functions: no I/O, no exceptions for any input.
/// </summary>
internal static class KeyIdsParser
{
    private const string KeyIdsShape = "key_IDs shall be a non-empty array of objects, each with a string key_ID";

    /// <summary>Parses <c>{"key_IDs": [{"key_ID": "..."}, ...]}</c>; extension members are ignored.</summary>
    public static Parsed<IReadOnlyList<string>> ParseBody(ReadOnlyMemory<byte> body)
    {
        if (JsonBody.IsBlank(body.Span)) return EtsiError.BadRequest("the request body is empty; it shall hold key_IDs");
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

    private static Parsed<IReadOnlyList<string>> FromJson(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) return EtsiError.BadRequest("the key IDs shall be a JSON object");

        JsonElement? array = null;
        foreach (var property in root.EnumerateObject())
        {
            if (property.Name != "key_IDs") continue;
            if (array is not null) return EtsiError.BadRequest("member key_IDs appears more than once");
            array = property.Value;
        }
        if (array is not { ValueKind: JsonValueKind.Array } items) return EtsiError.BadRequest(KeyIdsShape);

        var ids = new List<string>();
        foreach (var item in items.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object) return EtsiError.BadRequest(KeyIdsShape);
            string? id = null;
            foreach (var member in item.EnumerateObject())
            {
                if (member.Name != "key_ID") continue;
                if (id is not null || member.Value.ValueKind != JsonValueKind.String) return EtsiError.BadRequest(KeyIdsShape);
                id = member.Value.GetString();
            }
            if (id is null) return EtsiError.BadRequest(KeyIdsShape);
            ids.Add(id);
        }
        return ids.Count == 0 ? EtsiError.BadRequest(KeyIdsShape) : Parsed<IReadOnlyList<string>>.Ok(ids);
    }

    /// <summary>Parses the query of a GET: exactly one <c>key_ID</c> and nothing else.</summary>
    public static Parsed<IReadOnlyList<string>> ParseQuery(string? query)
    {
        var parameters = QueryHelpers.ParseNullableQuery(query);
        if (parameters is null || parameters.Count != 1
            || !parameters.TryGetValue("key_ID", out var values) || values.Count != 1
            // ParseQuery matches names without case; ETSI names are exact.
            || !ContainsExactName(parameters.Keys))
            return EtsiError.BadRequest("GET dec_keys takes exactly one query parameter key_ID");
        return Parsed<IReadOnlyList<string>>.Ok(new[] { values[0] ?? string.Empty });
    }

    private static bool ContainsExactName(IEnumerable<string> names)
    {
        foreach (var name in names)
        {
            if (string.Equals(name, "key_ID", StringComparison.Ordinal)) return true;
        }
        return false;
    }
}
