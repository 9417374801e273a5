using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.Security.Cryptography;
using System.IO;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace QKDLite.TestKme;

/// <summary>
/// Plain-HTTP control endpoint on 127.0.0.1 for tests that run the pair as a process (Pester):
/// <list type="bullet">
/// <item><c>GET /control</c>: both KMEs (id, url, switches) and the pool.</item>
/// <item><c>GET|PUT /control/{A|B}/behaviour</c>: read or set switches, body e.g. <c>{"Html401":true,"DelayMilliseconds":500}</c>.</item>
/// <item><c>GET|DELETE /control/{A|B}/requests</c>: the request log (no key bytes), or clear it.</item>
/// <item><c>GET|PUT /control/pool</c>: <c>{"stored_key_count":n,"pending_key_count":n,"max_key_count":n}</c>; PUT sets stored_key_count.</item>
/// <item><c>POST /control/reset</c>: <see cref="TestKmePair.Reset"/>, and the QRNG stand-in's settings and log.</item>
/// <item><c>GET /qrng?bytes=N[&amp;encoding=hex|base64]</c>: an HTTP QRNG stand-in answering <c>{"data":"&lt;N random bytes&gt;"}</c>
/// (hex by default). Other query parameters are ignored.</item>
/// <item><c>GET|PUT /control/qrng</c>: the stand-in's settings and log, or set settings, body e.g.
/// <c>{"ApiKey":"secret","Malformed":true,"Status":503}</c>: ApiKey (null: none) is then required in the
/// <c>x-api-key</c> header (401 without it), Malformed cuts every 200 body in half, Status (0: off) answers
/// every request with that status. The log (bytes asked, encoding, whether the API key matched, status,
/// and the hex of the bytes served, so a test can compare them with the keys made from them) is for tests only.</item>
/// </list>
/// </summary>
internal sealed class ControlServer : IAsyncDisposable
{
    private readonly TestKmePair _pair;
    private readonly QrngStandIn _qrng = new();
    private WebApplication? _app;

    private ControlServer(TestKmePair pair) => _pair = pair;

    public Uri BaseUri { get; private set; } = null!;

