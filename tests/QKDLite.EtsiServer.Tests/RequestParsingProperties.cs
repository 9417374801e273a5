using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using QKDLite.EtsiServer.Protocol;

namespace QKDLite.EtsiServer.Tests;

/// <summary>
/// Property tests over the request parsers: for any input they return a value or a 400 (never throw),
/// and what they accept means what it says. Inputs mix random bytes with generated near-ETSI JSON so
/// that deep paths are reached too.
/// </summary>
public sealed class RequestParsingProperties
{
    private static readonly RequestLimits Limits = new(16, 64, 1024);

    private static readonly string[] Names =
        ["number", "size", "additional_slave_SAE_IDs", "extension_mandatory", "extension_optional", "key_IDs", "key_ID", "key_ID_extension", "x"];

    /// <summary>JSON text shaped like ETSI requests: known member names, every value kind, some nesting.</summary>
    private static Gen<string> JsonValue(int depth)
    {
        var scalars = Gen.OneOf(
            Gen.Choose(-2000, 2000).Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Gen.Elements("0", "-0", "1.5", "1e3", "99999999999999999999", "true", "false", "null", "\"\"", "\"a\"", "\"SAE-B\"", "\"\\u0000\"", "\"\\ud800\""),
            ArbMap.Default.GeneratorFor<string>().Select(s => JsonSerializer.Serialize(s ?? string.Empty)));
        if (depth <= 0) return scalars;
        var member = Gen.Elements(Names).Zip(JsonValue(depth - 1), (name, value) => $"\"{name}\":{value}");
        var obj = Gen.ListOf(member).Select(members => "{" + string.Join(",", members.Take(6)) + "}");
        var array = Gen.ListOf(JsonValue(depth - 1)).Select(items => "[" + string.Join(",", items.Take(6)) + "]");
        return Gen.Frequency((3, scalars), (3, obj), (2, array));
    }

    /// <summary>Near-ETSI JSON, then sometimes damaged: cut short, a byte flipped, or bytes appended.</summary>
    private static Arbitrary<byte[]> Bodies() =>
        Gen.OneOf(
                JsonValue(3).Select(Encoding.UTF8.GetBytes),
                JsonValue(3).Zip(Gen.Choose(0, 1000), (json, cut) =>
                {
                    var bytes = Encoding.UTF8.GetBytes(json);
                    return bytes[..Math.Min(bytes.Length, cut % (bytes.Length + 1))];
                }),
                JsonValue(3).Zip(Gen.Choose(0, 10000)).Zip(Gen.Choose(0, 255), (t, value) =>
                {
                    var bytes = Encoding.UTF8.GetBytes(t.Item1);
                    if (bytes.Length > 0) bytes[t.Item2 % bytes.Length] = (byte)value;
                    return bytes;
                }),
                ArbMap.Default.GeneratorFor<byte[]>())
            .ToArbitrary();

    private static Arbitrary<string> Queries() =>
        Gen.OneOf(
                ArbMap.Default.GeneratorFor<string>().Select(s => s ?? string.Empty),
                Gen.ListOf(Gen.Elements("number", "size", "key_ID", "KEY_ID", "x", "", "%", "%zz", "&", "=")
                        .Zip(Gen.Elements("1", "-1", "0", "", "99999999999", "a", "%20", "+", "%ff", "=", "1.0"), (k, v) => k + "=" + v))
                    .Select(parts => string.Join("&", parts)))
            .ToArbitrary();

    [Property(MaxTest = 3000)]
    public Property Key_request_bodies_never_throw_and_errors_are_400() =>
        Prop.ForAll(Bodies(), body =>
        {
            var parsed = KeyRequestParser.ParseBody(body);
            if (!parsed.IsValid) return parsed.Error!.Status == 400 && parsed.Error.Message.Length > 0;
            var resolved = Limits.Resolve(parsed.Value!, 256);
            return resolved.IsValid || resolved.Error!.Status == 400;
        });

