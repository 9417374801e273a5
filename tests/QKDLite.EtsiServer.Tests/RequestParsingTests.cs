using System.Collections.Generic;
using System.Linq;
using System.Text;
using QKDLite.EtsiServer.Protocol;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>The pure request parsers and limit checks, by example: every form and every message.</summary>
public sealed class RequestParsingTests
{
    private static readonly RequestLimits Limits = new(maxKeysPerRequest: 16, minKeySize: 64, maxKeySize: 1024);

    private static Parsed<KeyRequest> Body(string json) => KeyRequestParser.ParseBody(Encoding.UTF8.GetBytes(json));

    private static Parsed<IReadOnlyList<string>> Ids(string json) => KeyIdsParser.ParseBody(Encoding.UTF8.GetBytes(json));

    [Theory]
    [InlineData("{}", null, null)]
    [InlineData("", null, null)]
    [InlineData("  \r\n", null, null)]
    [InlineData("""{"number":3}""", 3, null)]
    [InlineData("""{"size":512,"number":2}""", 2, 512)]
    [InlineData("""{"number":2,"extension_optional":[{"x_vendor":1}],"unknown":true}""", 2, null)]
    [InlineData("\uFEFF{\"number\":4}", 4, null)]
    public void Valid_key_requests_parse_to_their_values(string json, int? number, int? size)
    {
        var parsed = Body(json);
        Assert.True(parsed.IsValid, parsed.Error?.Message);
        Assert.Equal(number, parsed.Value!.Number);
        Assert.Equal(size, parsed.Value.Size);
    }

    [Theory]
    [InlineData("{", EtsiMessages.BodyNotJson)]
    [InlineData("[1]", "the key request shall be a JSON object")]
    [InlineData("""{"number":"2"}""", "number shall be an integer")]
    [InlineData("""{"number":2.0}""", "number shall be an integer")]
    [InlineData("""{"number":1e1}""", "number shall be an integer")]
    [InlineData("""{"size":null}""", "size shall be an integer")]
    [InlineData("""{"number":1,"number":2}""", "member number appears more than once")]
    [InlineData("""{"additional_slave_SAE_IDs":"SAE-C"}""", "additional_slave_SAE_IDs shall be an array of strings")]
    [InlineData("""{"additional_slave_SAE_IDs":[1]}""", "additional_slave_SAE_IDs shall be an array of strings")]
    [InlineData("""{"extension_mandatory":{}}""", "extension_mandatory shall be an array of objects")]
    [InlineData("""{"extension_optional":[1]}""", "extension_optional shall be an array of objects")]
    [InlineData("{\"number\":1}\u0000", EtsiMessages.BodyNotJson)]
    public void Malformed_key_requests_get_a_specific_message(string json, string message)
    {
        var parsed = Body(json);
        Assert.False(parsed.IsValid);
        Assert.Equal(400, parsed.Error!.Status);
        Assert.Equal(message, parsed.Error.Message);
    }

    [Theory]
    [InlineData("""{"additional_slave_SAE_IDs":["\ud800"]}""")]
    [InlineData("""{"\udc00":1}""")]
    public void Escaped_lone_surrogates_are_not_text(string json)
    {
        // Found by the property tests: valid JSON syntax, but no Unicode string can hold it.
        Assert.Equal(EtsiMessages.BodyNotJson, Body(json).Error?.Message);
        // The value of a member nobody reads is never decoded, and so never refused.
        Assert.True(Body("""{"number":1,"x":"\ud800"}""").IsValid);
    }

    [Theory]
    [InlineData("""{"key_IDs":[{"key_ID":"\ud800"}]}""")]
    [InlineData("""{"key_IDs":[{"\ud800":"a","key_ID":"a"}]}""")]
    public void Escaped_lone_surrogates_are_no_key_IDs(string json)
    {
        Assert.Equal(EtsiMessages.BodyNotJson, Ids(json).Error?.Message);
    }

    [Fact]
    public void Invalid_UTF8_is_not_JSON()
    {
        var parsed = KeyRequestParser.ParseBody(new byte[] { (byte)'{', (byte)'"', 0xFF, (byte)'"', (byte)':', (byte)'1', (byte)'}' });
        Assert.Equal(EtsiMessages.BodyNotJson, parsed.Error!.Message);
    }

