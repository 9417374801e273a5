using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Authentication;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using QKDLite.Core.Errors;
using QKDLite.Core.Tls;

namespace QKDLite.Core.Kme;

/// <summary>
/// An ETSI GS QKD 014 client (an SAE towards a KME): status, get key (enc_keys) and get key with
/// key IDs (dec_keys), over mutual TLS. Lenient with real KMEs: reads status first and splits
/// requests by max_key_per_request, checks every decoded key's length (some KMEs confuse bits and
/// bytes), and turns 401 with an empty or HTML body, 404/409/412 and malformed JSON into clear errors.
/// Several URLs give high availability: on timeout, connection failure, 503 or 504 the next is tried,
/// with a growing pause between rounds. TlsProfile Hybrid or PostQuantumOnly runs TLS through
/// BouncyCastle (hybrid ML-KEM key exchange) under the same HttpClient; Classical uses the platform's TLS.
/// </summary>
public sealed class EtsiKmeClient : IDisposable
{
    private static readonly SslProtocols Tls12And13 = SslProtocols.Tls12 | (SslProtocols)12288; // 12288 = Tls13, absent from netstandard2.0
    private readonly KmeSettings _settings;
    private readonly HttpClient _http;

    /// <summary>Creates a client; settings are checked and certificates loaded now, so configuration errors show at once.</summary>
    public EtsiKmeClient(KmeSettings settings)
    {
        _settings = settings;
        if (settings.Urls.Count == 0)
            throw new QKDLiteException(ErrorIds.KmeConfigurationInvalid, QKDLiteErrorCategory.InvalidData, $"KME '{settings.Name}' has no URL.", settings.Name);
        settings.Validate();
        var ca = KmeTls.LoadCa(settings);
        _http = new HttpClient(settings.TlsProfile == TlsProfile.Classical ? PlatformHandler(settings, ca) : PostQuantumHandler(settings, ca))
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
    }

    private static HttpMessageHandler PlatformHandler(KmeSettings settings, System.Security.Cryptography.X509Certificates.X509Certificate2 ca)
    {
        var handler = new HttpClientHandler
        {
            ClientCertificateOptions = ClientCertificateOption.Manual,
            SslProtocols = Tls12And13,
            ServerCertificateCustomValidationCallback = (_, certificate, _, errors) => KmeTls.ServerIsTrusted(certificate, errors, ca),
        };
        handler.ClientCertificates.Add(KmeTls.LoadClientCertificate(settings));
        return handler;
    }

