using System;
using System.Buffers;
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
/// <item><c>POST /control/reset</c>: <see cref="TestKmePair.Reset"/>.</item>
/// </list>
/// </summary>
internal sealed class ControlServer : IAsyncDisposable
{
    private readonly TestKmePair _pair;
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
                await WriteAsync(context, 200, WriteSummary);
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
}