    [Fact]
    public void Integers_beyond_the_int_range_are_clamped_so_the_range_check_names_the_limit()
    {
        Assert.Equal(int.MaxValue, Body("""{"number":99999999999999999999999999999999}""").Value!.Number);
        Assert.Equal(int.MinValue, Body("""{"size":-99999999999}""").Value!.Size);
        Assert.Equal(int.MaxValue, KeyRequestParser.ParseQuery("number=99999999999").Value!.Number);
    }

    [Fact]
    public void Extensions_and_multicast_are_recorded()
    {
        var request = Body("""{"extension_mandatory":[{"x_vendor_option":true}],"additional_slave_SAE_IDs":["SAE-C"]}""").Value!;
        Assert.True(request.HasMandatoryExtensions);
        Assert.Equal(["SAE-C"], request.AdditionalSlaveSaeIds);
        Assert.False(Body("""{"extension_mandatory":[{}]}""").Value!.HasMandatoryExtensions);
        Assert.True(Body("""{"extension_optional":[{"x":1}]}""").Value!.HasOptionalExtensions);
    }

    [Theory]
    [InlineData(null, null, null)]
    [InlineData("", null, null)]
    [InlineData("?number=5", 5, null)]
    [InlineData("number=5&size=128", 5, 128)]
    [InlineData("size=-8", null, -8)]
    public void GET_enc_keys_takes_number_and_size(string? query, int? number, int? size)
    {
        var parsed = KeyRequestParser.ParseQuery(query);
        Assert.True(parsed.IsValid, parsed.Error?.Message);
        Assert.Equal(number, parsed.Value!.Number);
        Assert.Equal(size, parsed.Value.Size);
    }

    [Theory]
    [InlineData("count=5", "GET enc_keys takes only the query parameters number and size, each at most once")]
    [InlineData("number=1&number=2", "GET enc_keys takes only the query parameters number and size, each at most once")]
    [InlineData("Number=1", "GET enc_keys takes only the query parameters number and size, each at most once")]
    [InlineData("number=x", "number shall be an integer")]
    [InlineData("size=", "size shall be an integer")]
    [InlineData("size=1.5", "size shall be an integer")]
    public void Other_GET_enc_keys_forms_are_refused(string query, string message)
    {
        Assert.Equal(message, KeyRequestParser.ParseQuery(query).Error!.Message);
    }

