using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace QKDLite.TestKme;

/// <summary>The ETSI GS QKD 014 request handler of one test KME.</summary>
internal sealed class KmeEndpoint
{
    private const int MaxLoggedBody = 64 * 1024;
    private const string JsonContentType = "application/json";

    private const string Html401Body =
        "<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n"
        + "<center><h1>401 Authorization Required</h1></center>\r\n<hr><center>test-proxy</center>\r\n</body>\r\n</html>\r\n";

    private const string Html504Body =
        "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
        + "<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>test-proxy</center>\r\n</body>\r\n</html>\r\n";

    private readonly TestKme _kme;
    private readonly KeyPool _pool;
    private readonly TestKmeOptions _options;
    private readonly Func<X509Certificate2, string?> _saeIdSelector;

    public KmeEndpoint(TestKme kme, KeyPool pool, TestKmeOptions options)
    {
        _kme = kme;
        _pool = pool;
        _options = options;
        _saeIdSelector = options.SaeIdSelector ?? CommonNameOf;
    }

    /// <summary>The subject CN of a certificate (the last CN RDN), or null when it has none.</summary>
    public static string? CommonNameOf(X509Certificate2 certificate)
    {
        string? cn = null;
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (!rdn.HasMultipleElements && rdn.GetSingleElementType().Value == "2.5.4.3")
            {
                cn = rdn.GetSingleElementValue();
            }
        }

