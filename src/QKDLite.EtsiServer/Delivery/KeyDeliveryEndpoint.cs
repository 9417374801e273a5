using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using QKDLite.Core.KeyStore;
using QKDLite.EtsiServer.Audit;
using QKDLite.EtsiServer.Identity;
using QKDLite.EtsiServer.Protocol;
using QKDLite.EtsiServer.Tls;

namespace QKDLite.EtsiServer.Delivery;

/// <summary>
/// The three ETSI GS QKD 014 calls over the key store. Checks run in the documented order: SAE ID
/// from the certificate (401), pair authorised (401), request form (400), number and size (400),
/// mandatory extensions (400), multicast (400), enough keys (503); keys are then taken from the
/// store atomically. Every request leaves one audit record; no answer but a 200 carries key bytes.
/// </summary>
internal sealed class KeyDeliveryEndpoint
{
    private const string JsonContentType = "application/json";

    private readonly EtsiServerSettings _settings;
    private readonly IKeyStore _store;
    private readonly PairDirectory _pairs;
    private readonly SaeIdentityResolver _identity;
    private readonly RequestLimits _limits;
    private readonly AuditLog _audit;
    private readonly ILogger _logger;

    public KeyDeliveryEndpoint(EtsiServerSettings settings, IKeyStore store, AuditLog audit, ILogger logger)
    {
        _settings = settings;
        _store = store;
        _pairs = new PairDirectory(settings.Pairs);
        _identity = new SaeIdentityResolver(settings.SaeIdentity, settings.SaeThumbprints);
        _limits = RequestLimits.From(settings);
        _audit = audit;
        _logger = logger;
    }

