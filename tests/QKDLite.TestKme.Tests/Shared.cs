using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using QKDLite.TestKme;
using Xunit;

namespace QKDLite.TestKme.Tests;

/// <summary>
/// One PKI and the usual SAE certificates for the whole test run. ECDSA keeps the run fast (RSA key
/// generation costs a quarter second per key); the RSA default is covered by its own test.
/// </summary>
internal static class Shared
{
    private static readonly Lazy<TestPki> LazyPki = new(() => TestPki.Create(algorithm: TestKeyAlgorithm.EcdsaP256));
    private static readonly Lazy<TestCertificate> LazySaeA = new(() => Pki.CreateClientCertificate("SAE-A"));
    private static readonly Lazy<TestCertificate> LazySaeB = new(() => Pki.CreateClientCertificate("SAE-B"));
    private static readonly Lazy<TestCertificate> LazySaeX = new(() => Pki.CreateClientCertificate("SAE-X"));
    private static readonly Lazy<TestCertificate> LazyWrongCa = new(() => Pki.Unrelated.CreateClientCertificate("SAE-A"));

    public static TestPki Pki => LazyPki.Value;

    /// <summary>Master SAE.</summary>
    public static TestCertificate SaeA => LazySaeA.Value;

    /// <summary>Slave SAE.</summary>
    public static TestCertificate SaeB => LazySaeB.Value;

    /// <summary>An SAE of the right CA that is neither master nor slave.</summary>
    public static TestCertificate SaeX => LazySaeX.Value;

    /// <summary>CN SAE-A, but issued by the unrelated CA.</summary>
    public static TestCertificate WrongCa => LazyWrongCa.Value;

    public static Task<TestKmePair> StartPairAsync(
        int poolSize = 1000, int maxKeyPerRequest = 128, int maxSaeIdCount = 0, bool control = false)
        => TestKmePair.StartAsync(new TestKmeOptions
        {
            Pki = Pki,
            PoolSize = poolSize,
            MaxKeyPerRequest = maxKeyPerRequest,
            MaxSaeIdCount = maxSaeIdCount,
            EnableControlEndpoint = control,
        });
}

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
    public IReadOnlyList<(string Id, byte[] Key)> Keys
        => Json.GetProperty("keys").EnumerateArray()
            .Select(k => (k.GetProperty("key_ID").GetString()!, Convert.FromBase64String(k.GetProperty("key").GetString()!)))
            .ToList();

    public void AssertStatus(HttpStatusCode expected)
        => Assert.True(Status == expected, $"expected {(int)expected}, got {(int)Status}: {Body}");
}

/// <summary>An SAE talking to one KME.</summary>
internal sealed class Sae : IDisposable
{
    private readonly HttpClient _http;

    public Sae(TestKmePair pair, TestKme kme, TestCertificate? certificate, TimeSpan? timeout = null)
        => _http = pair.CreateHttpClient(kme, certificate?.Certificate, timeout);

    public Task<Answer> GetAsync(string path) => SendAsync(new HttpRequestMessage(HttpMethod.Get, path));

    public Task<Answer> PostAsync(string path, string json)
        => SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") });

    public Task<Answer> StatusAsync(string slave) => GetAsync($"api/v1/keys/{Uri.EscapeDataString(slave)}/status");

    public Task<Answer> EncKeysAsync(string slave, string request = "{}")
        => PostAsync($"api/v1/keys/{Uri.EscapeDataString(slave)}/enc_keys", request);

    public Task<Answer> DecKeysAsync(string master, params string[] keyIds)
        => PostAsync(
            $"api/v1/keys/{Uri.EscapeDataString(master)}/dec_keys",
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