        return string.IsNullOrEmpty(cn) ? null : cn;
    }

    public async Task HandleAsync(HttpContext context)
    {
        var behaviour = _kme.Behaviour;
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget
            ?? context.Request.Path.ToUriComponent() + context.Request.QueryString.ToUriComponent();
        var certificate = context.Connection.ClientCertificate;
        var saeId = certificate is null ? null : _saeIdSelector(certificate);
        var exchange = new Exchange(context, rawTarget, saeId);
        var dropped = false;
        try
        {
            var delay = behaviour.DelayMilliseconds;
            if (delay > 0)
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _kme.Stopping);
                try
                {
                    await Task.Delay(delay, linked.Token);
                }
                catch (OperationCanceledException)
                {
                    dropped = true;
                    context.Abort();
                    return;
                }
            }

            if (behaviour.DropConnections)
            {
                dropped = true;
                context.Abort();
                return;
            }

            if (behaviour.Status504)
            {
                await exchange.WriteTextAsync(504, "text/html", Html504Body);
            }
            else if (behaviour.Status503)
            {
                await exchange.WriteErrorAsync(503, EtsiMessages.ServiceUnavailable);
            }
            else if (behaviour.Html401)
            {
                await exchange.WriteTextAsync(401, "text/html", Html401Body);
            }
            else if (behaviour.Empty401)
            {
                context.Response.StatusCode = 401;
                context.Response.ContentLength = 0;
            }
            else
            {
                await ServeAsync(exchange, behaviour);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            dropped = true;
        }
        finally
        {
            _kme.Record(new KmeRequestRecord(
                exchange.Started, _kme.KmeId, context.Request.Method, rawTarget, saeId, exchange.LoggedBody,
                dropped ? 0 : context.Response.StatusCode, context.Features.Get<HybridTlsHandshake>()?.Group));
        }
    }

    private async Task ServeAsync(Exchange exchange, KmeBehaviour behaviour)
    {
        var context = exchange.Context;
        if (exchange.SaeId is null)
        {
            await exchange.WriteErrorAsync(401, EtsiMessages.NoSaeId);
            return;
        }

        if (!TryParseTarget(exchange.RawTarget, out var pathSaeId, out var operation))
        {
            await exchange.WriteErrorAsync(404, "no such resource; the API is /api/v1/keys/{SAE_ID}/status|enc_keys|dec_keys");
            return;
        }

        var method = context.Request.Method;
        var isGet = HttpMethods.IsGet(method);
        var isPost = HttpMethods.IsPost(method);
        switch (operation)
        {
            case "status" when isGet:
                await StatusAsync(exchange, pathSaeId, behaviour);
                return;
            case "enc_keys" when isGet || isPost:
                await EncKeysAsync(exchange, pathSaeId, isPost, behaviour);
                return;
            case "dec_keys" when isGet || isPost:
                await DecKeysAsync(exchange, pathSaeId, isPost, behaviour);
                return;
            case "status":
            case "enc_keys":
            case "dec_keys":
                context.Response.Headers.Allow = operation == "status" ? "GET" : "GET, POST";
                await exchange.WriteErrorAsync(405, "method not allowed");
                return;
            default:
                await exchange.WriteErrorAsync(404, "no such resource; the API is /api/v1/keys/{SAE_ID}/status|enc_keys|dec_keys");
                return;
        }
    }

    private async Task StatusAsync(Exchange exchange, string slaveSaeId, KmeBehaviour behaviour)
    {
        var stored = behaviour.OutOfKeys ? 0 : _pool.StoredKeyCount;
        var json = WriteJson(w =>
        {
            w.WriteStartObject();
            w.WriteString("source_KME_ID", _kme.KmeId);
            w.WriteString("target_KME_ID", _kme.PeerKmeId);
            w.WriteString("master_SAE_ID", exchange.SaeId);
            w.WriteString("slave_SAE_ID", slaveSaeId);
            w.WriteNumber("key_size", _options.KeySize);
            w.WriteNumber("stored_key_count", stored);
            w.WriteNumber("max_key_count", _pool.MaxKeyCount);
            w.WriteNumber("max_key_per_request", _options.MaxKeyPerRequest);
            w.WriteNumber("max_key_size", _options.MaxKeySize);
            w.WriteNumber("min_key_size", _options.MinKeySize);
            w.WriteNumber("max_SAE_ID_count", _options.MaxSaeIdCount);
            w.WriteEndObject();
        });
        await exchange.WriteOkJsonAsync(json, behaviour, noStore: false);
    }

    private async Task EncKeysAsync(Exchange exchange, string slaveSaeId, bool isPost, KmeBehaviour behaviour)
    {
        int? number = null;
        int? size = null;
        var additionalSlaves = new List<string>();
        var extensionMandatory = false;

        if (isPost)
        {
            var (document, error) = await exchange.ReadJsonBodyAsync();
            if (document is null)
            {
                await exchange.WriteErrorAsync(400, EtsiMessages.BadRequestFormat, ("key_request", error!));
                return;
            }

            using (document)
            {
                var parseError = ParseKeyRequest(document.RootElement, ref number, ref size, additionalSlaves, ref extensionMandatory);
                if (parseError is not null)
                {
                    await exchange.WriteErrorAsync(400, EtsiMessages.BadRequestFormat, ("key_request", parseError));
                    return;
                }
            }
        }
        else
        {
            var getError = exchange.BodyPresentOnGet()
                ?? CheckQuery(exchange.Context.Request.Query, ["number", "size"], required: null);
            if (getError is null)
            {
                getError = ParseQueryInt(exchange.Context.Request.Query, "number", ref number)
                    ?? ParseQueryInt(exchange.Context.Request.Query, "size", ref size);
            }

            if (getError is not null)
            {
                await exchange.WriteErrorAsync(400, EtsiMessages.BadRequestFormat, ("request", getError));
                return;
            }
        }

        var count = number ?? 1;
        var bits = size ?? _options.KeySize;
        if (count < 1)
        {
            await exchange.WriteErrorAsync(400, EtsiMessages.ParametersOutsideLimits, ("number", "shall be at least 1"));
            return;
        }

        if (count > _options.MaxKeyPerRequest)
        {
            await exchange.WriteErrorAsync(400, EtsiMessages.ParametersOutsideLimits, ("max_key_per_request", _options.MaxKeyPerRequest));
            return;
        }

        if (bits % 8 != 0)
        {
            await exchange.WriteErrorAsync(400, EtsiMessages.SizeNotMultipleOf8);
            return;
        }

        if (bits < _options.MinKeySize)
        {
            await exchange.WriteErrorAsync(400, EtsiMessages.ParametersOutsideLimits, ("min_key_size", _options.MinKeySize));
            return;
        }

        if (bits > _options.MaxKeySize)
        {
            await exchange.WriteErrorAsync(400, EtsiMessages.ParametersOutsideLimits, ("max_key_size", _options.MaxKeySize));
            return;
        }

        if (extensionMandatory)
        {
            await exchange.WriteErrorAsync(400, EtsiMessages.ExtensionMandatoryNotSupported);
            return;
        }

        if (additionalSlaves.Count > _options.MaxSaeIdCount)
        {
            await exchange.WriteErrorAsync(400, EtsiMessages.ParametersOutsideLimits, ("max_SAE_ID_count", _options.MaxSaeIdCount));
            return;
        }

        var slaves = new HashSet<string>(StringComparer.Ordinal) { slaveSaeId };
        slaves.UnionWith(additionalSlaves);
        var keys = behaviour.OutOfKeys ? null : _pool.TryIssue(_kme.KmeId, exchange.SaeId!, slaves, count, bits);
        if (keys is null)
        {
            await exchange.WriteErrorAsync(503, EtsiMessages.InsufficientKeys);
            return;
        }

        await exchange.WriteOkJsonAsync(KeyContainer(keys, behaviour), behaviour, noStore: true);
    }

    private async Task DecKeysAsync(Exchange exchange, string masterSaeId, bool isPost, KmeBehaviour behaviour)
    {
        var rawIds = new List<string>();
        if (isPost)
        {
            var (document, error) = await exchange.ReadJsonBodyAsync();
            if (document is null)
            {
                await exchange.WriteErrorAsync(400, EtsiMessages.BadRequestFormat, ("key_IDs", error!));
                return;
            }

            using (document)
            {
                var parseError = ParseKeyIds(document.RootElement, rawIds);
                if (parseError is not null)
                {
                    await exchange.WriteErrorAsync(400, EtsiMessages.BadRequestFormat, ("key_IDs", parseError));
                    return;
                }
            }
        }
        else
        {
            var query = exchange.Context.Request.Query;
            var getError = exchange.BodyPresentOnGet() ?? CheckQuery(query, ["key_ID"], required: "key_ID");
            if (getError is not null)
            {
                await exchange.WriteErrorAsync(400, EtsiMessages.BadRequestFormat, ("request", getError));
                return;
            }

            rawIds.Add(query["key_ID"].ToString());
        }

        var ids = new List<Guid>(rawIds.Count);
        foreach (var raw in rawIds)
        {
            // A key_ID that is no UUID cannot name a key of this KME.
            if (!Guid.TryParseExact(raw, "D", out var id))
            {
                await exchange.WriteErrorAsync(400, EtsiMessages.KeysNotFound);
                return;
            }

            ids.Add(id);
        }

        if (ids.HasDuplicates())
        {
            await exchange.WriteErrorAsync(400, EtsiMessages.KeysNotFound);
            return;
        }

        var (outcome, keys) = _pool.TryRetrieve(_kme.KmeId, masterSaeId, exchange.SaeId!, ids);
        switch (outcome)
        {
            case RetrieveOutcome.Unauthorized:
                await exchange.WriteErrorAsync(401, EtsiMessages.NotSlaveOfKeys);
                return;
            case RetrieveOutcome.NotFound:
                await exchange.WriteErrorAsync(400, EtsiMessages.KeysNotFound);
                return;
            default:
                await exchange.WriteOkJsonAsync(KeyContainer(keys, behaviour), behaviour, noStore: true);
                return;
        }
    }

    private static byte[] KeyContainer(IReadOnlyList<DeliveredKey> keys, KmeBehaviour behaviour)
    {
        var confuse = behaviour.BitsBytesConfusion;
        var shortFirst = behaviour.WrongKeyLength;
        return WriteJson(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("keys");
            for (var i = 0; i < keys.Count; i++)
            {
                var bytes = keys[i].Key;
                if (confuse)
                {
                    var longer = new byte[bytes.Length * 8];
                    for (var j = 0; j < longer.Length; j++)
                    {
                        longer[j] = bytes[j % bytes.Length];
                    }

                    bytes = longer;
                }

                if (shortFirst && i == 0)
                {
                    bytes = bytes[..^1];
                }

                w.WriteStartObject();
                w.WriteString("key_ID", keys[i].KeyId.ToString("D"));
                w.WriteBase64String("key", bytes);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static string? ParseKeyRequest(
        JsonElement root, ref int? number, ref int? size, List<string> additionalSlaves, ref bool extensionMandatory)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return "the key request shall be a JSON object";
        }

        foreach (var property in root.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "number":
                    if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var n))
                    {
                        return "number shall be an integer";
                    }

                    number = n;
                    break;
                case "size":
                    if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var s))
                    {
                        return "size shall be an integer";
                    }

                    size = s;
                    break;
                case "additional_slave_SAE_IDs":
                    if (value.ValueKind != JsonValueKind.Array)
                    {
                        return "additional_slave_SAE_IDs shall be an array of strings";
                    }

                    foreach (var item in value.EnumerateArray())
                    {
                        if (item.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(item.GetString()))
                        {
                            return "additional_slave_SAE_IDs shall be an array of strings";
                        }

                        additionalSlaves.Add(item.GetString()!);
                    }

                    break;
                case "extension_mandatory":
                case "extension_optional":
                    if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Object))
                    {
                        return property.Name + " shall be an array of objects";
                    }

                    if (property.Name == "extension_mandatory" && value.EnumerateArray().Any(e => e.EnumerateObject().Any()))
                    {
                        extensionMandatory = true;
                    }

                    break;
                default:
                    // Unknown members are ignored.
                    break;
            }
        }

        return null;
    }

    private static string? ParseKeyIds(JsonElement root, List<string> ids)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return "the key IDs shall be a JSON object";
        }

        if (!root.TryGetProperty("key_IDs", out var array) || array.ValueKind != JsonValueKind.Array)
        {
            return "key_IDs shall be an array";
        }

        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("key_ID", out var id) || id.ValueKind != JsonValueKind.String)
            {
                return "each element of key_IDs shall be an object with a string key_ID";
            }

            ids.Add(id.GetString()!);
        }

        return ids.Count == 0 ? "key_IDs shall not be empty" : null;
    }

    /// <summary>Only the allowed query parameters, each at most once; <paramref name="required"/> must be present.</summary>
    private static string? CheckQuery(IQueryCollection query, string[] allowed, string? required)
    {
        foreach (var (name, values) in query)
        {
            if (!allowed.Contains(name, StringComparer.Ordinal))
            {
                return $"query parameter '{name}' is not allowed here; allowed: {string.Join(", ", allowed)}";
            }

            if (values.Count != 1)
            {
                return $"query parameter '{name}' shall appear once";
            }
        }

        if (required is not null && !query.ContainsKey(required))
        {
            return $"query parameter '{required}' is required";
        }

        return null;
    }

    private static string? ParseQueryInt(IQueryCollection query, string name, ref int? value)
    {
        if (!query.TryGetValue(name, out var text))
        {
            return null;
        }

        if (!int.TryParse(text.ToString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
        {
            return $"{name} shall be an integer";
        }

        value = parsed;
        return null;
    }

    /// <summary>Matches <c>/api/v1/keys/{SAE_ID}/{operation}</c> on the raw (still encoded) target; decodes the SAE ID once.</summary>
    internal static bool TryParseTarget(string rawTarget, out string saeId, out string operation)
    {
        saeId = operation = string.Empty;
        var queryStart = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var path = queryStart >= 0 ? rawTarget[..queryStart] : rawTarget;
        var segments = path.Split('/');
        if (segments.Length != 6 || segments[0].Length != 0 || segments[1] != "api" || segments[2] != "v1"
            || segments[3] != "keys" || segments[4].Length == 0)
        {
            return false;
        }

        try
        {
            saeId = Uri.UnescapeDataString(segments[4]);
        }
        catch (UriFormatException)
        {
            return false;
        }

        operation = segments[5];
        return saeId.Length > 0;
    }

    private static byte[] WriteJson(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>One request in flight: its context and the answer helpers.</summary>
    private sealed class Exchange(HttpContext context, string rawTarget, string? saeId)
    {
        public HttpContext Context { get; } = context;

        public string RawTarget { get; } = rawTarget;

        public string? SaeId { get; } = saeId;

        public DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;

        public string? LoggedBody { get; private set; }

        public string? BodyPresentOnGet()
        {
            var request = Context.Request;
            return request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0
                ? "GET allows no request body"
                : null;
        }

        public async Task<(JsonDocument? Document, string? Error)> ReadJsonBodyAsync()
        {
            string text;
            try
            {
                using var reader = new StreamReader(Context.Request.Body, new UTF8Encoding(false, true));
                text = await reader.ReadToEndAsync(Context.RequestAborted);
            }
            catch (DecoderFallbackException)
            {
                LoggedBody = "<invalid UTF-8>";
                return (null, "the request body is not UTF-8");
            }

            LoggedBody = text.Length > MaxLoggedBody ? text[..MaxLoggedBody] : text;
            if (text.Length == 0)
            {
                return (null, "the request body is empty");
            }

            try
            {
                return (JsonDocument.Parse(text), null);
            }
            catch (JsonException)
            {
                return (null, "the request body is not valid JSON");
            }
        }

        public Task WriteTextAsync(int status, string contentType, string body)
        {
            Context.Response.StatusCode = status;
            Context.Response.ContentType = contentType;
            return Context.Response.WriteAsync(body, Encoding.UTF8, Context.RequestAborted);
        }

        public Task WriteErrorAsync(int status, string message, params (string Name, object Value)[] details)
        {
            var json = WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("message", message);
                if (details.Length > 0)
                {
                    w.WriteStartArray("details");
                    foreach (var (name, value) in details)
                    {
                        w.WriteStartObject();
                        if (value is int number)
                        {
                            w.WriteNumber(name, number);
                        }
                        else
                        {
                            w.WriteString(name, Convert.ToString(value, CultureInfo.InvariantCulture));
                        }

                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                }

                w.WriteEndObject();
            });
            return WriteBytesAsync(status, json);
        }

        public Task WriteOkJsonAsync(byte[] json, KmeBehaviour behaviour, bool noStore)
        {
            if (noStore)
            {
                Context.Response.Headers.CacheControl = "no-store";
            }

            if (behaviour.MalformedJson)
            {
                json = json[..(json.Length / 2)];
            }

            return WriteBytesAsync(200, json);
        }

        private async Task WriteBytesAsync(int status, byte[] json)
        {
            var response = Context.Response;
            response.StatusCode = status;
            response.ContentType = JsonContentType;
            response.ContentLength = json.Length;
            await response.Body.WriteAsync(json, Context.RequestAborted);
        }
    }
}
