using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace QKDLite.TestKme;

/// <summary>
/// One running test KME: HTTPS on 127.0.0.1 with an ephemeral port, client certificate required and
/// validated against the test CA; TLS 1.2+ by Kestrel, or hybrid TLS 1.3 by BouncyCastle
/// (<see cref="TestKmeOptions.Tls"/>). Made by <see cref="TestKmePair"/>.
/// </summary>
public sealed class TestKme : IAsyncDisposable
{
    private readonly ConcurrentQueue<KmeRequestRecord> _requests = new();
    private readonly CancellationTokenSource _stopping = new();
    private WebApplication? _app;

    private TestKme(string kmeId, string peerKmeId, TestCertificate serverCertificate, KeyPool pool)
    {
        KmeId = kmeId;
        PeerKmeId = peerKmeId;
        ServerCertificate = serverCertificate;
        Pool = pool;
    }

    /// <summary>This KME's ID (<c>source_KME_ID</c>).</summary>
    public string KmeId { get; }

    /// <summary>The other KME's ID (<c>target_KME_ID</c>).</summary>
    public string PeerKmeId { get; }

    /// <summary>The TLS server certificate (SAN localhost, 127.0.0.1, ::1).</summary>
    public TestCertificate ServerCertificate { get; }

    /// <summary>The pool shared with the other KME.</summary>
    public KeyPool Pool { get; }

    /// <summary>Misbehaviour switches of this KME.</summary>
    public KmeBehaviour Behaviour { get; } = new();

    /// <summary>The bound port on 127.0.0.1.</summary>
    public int Port { get; private set; }

    /// <summary><c>https://127.0.0.1:{Port}/</c></summary>
    public Uri BaseUri => new($"https://127.0.0.1:{Port}/");

    /// <summary>Requests received so far, oldest first.</summary>
    public IReadOnlyList<KmeRequestRecord> Requests => _requests.ToArray();

    /// <summary>Forgets the received requests.</summary>
    public void ClearRequests() => _requests.Clear();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        var app = Interlocked.Exchange(ref _app, null);
        if (app is not null)
        {
            // Ends delayed (DelayMilliseconds) requests at once instead of letting them hold the shutdown.
            await _stopping.CancelAsync();
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

    /// <summary>Cancelled when the KME stops.</summary>
    internal CancellationToken Stopping => _stopping.Token;

    internal void Record(KmeRequestRecord record)
    {
        _requests.Enqueue(record);
        while (_requests.Count > 10000 && _requests.TryDequeue(out _))
        {
            // bounded log
        }
    }

    internal static async Task<TestKme> StartAsync(
        string kmeId, string peerKmeId, TestCertificate serverCertificate, TestPki pki, KeyPool pool, TestKmeOptions options,
        CancellationToken cancellationToken)
    {
        var kme = new TestKme(kmeId, peerKmeId, serverCertificate, pool);
        var endpoint = new KmeEndpoint(kme, pool, options);
        var https = new HttpsConnectionAdapterOptions
        {
            ServerCertificate = serverCertificate.Certificate,
            SslProtocols = options.SslProtocols,
            ClientCertificateMode = ClientCertificateMode.RequireCertificate,
            CheckCertificateRevocation = false,
            // Chain to the test CA only (custom root trust); the system trust store plays no part.
            ClientCertificateValidation = (certificate, _, _) => pki.ValidateClientCertificate(certificate),
            HandshakeTimeout = TimeSpan.FromSeconds(10),
        };
        kme._app = await Hosting.StartAsync(
            kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                if (options.Tls == TestKmeTls.Platform)
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.UseHttps(https);
                }
                else
                {
                    listen.Protocols = HttpProtocols.Http1; // no ALPN on the hybrid path
                    HybridTls.Use(listen, serverCertificate, pki, options.Tls);
                }
            }),
            endpoint.HandleAsync,
            cancellationToken);
        kme.Port = Hosting.BoundPort(kme._app);
        return kme;
    }
}

/// <summary>Builds the minimal Kestrel hosts (no configuration files, no logging, no Ctrl+C handling).</summary>
internal static class Hosting
{
    public static async Task<WebApplication> StartAsync(
        Action<KestrelServerOptions> listen, RequestDelegate handler, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(Hosting).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Services.AddSingleton<IHostLifetime, NoSignalLifetime>();
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 1024 * 1024;
            listen(kestrel);
        });
        var app = builder.Build();
        app.Run(handler);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return app;
    }

    public static int BoundPort(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        var address = addresses.Single();
        return new Uri(address).Port;
    }

    /// <summary>The host's lifetime is the owner's business: no SIGINT/SIGTERM hooks, no console messages.</summary>
    private sealed class NoSignalLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
