using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;

namespace QKDLite.TestKme;

/// <summary>
/// Two ETSI GS QKD 014 test KMEs sharing one in-memory key pool: the master SAE calls
/// <c>enc_keys</c> at <see cref="KmeA"/> naming its slave; the slave fetches the same keys once with
/// <c>dec_keys</c> at <see cref="KmeB"/> naming the master. (Both KMEs serve all three calls; keys
/// issued at one KME are fetched at the other.) SAE ID = subject CN of the client certificate.
/// </summary>
/// <example>
/// <code>
/// await using var pair = await TestKmePair.StartAsync(new TestKmeOptions { PoolSize = 100 });
/// using var saeA = pair.Pki.CreateClientCertificate("SAE-A");
/// using var http = pair.CreateHttpClient(pair.KmeA, saeA.Certificate);
/// var status = await http.GetStringAsync("api/v1/keys/SAE-B/status");
/// pair.KmeB.Behaviour.Html401 = true;   // misbehave from now on
/// </code>
/// </example>
public sealed class TestKmePair : IAsyncDisposable
{
    private readonly bool _ownsPki;
    private ControlServer? _control;
    private int _disposed;

    private TestKmePair(TestKmeOptions options, TestPki pki, bool ownsPki, KeyPool pool)
    {
        Options = options;
        Pki = pki;
        _ownsPki = ownsPki;
        Pool = pool;
    }

    /// <summary>The configuration in force.</summary>
    public TestKmeOptions Options { get; }

    /// <summary>The PKI: CA, server certificates, and the factory of SAE client certificates.</summary>
    public TestPki Pki { get; }

    /// <summary>The shared key pool.</summary>
    public KeyPool Pool { get; }

    /// <summary>KME A (the master SAEs' KME).</summary>
    public TestKme KmeA { get; private set; } = null!;

    /// <summary>KME B (the slave SAEs' KME).</summary>
    public TestKme KmeB { get; private set; } = null!;

    /// <summary>The plain-HTTP control endpoint (<c>http://127.0.0.1:port/</c>), or null when not enabled.</summary>
    public Uri? ControlUri => _control?.BaseUri;

    /// <summary>Starts both KMEs (and the control endpoint if enabled) on 127.0.0.1 with ephemeral ports.</summary>
    public static async Task<TestKmePair> StartAsync(TestKmeOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new TestKmeOptions();
        options.Validate();
        var ownsPki = options.Pki is null;
        var pki = options.Pki ?? TestPki.Create();
        TestKmePair? pair = null;
        try
        {
            var serverA = ServerCertificate(pki, options, options.KmeAId);
            var serverB = ServerCertificate(pki, options, options.KmeBId);
            var pool = new KeyPool(options.PoolSize, options.EffectiveMaxKeyCount);
            pair = new TestKmePair(options, pki, ownsPki, pool);
            if (options.ServerDnsNames is not null)
            {
                pair._ownCertificates.AddRange([serverA, serverB]);
            }

            var startA = TestKme.StartAsync(options.KmeAId, options.KmeBId, serverA, pki, pool, options, cancellationToken);
            var startB = TestKme.StartAsync(options.KmeBId, options.KmeAId, serverB, pki, pool, options, cancellationToken);
            try
            {
                await Task.WhenAll(startA, startB);
            }
            finally
            {
                if (startA.IsCompletedSuccessfully)
                {
                    pair.KmeA = startA.Result;
                }

                if (startB.IsCompletedSuccessfully)
                {
                    pair.KmeB = startB.Result;
                }
            }

            if (options.EnableControlEndpoint)
            {
                pair._control = await ControlServer.StartAsync(pair, cancellationToken);
            }

            return pair;
        }
        catch
        {
            if (pair is not null)
            {
                await pair.DisposeAsync();
            }
            else if (ownsPki)
            {
                pki.Dispose();
            }

            throw;
        }
    }

    private readonly List<TestCertificate> _ownCertificates = [];

    private static TestCertificate ServerCertificate(TestPki pki, TestKmeOptions options, string kmeId) =>
        options.ServerDnsNames is null ? pki.GetServerCertificate(kmeId) : pki.CreateServerCertificate(kmeId, options.ServerDnsNames, []);

    /// <summary>KME A or B by letter (case-insensitive) or by KME ID; null if neither.</summary>
    public TestKme? FindKme(string name)
    {
        if (name.Equals("A", StringComparison.OrdinalIgnoreCase) || name == KmeA.KmeId)
        {
            return KmeA;
        }

        if (name.Equals("B", StringComparison.OrdinalIgnoreCase) || name == KmeB.KmeId)
        {
            return KmeB;
        }

        return null;
    }

    /// <summary>An HTTP client for <paramref name="kme"/> presenting <paramref name="clientCertificate"/> (none if null).</summary>
    public HttpClient CreateHttpClient(TestKme kme, X509Certificate2? clientCertificate, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(kme);
        return TestKmeClient.CreateHttpClient(kme.BaseUri, Pki.CaCertificate, clientCertificate, timeout);
    }

    /// <summary>All switches off, pool refilled to <see cref="TestKmeOptions.PoolSize"/>, pending keys and request logs cleared.</summary>
    public void Reset()
    {
        KmeA.Behaviour.Reset();
        KmeB.Behaviour.Reset();
        Pool.ClearPending();
        Pool.SetStoredKeyCount(Options.PoolSize);
        KmeA.ClearRequests();
        KmeB.ClearRequests();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (_control is not null)
            {
                await _control.DisposeAsync();
            }

            // Stopping aborts slow requests (DelayMilliseconds) through RequestAborted.
            var stops = new[] { StopAsync(KmeA), StopAsync(KmeB) };
            await Task.WhenAll(stops);
        }
        finally
        {
            Pool.ClearPending();
            _ownCertificates.ForEach(c => c.Dispose());
            if (_ownsPki)
            {
                Pki.Dispose();
            }
        }
    }

    private static Task StopAsync(TestKme? kme) => kme is null ? Task.CompletedTask : kme.DisposeAsync().AsTask();
}