    /// <summary>Handles one request.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        var certificate = context.Connection.ClientCertificate;
        var record = new AuditRecord
        {
            Remote = context.Connection.RemoteIpAddress is { } ip ? $"{ip}:{context.Connection.RemotePort}" : null,
            Thumbprint = certificate?.Thumbprint,
            Method = context.Request.Method,
            // Null on the classical listener: the platform's TLS does not report the group it negotiated.
            TlsGroup = context.Features.Get<ITlsKeyExchangeFeature>()?.Group,
        };
        // Nothing this server answers may be cached: key containers above all, but status and errors too.
        context.Response.Headers.CacheControl = "no-store";
        try
        {
            await ServeAsync(context, record);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The caller went away; the audit record says so.
        }
        catch (Exception e)
        {
            // Our messages never hold key bytes; the administrator gets type, id and message, the caller a fixed text.
            var id = (e as QKDLiteException)?.ErrorId ?? e.GetType().Name;
            _logger.LogError("{Method} {Endpoint} failed: {Id}: {Message}", record.Method, record.Endpoint, id, e.Message);
            if (!context.Response.HasStarted)
            {
                await WriteErrorAsync(context, record, new EtsiError(503, EtsiMessages.KeyStoreUnavailable));
            }
            record.Outcome = "failed: " + id;
        }
        finally
        {
            record.Status = context.Response.StatusCode;
            if (context.RequestAborted.IsCancellationRequested && record.Outcome is null) record.Outcome = "aborted by the client";
            try
            {
                _audit.Write(record);
            }
            catch (Exception e) when (e is System.IO.IOException or ObjectDisposedException)
            {
                _logger.LogError("The audit record could not be written: {Message}", e.Message);
            }
        }
    }

    private async Task ServeAsync(HttpContext context, AuditRecord record)
    {
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.ToString();
        var target = EtsiTarget.TryParse(rawTarget);
        record.Endpoint = target is null ? context.Request.Path.ToString() : Name(target.Operation);
        record.PathSaeId = target?.SaeId;

        var caller = _identity.Resolve(context.Connection.ClientCertificate);
        record.SaeId = caller;
        if (caller is null)
        {
            Unauthorized(context, record, "the client certificate names no SAE by the configured rule");
            return;
        }
        if (target is null)
        {
            await WriteErrorAsync(context, record, new EtsiError(404, EtsiMessages.NoSuchEndpoint));
            return;
        }

        var pair = target.Operation switch
        {
            EtsiOperation.Status => _pairs.ForStatus(caller, target.SaeId),
            EtsiOperation.EncKeys => _pairs.Find(masterSaeId: caller, slaveSaeId: target.SaeId),
            _ => _pairs.Find(masterSaeId: target.SaeId, slaveSaeId: caller),
        };
        if (pair is null)
        {
            Unauthorized(context, record, "no configured pair authorises this SAE for this call");
            return;
        }
        record.KeyId = pair.KeyId;

        var method = context.Request.Method;
        var isPost = HttpMethods.IsPost(method);
        var allowed = target.Operation == EtsiOperation.Status ? "GET" : "GET, POST";
        if (!HttpMethods.IsGet(method) && !(isPost && target.Operation != EtsiOperation.Status))
        {
            context.Response.Headers.Allow = allowed;
            await WriteErrorAsync(context, record, new EtsiError(405, string.Format(System.Globalization.CultureInfo.InvariantCulture, EtsiMessages.MethodNotAllowed, allowed)));
            return;
        }
        if (!isPost && RequestBody.IsPresent(context.Request))
        {
            await WriteErrorAsync(context, record, EtsiError.BadRequest(EtsiMessages.BodyOnGet));
            return;
        }

        switch (target.Operation)
        {
            case EtsiOperation.Status:
                await StatusAsync(context, record, pair);
                return;
            case EtsiOperation.EncKeys:
                await EncKeysAsync(context, record, pair, target, isPost);
                return;
            default:
                await DecKeysAsync(context, record, pair, target, isPost);
                return;
        }
    }

    /// <summary>
    /// How old the store's view may be for stored_key_count. The count is advisory (enc_keys and
    /// dec_keys always look at the token afresh), and looking afresh costs SoftHSM2 a file check that
    /// would otherwise be most of a status request; keys this server delivers count at once.
    /// </summary>
    internal static readonly TimeSpan StatusCountMaxAge = TimeSpan.FromMilliseconds(100);

    private async Task StatusAsync(HttpContext context, AuditRecord record, EtsiSaePair pair)
    {
        var status = new EtsiStatus(
            _settings.KmeId ?? string.Empty, pair.PeerKmeId, pair.MasterSaeId, pair.SlaveSaeId, pair.KeySize,
            _store.CountActiveKeys(pair.KeyId, pair.KeySize, StatusCountMaxAge), RequestLimits.MaxKeyCount, _limits.MaxKeysPerRequest,
            _limits.MaxKeySize, _limits.MinKeySize, RequestLimits.MaxSaeIdCount);
        record.Outcome = "status";
        await WriteJsonAsync(context, 200, EtsiJson.Status(status));
    }

    private async Task EncKeysAsync(HttpContext context, AuditRecord record, EtsiSaePair pair, EtsiTarget target, bool isPost)
    {
        Parsed<KeyRequest> request;
        if (isPost)
        {
            var body = await ReadBodyAsync(context, record);
            if (body is null) return;
            request = KeyRequestParser.ParseBody(body);
        }
        else
        {
            request = KeyRequestParser.ParseQuery(target.Query);
        }
        if (!request.IsValid)
        {
            await WriteErrorAsync(context, record, request.Error!);
            return;
        }
        var resolved = _limits.Resolve(request.Value!, pair.KeySize);
        if (!resolved.IsValid)
        {
            await WriteErrorAsync(context, record, resolved.Error!);
            return;
        }

        var (number, size) = resolved.Value;
        context.RequestAborted.ThrowIfCancellationRequested();
        IReadOnlyList<DeliveredKey> keys;
        try
        {
            keys = _store.TakeOldestKeys(pair.KeyId, size, number);
        }
        catch (QKDLiteException e) when (e.ErrorId is ErrorIds.KeyPoolExhausted or ErrorIds.KeyNotFound)
        {
            // KeyNotFound here: another process took keys while we did; the pool is short for now.
            await WriteErrorAsync(context, record, new EtsiError(503, EtsiMessages.NotEnoughKeys));
            return;
        }
        await DeliverAsync(context, record, keys);
    }

    private async Task DecKeysAsync(HttpContext context, AuditRecord record, EtsiSaePair pair, EtsiTarget target, bool isPost)
    {
        Parsed<IReadOnlyList<string>> ids;
        if (isPost)
        {
            var body = await ReadBodyAsync(context, record);
            if (body is null) return;
            ids = KeyIdsParser.ParseBody(body);
        }
        else
        {
            ids = KeyIdsParser.ParseQuery(target.Query);
        }
        if (!ids.IsValid)
        {
            await WriteErrorAsync(context, record, ids.Error!);
            return;
        }
        record.KeyIds = ids.Value!.Take(_limits.MaxKeysPerRequest).ToList();
        var refused = _limits.Check(ids.Value!);
        if (refused is not null)
        {
            await WriteErrorAsync(context, record, refused);
            return;
        }

        context.RequestAborted.ThrowIfCancellationRequested();
        IReadOnlyList<DeliveredKey> keys;
        try
        {
            keys = _store.TakeKeys(pair.KeyId, ids.Value!);
        }
        catch (QKDLiteException e) when (e.ErrorId is ErrorIds.KeyNotFound or ErrorIds.KeyLabelInvalid or ErrorIds.DuplicateKeyLabel)
        {
            // Unknown, already delivered, pending, of another keyID, or not a possible label: all the same to the caller.
            await WriteErrorAsync(context, record, EtsiError.BadRequest(EtsiMessages.KeysNotFound));
            return;
        }
        await DeliverAsync(context, record, keys);
    }

    /// <summary>Writes the key container, then zeroes every copy of the key bytes this process made.</summary>
    private static async Task DeliverAsync(HttpContext context, AuditRecord record, IReadOnlyList<DeliveredKey> keys)
    {
        record.KeyIds = keys.Select(k => k.Label).ToList();
        record.Outcome = "delivered";
        try
        {
            using var json = EtsiJson.KeyContainer(keys);
            foreach (var key in keys) key.Dispose();
            context.Response.StatusCode = 200;
            context.Response.ContentType = JsonContentType;
            context.Response.ContentLength = json.WrittenMemory.Length;
            try
            {
                // Not cancellable: the keys have left the store, so the answer must go out if it still can.
                await context.Response.Body.WriteAsync(json.WrittenMemory, System.Threading.CancellationToken.None);
                await context.Response.Body.FlushAsync(System.Threading.CancellationToken.None);
            }
            catch (Exception e) when (e is System.IO.IOException or OperationCanceledException or ObjectDisposedException)
            {
                // Taken but not received: the keys are gone all the same (at most once, never twice).
                record.Outcome = "taken, but the answer could not be sent: " + e.GetType().Name;
            }
        }
        finally
        {
            foreach (var key in keys) key.Dispose();
        }
    }

    private async Task<byte[]?> ReadBodyAsync(HttpContext context, AuditRecord record)
    {
        var body = await RequestBody.ReadAsync(context.Request, _settings.MaxBodyBytes, context.RequestAborted);
        if (body is null)
            await WriteErrorAsync(context, record, EtsiError.BadRequestFormat(EtsiMessages.BodyTooLarge, _settings.MaxBodyBytes));
        return body;
    }

    /// <summary>401 without a body: the standard defines none, and a refused caller learns nothing.</summary>
    private static void Unauthorized(HttpContext context, AuditRecord record, string why)
    {
        record.Outcome = "unauthorized: " + why;
        context.Response.StatusCode = 401;
        context.Response.ContentLength = 0;
    }

    private static Task WriteErrorAsync(HttpContext context, AuditRecord record, EtsiError error)
    {
        record.Outcome = error.Message;
        return WriteJsonAsync(context, error.Status, EtsiJson.Error(error));
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, byte[] json)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = JsonContentType;
        response.ContentLength = json.Length;
        await response.Body.WriteAsync(json, context.RequestAborted);
    }

    private static string Name(EtsiOperation operation) => operation switch
    {
        EtsiOperation.Status => "status",
        EtsiOperation.EncKeys => "enc_keys",
        _ => "dec_keys",
    };
}