    public static async Task<ControlServer> StartAsync(TestKmePair pair, CancellationToken cancellationToken)
    {
        var control = new ControlServer(pair);
        control._app = await Hosting.StartAsync(
            kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http1),
            control.HandleAsync,
            cancellationToken);
        control.BaseUri = new Uri($"http://127.0.0.1:{Hosting.BoundPort(control._app)}/");
        return control;
    }

    public async ValueTask DisposeAsync()
    {
        var app = Interlocked.Exchange(ref _app, null);
        if (app is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await app.StopAsync(timeout.Token);
            }
            finally
            {
                await app.DisposeAsync();
            }
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var segments = request.Path.Value?.Trim('/').Split('/') ?? [];
        var method = request.Method;
        try
        {
            if (segments is ["control"] && HttpMethods.IsGet(method))
            {
                await WriteAsync(context, 200, WriteSummary);
                return;
            }

            if (segments is ["control", "reset"] && HttpMethods.IsPost(method))
            {
                _pair.Reset();
                _qrng.Reset();
                await WriteAsync(context, 200, WriteSummary);
                return;
            }

            if (segments is ["qrng"] && HttpMethods.IsGet(method))
            {
                await _qrng.HandleAsync(context);
                return;
            }

            if (segments is ["control", "qrng"])
            {
                if (HttpMethods.IsPut(method) || HttpMethods.IsPost(method))
                {
                    using var body = await ReadJsonAsync(request);
                    _qrng.Apply(body.RootElement);
                }
                else if (!HttpMethods.IsGet(method))
                {
                    await WriteMessageAsync(context, 405, "GET or PUT");
                    return;
                }

                await WriteAsync(context, 200, _qrng.WriteTo);
                return;
            }

            if (segments is ["control", "pool"])
            {
                if (HttpMethods.IsPut(method))
                {
                    using var body = await ReadJsonAsync(request);
                    if (!body.RootElement.TryGetProperty("stored_key_count", out var count)
                        || !count.TryGetInt32(out var n) || n < 0)
                    {
                        throw new ArgumentException("stored_key_count (a non-negative integer) is required");
                    }

                    _pair.Pool.SetStoredKeyCount(n);
                }
                else if (!HttpMethods.IsGet(method))
                {
                    await WriteMessageAsync(context, 405, "GET or PUT");
                    return;
                }

                await WriteAsync(context, 200, WritePool);
                return;
            }

            if (segments is ["control", var name, var what] && _pair.FindKme(name) is { } kme)
            {
                if (what == "behaviour")
                {
                    if (HttpMethods.IsPut(method) || HttpMethods.IsPost(method))
                    {
                        using var body = await ReadJsonAsync(request);
                        kme.Behaviour.Apply(body.RootElement);
                    }
                    else if (!HttpMethods.IsGet(method))
                    {
                        await WriteMessageAsync(context, 405, "GET or PUT");
                        return;
                    }

                    await WriteAsync(context, 200, kme.Behaviour.WriteTo);
                    return;
                }

                if (what == "requests")
                {
                    if (HttpMethods.IsDelete(method))
                    {
                        kme.ClearRequests();
                    }
                    else if (!HttpMethods.IsGet(method))
                    {
                        await WriteMessageAsync(context, 405, "GET or DELETE");
                        return;
                    }

                    await WriteAsync(context, 200, w => WriteRequests(w, kme));
                    return;
                }
            }

            await WriteMessageAsync(context, 404, "unknown control resource");
        }
        catch (Exception e) when (e is ArgumentException or JsonException)
        {
            await WriteMessageAsync(context, 400, e.Message);
        }
    }

    private void WriteSummary(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        foreach (var (label, kme) in new[] { ("A", _pair.KmeA), ("B", _pair.KmeB) })
        {
            w.WriteStartObject(label);
            w.WriteString("id", kme.KmeId);
            w.WriteString("url", kme.BaseUri.ToString());
            w.WritePropertyName("behaviour");
            kme.Behaviour.WriteTo(w);
            w.WriteEndObject();
        }

        w.WritePropertyName("pool");
        WritePool(w);
        w.WriteEndObject();
    }

    private void WritePool(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteNumber("stored_key_count", _pair.Pool.StoredKeyCount);
        w.WriteNumber("pending_key_count", _pair.Pool.PendingKeyCount);
        w.WriteNumber("max_key_count", _pair.Pool.MaxKeyCount);
        w.WriteEndObject();
    }

    private static void WriteRequests(Utf8JsonWriter w, TestKme kme)
    {
        w.WriteStartArray();
        foreach (var r in kme.Requests)
        {
            w.WriteStartObject();
            w.WriteString("time", r.Time);
            w.WriteString("kme", r.KmeId);
            w.WriteString("method", r.Method);
            w.WriteString("target", r.RawTarget);
            w.WriteString("sae", r.SaeId);
            w.WriteString("body", r.RequestBody);
            w.WriteNumber("status", r.StatusCode);
            w.WriteString("tlsGroup", r.TlsGroup);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static async Task<JsonDocument> ReadJsonAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        return JsonDocument.Parse(text.Length == 0 ? "{}" : text);
    }

    private static Task WriteMessageAsync(HttpContext context, int status, string message)
        => WriteAsync(context, status, w =>
        {
            w.WriteStartObject();
            w.WriteString("message", message);
            w.WriteEndObject();
        });

    private static async Task WriteAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(writer);
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    /// <summary>The HTTP QRNG stand-in behind <c>GET /qrng</c> and its settings (<c>/control/qrng</c>).</summary>
    private sealed class QrngStandIn
    {
        private const int MaxBytes = 65536;
        private readonly object _gate = new();
        private readonly List<(int Bytes, string Encoding, bool ApiKeyMatched, int Status, string DataHex)> _log = new();
        private string? _apiKey;
        private bool _malformed;
        private int _status;

        public void Reset()
        {
            lock (_gate)
            {
                _apiKey = null;
                _malformed = false;
                _status = 0;
                _log.Clear();
            }
        }

        /// <summary>Sets ApiKey (string or null), Malformed (bool) and Status (0 or 100..599); nothing changes on an error.</summary>
        public void Apply(JsonElement settings)
        {
            if (settings.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException("qrng settings must be a JSON object");
            }

            var staged = new List<Action>();
            foreach (var property in settings.EnumerateObject())
            {
                var value = property.Value;
                switch (property.Name.ToUpperInvariant())
                {
                    case "APIKEY" when value.ValueKind is JsonValueKind.Null or JsonValueKind.String:
                        var key = value.ValueKind == JsonValueKind.Null ? null : value.GetString();
                        staged.Add(() => _apiKey = string.IsNullOrEmpty(key) ? null : key);
                        break;
                    case "MALFORMED" when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                        var on = value.GetBoolean();
                        staged.Add(() => _malformed = on);
                        break;
                    case "STATUS" when value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var code) && (code == 0 || code is >= 100 and <= 599):
                        staged.Add(() => _status = code);
                        break;
                    case "APIKEY" or "MALFORMED" or "STATUS":
                        throw new ArgumentException($"{property.Name}: wrong value (ApiKey: string or null; Malformed: true or false; Status: 0 or 100..599)");
                    default:
                        throw new ArgumentException($"unknown qrng setting '{property.Name}'");
                }
            }

            lock (_gate)
            {
                foreach (var action in staged)
                {
                    action();
                }
            }
        }

        public void WriteTo(Utf8JsonWriter w)
        {
            lock (_gate)
            {
                w.WriteStartObject();
                w.WriteBoolean("apiKeyRequired", _apiKey is not null);
                w.WriteBoolean("malformed", _malformed);
                w.WriteNumber("status", _status);
                w.WriteStartArray("requests");
                foreach (var r in _log)
                {
                    w.WriteStartObject();
                    w.WriteNumber("bytes", r.Bytes);
                    w.WriteString("encoding", r.Encoding);
                    w.WriteBoolean("apiKeyMatched", r.ApiKeyMatched);
                    w.WriteNumber("status", r.Status);
                    w.WriteString("data", r.DataHex);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }
        }

        public async Task HandleAsync(HttpContext context)
        {
            var query = context.Request.Query;
            var encoding = query.TryGetValue("encoding", out var e) ? e.ToString().ToLowerInvariant() : "hex";
            if (!int.TryParse(query["bytes"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var bytes)
                || bytes < 1 || bytes > MaxBytes || encoding is not ("hex" or "base64"))
            {
                await WriteMessageAsync(context, 400, $"bytes=1..{MaxBytes} is required; encoding is hex or base64");
                return;
            }

            string? apiKey;
            bool malformed;
            int status;
            lock (_gate)
            {
                apiKey = _apiKey;
                malformed = _malformed;
                status = _status;
            }

            var given = context.Request.Headers["x-api-key"].ToString();
            var matched = apiKey is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(apiKey));
            if (status == 0 && apiKey is not null && !matched)
            {
                status = 401;
            }

            if (status != 0)
            {
                Log(bytes, encoding, matched, status, string.Empty);
                await WriteMessageAsync(context, status, status == 401 && apiKey is not null && !matched ? "x-api-key missing or wrong" : "QRNG stand-in: failing as told");
                return;
            }

            var data = RandomNumberGenerator.GetBytes(bytes);
            var text = encoding == "base64" ? Convert.ToBase64String(data) : Convert.ToHexString(data).ToLowerInvariant();
            var json = JsonSerializer.Serialize(new Dictionary<string, string> { ["data"] = text });
            if (malformed)
            {
                json = json.Substring(0, json.Length / 2);
            }

            Log(bytes, encoding, matched, 200, Convert.ToHexString(data));
            var body = Encoding.UTF8.GetBytes(json);
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
        }

        private void Log(int bytes, string encoding, bool matched, int status, string dataHex)
        {
            lock (_gate)
            {
                _log.Add((bytes, encoding, matched, status, dataHex));
            }
        }
    }
}