    /// <summary>BouncyCastle's TLS under SocketsHttpHandler: requests go to http:// URIs, the connect callback does the TLS.</summary>
    private HttpMessageHandler PostQuantumHandler(KmeSettings settings, System.Security.Cryptography.X509Certificates.X509Certificate2 ca)
    {
        var owner = $"KME '{settings.Name}'";
        ConnectCallbackHandler.EnsureSupported(owner, settings.TlsProfile);
        var bad = settings.Urls.FirstOrDefault(u => !Uri.TryCreate(u, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps);
        if (bad is not null)
            throw new QKDLiteException(ErrorIds.KmeConfigurationInvalid, QKDLiteErrorCategory.InvalidData,
                $"{owner}: TlsProfile {settings.TlsProfile} needs https:// URLs; '{bad}' is not one.", settings.Name);
        BcClientCredentials credentials;
        using (var certificate = KmeTls.LoadClientCertificate(settings, exportable: true))
            credentials = BcClientCredentials.From(certificate, owner);
        var options = new TlsClientOptions(settings.TlsProfile, settings.TlsGroupCodes(), credentials,
            (server, intermediates, host) => KmeTls.ServerProblem(server, intermediates, host, ca));
        return ConnectCallbackHandler.Create(async (host, port, cancellation) =>
        {
            var (stream, client) = await HybridTlsConnector.ConnectAsync(host, port, options, cancellation).ConfigureAwait(false);
            _lastTls = client.Negotiated;
            return stream;
        });
    }

    private volatile TlsSessionInfo? _lastTls;

    /// <summary>
    /// What the last TLS handshake negotiated (profile, protocol, group, cipher suite). With the
    /// Classical profile the platform's TLS reports no group or protocol: only the profile is known.
    /// </summary>
    public TlsSessionInfo? LastTls => _lastTls;

    /// <summary>The URL that answered last.</summary>
    public string? LastUrl { get; private set; }

    /// <summary>Status of the pair (this SAE as master, <paramref name="slaveSaeId"/> as slave).</summary>
    public async Task<KmeStatus> GetStatusAsync(string slaveSaeId, CancellationToken cancellation = default)
    {
        using var document = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, "api/v1/keys/" + Uri.EscapeDataString(slaveSaeId) + "/status"), cancellation).ConfigureAwait(false);
        var root = document.RootElement;
        try
        {
            return new KmeStatus
            {
                Kme = _settings.Name,
                Url = LastUrl ?? string.Empty,
                SourceKmeId = root.GetProperty("source_KME_ID").GetString() ?? string.Empty,
                TargetKmeId = root.GetProperty("target_KME_ID").GetString() ?? string.Empty,
                MasterSaeId = root.GetProperty("master_SAE_ID").GetString() ?? string.Empty,
                SlaveSaeId = root.GetProperty("slave_SAE_ID").GetString() ?? string.Empty,
                KeySize = root.GetProperty("key_size").GetInt32(),
                StoredKeyCount = root.GetProperty("stored_key_count").GetInt32(),
                MaxKeyCount = root.GetProperty("max_key_count").GetInt32(),
                MaxKeyPerRequest = root.GetProperty("max_key_per_request").GetInt32(),
                MaxKeySize = root.GetProperty("max_key_size").GetInt32(),
                MinKeySize = root.GetProperty("min_key_size").GetInt32(),
                MaxSaeIdCount = root.TryGetProperty("max_SAE_ID_count", out var m) ? m.GetInt32() : 0,
                TlsProfile = _settings.TlsProfile,
                TlsProtocol = LastTls?.Protocol,
                TlsGroup = LastTls?.Group,
                PostQuantum = LastTls?.PostQuantum ?? false,
            };
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw Invalid($"its status answer lacks a field or has a wrong type ({e.Message})", e);
        }
    }

    /// <summary>
    /// Get key (enc_keys) as master SAE: <paramref name="number"/> keys of <paramref name="sizeBits"/>
    /// bits (0: the KME's default) shared with <paramref name="slaveSaeId"/>.
    /// </summary>
    public async Task<IReadOnlyList<KmeKey>> GetKeysAsync(string slaveSaeId, int number, int sizeBits, CancellationToken cancellation = default)
    {
        var status = await GetStatusAsync(slaveSaeId, cancellation).ConfigureAwait(false);
        var size = sizeBits == 0 ? status.KeySize : sizeBits;
        CheckSize(status, size);
        var keys = new List<KmeKey>();
        try
        {
            foreach (var chunk in Chunks(number, status.MaxKeyPerRequest))
                keys.AddRange(await GetChunkAsync(slaveSaeId, chunk, size, cancellation).ConfigureAwait(false));
            return keys;
        }
        catch
        {
            foreach (var key in keys) key.Clear();
            throw;
        }
    }

    /// <summary>
    /// As <see cref="GetKeysAsync"/>, one request's worth of keys at a time: the next request is
    /// already on its way while the caller stores the batch it holds, so the network and the key store
    /// work side by side. The caller clears the keys it is given; keys fetched for a batch the caller
    /// never took (it stopped or failed) are cleared here. Errors surface when the batch is taken.
    /// </summary>
    public IEnumerable<IReadOnlyList<KmeKey>> GetKeyBatches(string slaveSaeId, int number, int sizeBits, CancellationToken cancellation = default)
    {
        var status = GetStatusAsync(slaveSaeId, cancellation).GetAwaiter().GetResult();
        var size = sizeBits == 0 ? status.KeySize : sizeBits;
        CheckSize(status, size);
        return Batches(slaveSaeId, Chunks(number, status.MaxKeyPerRequest).ToList(), size, cancellation);
    }

    private IEnumerable<IReadOnlyList<KmeKey>> Batches(string slaveSaeId, List<int> chunks, int size, CancellationToken cancellation)
    {
        Task<IReadOnlyList<KmeKey>>? next = GetChunkAsync(slaveSaeId, chunks[0], size, cancellation);
        try
        {
            for (var i = 0; i < chunks.Count; i++)
            {
                var batch = next!.GetAwaiter().GetResult();
                next = i + 1 < chunks.Count ? GetChunkAsync(slaveSaeId, chunks[i + 1], size, cancellation) : null;
                yield return batch;
            }
        }
        finally
        {
            if (next is not null) ClearWhenDone(next);
        }
    }

    private static void ClearWhenDone(Task<IReadOnlyList<KmeKey>> fetch) =>
        fetch.ContinueWith(t =>
        {
            if (t.Status != TaskStatus.RanToCompletion)
            {
                _ = t.Exception; // observed: the caller already has the error that stopped it
                return;
            }
            foreach (var key in t.Result) key.Clear();
        }, TaskScheduler.Default);

    /// <summary>One enc_keys request for <paramref name="number"/> keys, checked for count and size.</summary>
    private async Task<IReadOnlyList<KmeKey>> GetChunkAsync(string slaveSaeId, int number, int size, CancellationToken cancellation)
    {
        var body = $"{{\"number\":{number},\"size\":{size}}}";
        using var document = await SendAsync(() => Post("api/v1/keys/" + Uri.EscapeDataString(slaveSaeId) + "/enc_keys", body), cancellation).ConfigureAwait(false);
        var received = ReadKeys(document, size);
        if (received.Count != number)
        {
            foreach (var key in received) key.Clear();
            throw Invalid($"it sent {received.Count} keys where {number} were asked for");
        }
        return received;
    }

    /// <summary>
    /// Get key with key IDs (dec_keys) as slave SAE of <paramref name="masterSaeId"/>; keys come back in
    /// the order asked. With <paramref name="sizeBits"/> 0 the size is whatever the master asked for,
    /// as long as every key has it.
    /// </summary>
    public async Task<IReadOnlyList<KmeKey>> GetKeysWithIdsAsync(string masterSaeId, IReadOnlyList<string> keyIds, int sizeBits, CancellationToken cancellation = default)
    {
        var status = await GetStatusAsync(masterSaeId, cancellation).ConfigureAwait(false);
        var size = sizeBits;
        var byId = new Dictionary<string, KmeKey>(StringComparer.OrdinalIgnoreCase);
        try
        {
            var position = 0;
            foreach (var chunk in Chunks(keyIds.Count, status.MaxKeyPerRequest))
            {
                var ids = keyIds.Skip(position).Take(chunk).ToList();
                position += chunk;
                var body = "{\"key_IDs\":[" + string.Join(",", ids.Select(id => "{\"key_ID\":" + JsonSerializer.Serialize(id) + "}")) + "]}";
                using var document = await SendAsync(() => Post("api/v1/keys/" + Uri.EscapeDataString(masterSaeId) + "/dec_keys", body), cancellation).ConfigureAwait(false);
                var received = ReadKeys(document, size);
                if (size == 0 && received.Count > 0)
                {
                    // The master's size is unknown here: take the keys' own, but only within the KME's announced limits.
                    size = received[0].Key.Length * 8;
                    if ((status.MaxKeySize > 0 && size > status.MaxKeySize) || (status.MinKeySize > 0 && size < status.MinKeySize))
                    {
                        foreach (var k in received) k.Clear();
                        throw Invalid($"its keys are {size} bits, outside the {status.MinKeySize} to {status.MaxKeySize} bits its status announces (bits and bytes confused?); nothing was stored");
                    }
                }
                foreach (var key in received)
                {
                    if (key.Key.Length * 8 != size)
                    {
                        foreach (var k in received) k.Clear();
                        throw Invalid($"its keys differ in size ({key.Key.Length * 8} and {size} bits)");
                    }
                    if (!ids.Contains(key.KeyId, StringComparer.OrdinalIgnoreCase) || byId.ContainsKey(key.KeyId))
                    {
                        key.Clear();
                        throw Invalid($"it answered with key_ID '{key.KeyId}', which was not asked for or came twice");
                    }
                    byId.Add(key.KeyId, key);
                }
            }
            var missing = keyIds.FirstOrDefault(id => !byId.ContainsKey(id));
            if (missing is not null) throw Invalid($"it did not return key_ID '{missing}'");
            return keyIds.Select(id => byId[id]).ToList();
        }
        catch
        {
            foreach (var key in byId.Values) key.Clear();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private static HttpRequestMessage Post(string path, string json) =>
        new(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    private static IEnumerable<int> Chunks(int total, int perRequest)
    {
        var step = perRequest > 0 ? perRequest : total;
        for (var done = 0; done < total; done += step) yield return Math.Min(step, total - done);
    }

    private void CheckSize(KmeStatus status, int size)
    {
        if (size % 8 != 0 || (status.MaxKeySize > 0 && size > status.MaxKeySize) || (status.MinKeySize > 0 && size < status.MinKeySize))
            throw new QKDLiteException(ErrorIds.KmeRequestRefused, QKDLiteErrorCategory.InvalidArgument,
                $"KME '{_settings.Name}' serves keys of {status.MinKeySize} to {status.MaxKeySize} bits in whole bytes; {size} bits were asked for.", size);
    }

    /// <summary>Reads a key container, checking every key's decoded length against the size asked for.</summary>
    private List<KmeKey> ReadKeys(JsonDocument document, int sizeBits)
    {
        var keys = new List<KmeKey>();
        try
        {
            if (!document.RootElement.TryGetProperty("keys", out var array) || array.ValueKind != JsonValueKind.Array)
                throw Invalid("its answer has no keys array");
            foreach (var item in array.EnumerateArray())
            {
                var id = item.GetProperty("key_ID").GetString();
                var text = item.GetProperty("key").GetString();
                if (string.IsNullOrEmpty(id) || text is null) throw Invalid("a key in its answer has no key_ID or key");
                var bytes = Convert.FromBase64String(text);
                keys.Add(new KmeKey(id!, bytes));
                if (sizeBits != 0 && bytes.Length * 8 != sizeBits)
                    throw Invalid($"key '{id}' is {bytes.Length * 8} bits where {sizeBits} were asked for (bits and bytes confused?); nothing was stored");
            }
            return keys;
        }
        catch (Exception e)
        {
            foreach (var key in keys) key.Clear();
            if (e is QKDLiteException) throw;
            if (e is KeyNotFoundException or InvalidOperationException or FormatException) throw Invalid($"its key container is malformed ({e.GetType().Name})", e);
            throw;
        }
    }

    /// <summary>Sends to each URL in turn until one answers with something other than unavailability.</summary>
    private async Task<JsonDocument> SendAsync(Func<HttpRequestMessage> request, CancellationToken cancellation)
    {
        var failures = new List<string>();
        for (var round = 0; round < Math.Max(1, _settings.Rounds); round++)
        {
            if (round > 0) await Task.Delay(TimeSpan.FromMilliseconds(200 * (1 << Math.Min(round, 5))), cancellation).ConfigureAwait(false);
            foreach (var url in _settings.Urls)
            {
                cancellation.ThrowIfCancellationRequested();
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
                timeout.CancelAfter(_settings.Timeout);
                using var message = request();
                message.RequestUri = new Uri(new Uri(RequestBase(url).TrimEnd('/') + "/"), message.RequestUri!.OriginalString);
                HttpResponseMessage response;
                string body;
                try
                {
                    response = await _http.SendAsync(message, timeout.Token).ConfigureAwait(false);
                    body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
                {
                    failures.Add($"{url}: no answer within {_settings.TimeoutSeconds} s");
                    continue;
                }
                catch (HttpRequestException e) when (TlsConnectException.Find(e) is { } tls)
                {
                    switch (tls.Failure)
                    {
                        case TlsConnectFailure.ServerCertificateUntrusted or TlsConnectFailure.ClientCertificateRefused:
                            throw new QKDLiteException(ErrorIds.KmeCertificateInvalid, QKDLiteErrorCategory.SecurityError,
                                $"KME '{_settings.Name}' at {url}: {tls.Message}.", url, tls);
                        case TlsConnectFailure.PostQuantumRefused:
                            throw new QKDLiteException(ErrorIds.TlsPostQuantumRefused, QKDLiteErrorCategory.SecurityError,
                                $"KME '{_settings.Name}' at {url} was refused because TlsProfile is PostQuantumOnly: {tls.Message}. Upgrade the KME, or use TlsProfile Hybrid to accept classical key exchange with it.", url, tls);
                        default:
                            failures.Add($"{url}: {tls.Message}");
                            continue;
                    }
                }
                catch (HttpRequestException e)
                {
                    if (IsCertificateFailure(e))
                        throw new QKDLiteException(ErrorIds.KmeCertificateInvalid, QKDLiteErrorCategory.SecurityError,
                            $"KME '{_settings.Name}' at {url} did not present a certificate that chains to the configured CA, or refused this SAE's certificate: {Innermost(e).Message}", url, e);
                    failures.Add($"{url}: {Innermost(e).Message}");
                    continue;
                }
                using (response)
                {
                    var status = (int)response.StatusCode;
                    if (status is 503 or 504)
                    {
                        failures.Add($"{url}: HTTP {status}");
                        continue;
                    }
                    LastUrl = url;
                    if (_settings.TlsProfile == TlsProfile.Classical) _lastTls = new TlsSessionInfo(TlsProfile.Classical, null, null, false, null);
                    if (status == 200) return Parse(body);
                    throw Refused(status, body, url);
                }
            }
        }
        throw new QKDLiteException(ErrorIds.KmeUnavailable, QKDLiteErrorCategory.ResourceUnavailable,
            $"No KME of '{_settings.Name}' could serve the request: {string.Join("; ", failures)}.", _settings.Name);
    }

    /// <summary>With BouncyCastle's TLS the handler must see http://: the connect callback has already secured the connection.</summary>
    private string RequestBase(string url) =>
        _settings.TlsProfile == TlsProfile.Classical ? url : new UriBuilder(url) { Scheme = Uri.UriSchemeHttp, Port = new Uri(url).Port }.Uri.ToString();

    private JsonDocument Parse(string body)
    {
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw Invalid("its answer is not valid JSON", e);
        }
    }

    private QKDLiteException Refused(int status, string body, string url)
    {
        var message = MessageOf(body);
        if (status == 401)
            return new QKDLiteException(ErrorIds.KmeUnauthorized, QKDLiteErrorCategory.AuthenticationError,
                $"KME '{_settings.Name}' at {url} refused SAE '{_settings.SaeId}' (401{(message is null ? string.Empty : ": " + message)}). Check the client certificate and that the SAE pair is configured on the KME.", url);
        return new QKDLiteException(ErrorIds.KmeRequestRefused, QKDLiteErrorCategory.InvalidOperation,
            $"KME '{_settings.Name}' at {url} refused the request (HTTP {status}{(message is null ? string.Empty : ": " + message)}).", url);
    }

    /// <summary>The ETSI error message of a body, or null for empty, HTML or other non-JSON bodies.</summary>
    private static string? MessageOf(string body)
    {
        if (string.IsNullOrWhiteSpace(body) || body.TrimStart().StartsWith("<", StringComparison.Ordinal)) return null;
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("message", out var m) ? m.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private QKDLiteException Invalid(string why, Exception? inner = null) =>
        new(ErrorIds.KmeAnswerInvalid, QKDLiteErrorCategory.InvalidData, $"KME '{_settings.Name}' answered outside ETSI GS QKD 014: {why}.", _settings.Name, inner);

    private static bool IsCertificateFailure(Exception e)
    {
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is AuthenticationException) return true;
        }
        return false;
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
