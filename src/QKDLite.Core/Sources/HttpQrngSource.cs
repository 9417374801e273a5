using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net.Http;
using System.Text.Json;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;

namespace QKDLite.Core.Sources;

/// <summary>Random bytes from an HTTP QRNG service answering JSON with hex or Base64 strings.</summary>
public sealed class HttpQrngSource : IKeyMaterialSource, IDisposable
{
    private readonly QrngSettings _settings;
    private readonly HttpClient _http;

    /// <summary>Creates the source for a configured service.</summary>
    public HttpQrngSource(QrngSettings settings)
    {
        _settings = settings;
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(Math.Max(1, settings.TimeoutSeconds)) };
        if (settings.ApiKeyVariable is not null)
        {
            var apiKey = Environment.GetEnvironmentVariable(settings.ApiKeyVariable);
            if (string.IsNullOrEmpty(apiKey))
                throw new QKDLiteException(ErrorIds.QrngUnavailable, QKDLiteErrorCategory.InvalidData,
                    $"QRNG '{settings.Name}': the environment variable '{settings.ApiKeyVariable}' holding its API key is not set.", settings.Name);
            _http.DefaultRequestHeaders.TryAddWithoutValidation(settings.ApiKeyHeader, apiKey);
        }
    }

    /// <inheritdoc />
    public KeySource Kind => KeySource.Qrng;

    /// <inheritdoc />
    public void Fill(byte[] buffer)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var chunk = Fetch(buffer.Length - filled);
            var take = Math.Min(chunk.Length, buffer.Length - filled);
            Buffer.BlockCopy(chunk, 0, buffer, filled, take);
            Array.Clear(chunk, 0, chunk.Length);
            filled += take;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private byte[] Fetch(int bytes)
    {
        var url = _settings.Url!.Replace("{bytes}", bytes.ToString(CultureInfo.InvariantCulture));
        string body;
        try
        {
            using var response = _http.GetAsync(url).GetAwaiter().GetResult();
            body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            if (!response.IsSuccessStatusCode)
                throw new QKDLiteException(ErrorIds.QrngUnavailable, QKDLiteErrorCategory.ResourceUnavailable,
                    $"QRNG '{_settings.Name}' answered HTTP {(int)response.StatusCode}.", _settings.Name);
        }
        catch (Exception e) when (e is HttpRequestException or System.Threading.Tasks.TaskCanceledException)
        {
            throw new QKDLiteException(ErrorIds.QrngUnavailable, QKDLiteErrorCategory.ResourceUnavailable,
                $"QRNG '{_settings.Name}' cannot be reached: {e.Message}", _settings.Name, e);
        }
        try
        {
            using var document = JsonDocument.Parse(body);
            var field = document.RootElement.GetProperty(_settings.Field);
            var parts = new List<string>();
            if (field.ValueKind == JsonValueKind.Array) foreach (var item in field.EnumerateArray()) parts.Add(item.GetString() ?? string.Empty);
            else parts.Add(field.GetString() ?? string.Empty);
            var result = new List<byte>();
            foreach (var part in parts) result.AddRange(Decode(part));
            if (result.Count == 0) throw new FormatException("no bytes");
            return result.ToArray();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new QKDLiteException(ErrorIds.QrngAnswerInvalid, QKDLiteErrorCategory.InvalidData,
                $"QRNG '{_settings.Name}' did not answer JSON with {_settings.Encoding} bytes in '{_settings.Field}'.", _settings.Name, e);
        }
    }

    private byte[] Decode(string text)
    {
        if (string.Equals(_settings.Encoding, "Base64", StringComparison.OrdinalIgnoreCase)) return Convert.FromBase64String(text);
        if (text.Length % 2 != 0) throw new FormatException("odd number of hex digits");
        var bytes = new byte[text.Length / 2];
        for (var i = 0; i < bytes.Length; i++) bytes[i] = byte.Parse(text.Substring(2 * i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return bytes;
    }
}