    [Fact]
    public void Key_IDs_parse_in_order_and_extensions_are_ignored()
    {
        var parsed = Ids("""{"key_IDs":[{"key_ID":"b"},{"key_ID":"a","key_ID_extension":{}}],"key_IDs_extension":{}}""");
        Assert.Equal(["b", "a"], parsed.Value!);
        Assert.Equal(["x y"], KeyIdsParser.ParseQuery("key_ID=x%20y").Value!);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{}")]
    [InlineData("""{"key_IDs":[]}""")]
    [InlineData("""{"key_IDs":{}}""")]
    [InlineData("""{"key_IDs":["a"]}""")]
    [InlineData("""{"key_IDs":[{"key_ID":1}]}""")]
    [InlineData("""{"key_IDs":[{"id":"a"}]}""")]
    [InlineData("""{"key_IDs":[{"key_ID":"a","key_ID":"b"}]}""")]
    [InlineData("""{"key_IDs":[{"key_ID":"a"}],"key_IDs":[{"key_ID":"b"}]}""")]
    [InlineData("[]")]
    [InlineData("not json")]
    public void Malformed_key_IDs_are_refused_with_400(string json)
    {
        var parsed = Ids(json);
        Assert.False(parsed.IsValid);
        Assert.Equal(400, parsed.Error!.Status);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("key_ID=a&key_ID=b")]
    [InlineData("key_ID=a&number=1")]
    [InlineData("KEY_ID=a")]
    [InlineData("keyid=a")]
    public void GET_dec_keys_needs_exactly_one_key_ID(string? query)
    {
        Assert.Equal("GET dec_keys takes exactly one query parameter key_ID", KeyIdsParser.ParseQuery(query).Error!.Message);
    }

    [Theory]
    [InlineData(0, null, "number shall be from 1 to max_key_per_request (16)")]
    [InlineData(17, null, "number shall be from 1 to max_key_per_request (16)")]
    [InlineData(1, 100, EtsiMessages.SizeNotMultipleOf8)]
    [InlineData(1, -4, EtsiMessages.SizeNotMultipleOf8)]
    [InlineData(1, 56, "size shall be from min_key_size (64) to max_key_size (1024)")]
    [InlineData(1, 1032, "size shall be from min_key_size (64) to max_key_size (1024)")]
    public void Number_and_size_are_checked_against_the_limits(int number, int? size, string message)
    {
        var resolved = Limits.Resolve(new KeyRequest(number, size, [], false, false), 256);
        Assert.Equal(message, resolved.Error!.Message);
    }

    [Fact]
    public void Limits_are_checked_in_the_documented_order_and_defaults_apply()
    {
        // number before size, size before extensions, extensions before multicast.
        Assert.Equal("number shall be from 1 to max_key_per_request (16)", Limits.Resolve(new KeyRequest(0, 7, ["S"], true, false), 256).Error!.Message);
        Assert.Equal(EtsiMessages.SizeNotMultipleOf8, Limits.Resolve(new KeyRequest(1, 7, ["S"], true, false), 256).Error!.Message);
        Assert.Equal(EtsiMessages.ExtensionMandatoryNotSupported, Limits.Resolve(new KeyRequest(1, null, ["S"], true, false), 256).Error!.Message);
        Assert.Equal(EtsiMessages.MulticastNotSupported, Limits.Resolve(new KeyRequest(1, null, ["S"], false, false), 256).Error!.Message);
        Assert.Equal((1, 256), Limits.Resolve(KeyRequest.Defaults, 256).Value);
        Assert.Equal((16, 1024), Limits.Resolve(new KeyRequest(16, 1024, [], false, true), 256).Value);
        Assert.Equal([("max_key_per_request", 16)], Limits.Resolve(new KeyRequest(17, null, [], false, false), 256).Error!.Details!.Select(d => (d.Key, d.Value)));
    }

    [Fact]
    public void Key_IDs_are_checked_for_count_and_repetition()
    {
        Assert.Null(Limits.Check(Enumerable.Range(0, 16).Select(i => "k" + i).ToList()));
        Assert.Equal("key_IDs names more keys than max_key_per_request (16)", Limits.Check(Enumerable.Range(0, 17).Select(i => "k" + i).ToList())!.Message);
        Assert.Equal(EtsiMessages.RepeatedKeyId, Limits.Check(["a", "b", "a"])!.Message);
    }

    [Theory]
    [InlineData("/api/v1/keys/SAE-B/status", "SAE-B", "Status", "")]
    [InlineData("/api/v1/keys/SAE-B/enc_keys?number=2", "SAE-B", "EncKeys", "number=2")]
    [InlineData("/api/v1/keys/SAE%2FA%20x/dec_keys", "SAE/A x", "DecKeys", "")]
    [InlineData("/api/v1/keys/%2541/status", "%41", "Status", "")]
    public void Targets_name_the_call_and_the_once_decoded_SAE_ID(string raw, string saeId, string operation, string query)
    {
        Assert.Equal(new EtsiTarget(saeId, System.Enum.Parse<EtsiOperation>(operation), query), EtsiTarget.TryParse(raw));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/api/v1/keys/SAE-B")]
    [InlineData("/api/v1/keys//status")]
    [InlineData("/api/v1/keys/SAE-B/status/")]
    [InlineData("/api/v1/keys/SAE-B/keys")]
    [InlineData("/api/v2/keys/SAE-B/status")]
    [InlineData("/API/v1/keys/SAE-B/status")]
    [InlineData("api/v1/keys/SAE-B/status")]
    public void Other_targets_are_not_ETSI_calls(string raw) => Assert.Null(EtsiTarget.TryParse(raw));
}
