using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using QKDLite.TestKme;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>An HTTP answer, read completely.</summary>
internal sealed record Answer(HttpStatusCode Status, string Body, HttpResponseHeaders Headers, HttpContentHeaders ContentHeaders)
{
    public JsonElement Json
    {
        get
        {
            using var document = JsonDocument.Parse(Body);
            return document.RootElement.Clone();
        }
    }

    public string? Message => Json.GetProperty("message").GetString();

    /// <summary>key_ID and decoded key of each key in a key container.</summary>
    public IReadOnlyList<(string Id, byte[] Key)> Keys =>
        Json.GetProperty("keys").EnumerateArray()
            .Select(k => (k.GetProperty("key_ID").GetString()!, Convert.FromBase64String(k.GetProperty("key").GetString()!)))
            .ToList();

    public void AssertStatus(HttpStatusCode expected) =>
        Assert.True(Status == expected, $"expected {(int)expected}, got {(int)Status}: {Body}");

    /// <summary>Asserts a 400 with exactly this message.</summary>
    public void AssertBadRequest(string message)
    {
        AssertStatus(HttpStatusCode.BadRequest);
        Assert.Equal(message, Message);
    }
}

/// <summary>An SAE (or anyone with or without a certificate) talking to the server over mutual TLS.</summary>
internal sealed class SaeClient : IDisposable
{
    private readonly HttpClient _http;

    public SaeClient(Uri baseUri, TestCertificate? certificate)
        : this(baseUri, certificate?.Certificate)
    {
    }

    public SaeClient(Uri baseUri, X509Certificate2? certificate)
        => _http = TestKmeClient.CreateHttpClient(baseUri, Pki.Ca.CaCertificate, certificate, TimeSpan.FromSeconds(20));

    /// <summary>Over a ready client, such as a BouncyCastle hybrid one (<see cref="BcTls.CreateHttpClient"/>).</summary>
    public SaeClient(HttpClient http) => _http = http;

    public Task<Answer> GetAsync(string path) => SendAsync(new HttpRequestMessage(HttpMethod.Get, path));

    public Task<Answer> PostAsync(string path, string body) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") });

    public Task<Answer> StatusAsync(string saeId) => GetAsync($"api/v1/keys/{Uri.EscapeDataString(saeId)}/status");

    public Task<Answer> EncKeysAsync(string slave, string request = "{}") =>
        PostAsync($"api/v1/keys/{Uri.EscapeDataString(slave)}/enc_keys", request);

    public Task<Answer> DecKeysAsync(string master, params string[] keyIds) =>
        PostAsync($"api/v1/keys/{Uri.EscapeDataString(master)}/dec_keys",
            JsonSerializer.Serialize(new { key_IDs = keyIds.Select(id => new { key_ID = id }) }));

    public async Task<Answer> SendAsync(HttpRequestMessage request)
    {
        using (request)
        using (var response = await _http.SendAsync(request))
        {
            var body = await response.Content.ReadAsStringAsync();
            return new Answer(response.StatusCode, body, response.Headers, response.Content.Headers);
        }
    }

    public void Dispose() => _http.Dispose();
}
