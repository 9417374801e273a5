using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace QKDLite.EtsiServer.Delivery;

/// <summary>Reads request bodies within the configured size limit.</summary>
internal static class RequestBody
{
    /// <summary>
    /// A refused body up to this size is still read (and dropped), so that the client finishes
    /// sending and reads our 400 rather than a reset connection. Larger ones end the connection.
    /// </summary>
    public const int DrainLimit = 1024 * 1024;

    /// <summary>The size Kestrel itself enforces: what we accept, or what we drain, whichever is larger.</summary>
    public static long ServerLimit(int maxBytes) => Math.Max(maxBytes + 1L, DrainLimit);

    /// <summary>
    /// True when the request carries a body: a positive Content-Length, chunked transfer, or an
    /// HTTP/2 stream that did not end with its headers.
    /// </summary>
    public static bool IsPresent(HttpRequest request)
    {
        if (request.ContentLength is { } length) return length > 0;
        return request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? false;
    }

    /// <summary>The whole body, or null when it is larger than <paramref name="maxBytes"/>.</summary>
    public static async Task<byte[]?> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellation)
    {
        if (request.ContentLength > maxBytes)
        {
            if (request.ContentLength <= ServerLimit(maxBytes)) await DrainAsync(request, cancellation);
            else CloseAfterAnswer(request);
            return null;
        }
        var buffer = new byte[Math.Min(maxBytes + 1, (int)(request.ContentLength ?? 4096) + 1)];
        var total = 0;
        while (true)
        {
            if (total == buffer.Length) Array.Resize(ref buffer, Math.Min(maxBytes + 1, buffer.Length * 2));
            var read = await request.Body.ReadAsync(buffer.AsMemory(total), cancellation);
            if (read == 0) break;
            total += read;
            if (total > maxBytes)
            {
                await DrainAsync(request, cancellation);
                return null;
            }
        }
        return total == buffer.Length ? buffer : buffer[..total];
    }

    /// <summary>
    /// The rest of the body stays unread, so Kestrel ends the connection after our answer: say so,
    /// or the client may send its next request on a connection about to close.
    /// </summary>
    private static void CloseAfterAnswer(HttpRequest request)
    {
        // HTTP/2 has no Connection header; its streams end on their own.
        if (HttpProtocol.IsHttp11(request.Protocol) || HttpProtocol.IsHttp10(request.Protocol))
            request.HttpContext.Response.Headers.Connection = "close";
    }

    private static async Task DrainAsync(HttpRequest request, CancellationToken cancellation)
    {
        var scratch = new byte[16 * 1024];
        try
        {
            while (await request.Body.ReadAsync(scratch, cancellation) > 0)
            {
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            CloseAfterAnswer(request);
        }
        catch (IOException)
        {
            // The client gave up sending.
        }
    }
}