    [Property(MaxTest = 3000)]
    public Property Key_ID_bodies_never_throw_and_accepted_lists_are_non_empty() =>
        Prop.ForAll(Bodies(), body =>
        {
            var parsed = KeyIdsParser.ParseBody(body);
            return parsed.IsValid ? parsed.Value!.Count > 0 && Limits.Check(parsed.Value) is null or { Status: 400 } : parsed.Error!.Status == 400;
        });

    [Property(MaxTest = 2000)]
    public Property Queries_never_throw() =>
        Prop.ForAll(Queries(), query =>
        {
            var keys = KeyRequestParser.ParseQuery(query);
            var ids = KeyIdsParser.ParseQuery(query);
            return (keys.IsValid || keys.Error!.Status == 400) && (ids.IsValid ? ids.Value!.Count == 1 : ids.Error!.Status == 400);
        });

    /// <summary>Path segments rich in percent-escapes, well-formed and not.</summary>
    private static Arbitrary<string> SaeSegments() =>
        Gen.OneOf(
                ArbMap.Default.GeneratorFor<string>().Select(s => s ?? string.Empty),
                Gen.ListOf(Gen.Elements("%", "%2", "%2F", "%zz", "%C3%A9", "%FF", "%00", "%25", "SAE", "-", "?", "/", "#"))
                    .Select(parts => string.Concat(parts)))
            .ToArbitrary();

    [Property(MaxTest = 2000)]
    public Property Targets_never_throw() =>
        Prop.ForAll(SaeSegments(), Gen.Elements("status", "enc_keys", "dec_keys", "dec_keys?key_ID=%", "status/", "x").ToArbitrary(), (sae, operation) =>
        {
            var target = EtsiTarget.TryParse("/api/v1/keys/" + sae + "/" + operation);
            return target is null || target.SaeId.Length > 0 && !target.SaeId.Contains('?');
        });

    [Property(MaxTest = 1000)]
    public Property A_well_formed_key_request_means_what_it_says() =>
        Prop.ForAll(Gen.Choose(-100, 100).ToArbitrary(), Gen.Choose(-2048, 2048).ToArbitrary(), (number, size) =>
        {
            var parsed = KeyRequestParser.ParseBody(Encoding.UTF8.GetBytes($"{{\"size\":{size},\"number\":{number}}}"));
            var resolved = Limits.Resolve(parsed.Value!, 256);
            var acceptable = number is >= 1 and <= 16 && size % 8 == 0 && size is >= 64 and <= 1024;
            return parsed.Value!.Number == number && parsed.Value.Size == size
                && resolved.IsValid == acceptable
                && (!acceptable || resolved.Value == (number, size));
        });

    [Property(MaxTest = 1000)]
    public Property Key_IDs_round_trip_in_order() =>
        Prop.ForAll(ArbMap.Default.ArbFor<NonEmptyArray<NonNull<string>>>(), ids =>
        {
            var wanted = ids.Get.Select(id => id.Get).ToList();
            var json = JsonSerializer.Serialize(new { key_IDs = wanted.Select(id => new { key_ID = id }) });
            var parsed = KeyIdsParser.ParseBody(Encoding.UTF8.GetBytes(json));
            // Lone surrogates cannot be encoded as UTF-8: the serializer replaces them, so compare with what was sent.
            var sent = JsonDocument.Parse(json).RootElement.GetProperty("key_IDs").EnumerateArray().Select(e => e.GetProperty("key_ID").GetString()).ToList();
            return parsed.IsValid && parsed.Value!.SequenceEqual(sent);
        });

    [Property(MaxTest = 500)]
    public Property GET_dec_keys_decodes_its_one_key_ID() =>
        Prop.ForAll(ArbMap.Default.ArbFor<NonNull<string>>(), id =>
        {
            var parsed = KeyIdsParser.ParseQuery("key_ID=" + Uri.EscapeDataString(id.Get));
            return parsed.IsValid && parsed.Value!.Single() == Uri.UnescapeDataString(Uri.EscapeDataString(id.Get));
        });
}
