using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using QKDLite.Core.Tls;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using QKDLite.EtsiServer.Audit;
using QKDLite.EtsiServer.Delivery;
using QKDLite.EtsiServer.Tls;

namespace QKDLite.EtsiServer.Hosting;

/// <summary>
/// A running QKDLite_ETSI: Kestrel on HTTPS (TLS 1.2/1.3, client certificate required and checked
/// against the configured CA), serving <see cref="KeyDeliveryEndpoint"/> on each listener: through the
/// platform's TLS (Classical) or BouncyCastle's with hybrid ML-KEM key exchange (Hybrid, PostQuantumOnly). The program and the tests
/// start it the same way.
/// </summary>
internal sealed class EtsiServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly AuditLog _audit;
    private readonly X509Certificate2 _certificate;
    private readonly TimeSpan _shutdownTimeout;
    private int _disposed;

    private EtsiServerHost(WebApplication app, AuditLog audit, X509Certificate2 certificate, TimeSpan shutdownTimeout, IReadOnlyList<string> urls,
        IReadOnlyList<EtsiListener> listeners)
    {
        _app = app;
        _audit = audit;
        _certificate = certificate;
        _shutdownTimeout = shutdownTimeout;
        Urls = urls;
        Port = urls.Select(PortOf).FirstOrDefault();
        // Kestrel reports addresses in the order the listeners were configured.
        Listeners = listeners.Select((l, i) => new ListenerInfo(i < urls.Count ? urls[i] : string.Empty, l.Profile, l.Groups)).ToList();
    }

    /// <summary>A listener as it runs: its URL (with the port the system picked), profile and post-quantum groups.</summary>
    public sealed record ListenerInfo(string Url, TlsProfile Profile, IReadOnlyList<string> Groups)
    {
        /// <summary>The bound TCP port.</summary>
        public int Port => PortOf(Url);
    }

    /// <summary>Every listener, in configuration order (the default one first).</summary>
    public IReadOnlyList<ListenerInfo> Listeners { get; }

    /// <summary>The URLs the server listens on, such as <c>https://127.0.0.1:8443</c>.</summary>
    public IReadOnlyList<string> Urls { get; }

    /// <summary>The bound TCP port (the one the system picked when the configuration says 0).</summary>
    public int Port { get; }

    /// <summary>The audit log being written.</summary>
    public string AuditLogPath => _audit.Path;

    /// <summary>Checks the settings, loads the certificates, opens the audit log and starts listening.</summary>
    public static async Task<EtsiServerHost> StartAsync(EtsiServerHostOptions options, CancellationToken cancellation = default)
    {
        var settings = options.Settings;
        var file = options.ConfigurationFile;
        settings.ValidateForServing(file);
        var roots = CertificateFiles.LoadClientCas(settings, file);
        var (certificate, chain) = CertificateFiles.LoadServerCertificate(settings, file);
        AuditLog? audit = null;
        WebApplication? app = null;
        try
        {
            audit = AuditLog.Open(settings.AuditLogPath(file));
            var validator = new ClientCertificateValidator(roots);
            var listeners = settings.ResolveListeners();
            var crypto = new BcTlsCrypto(new SecureRandom());
            var credentials = ServerCredentials.From(certificate, chain, crypto);
            ILogger? tlsLogger = null;
            var https = new HttpsConnectionAdapterOptions
            {
                ServerCertificate = certificate,
                ServerCertificateChain = chain.Count > 0 ? chain : null,
                SslProtocols = TlsPolicy.Protocols,
                ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                CheckCertificateRevocation = false,
                HandshakeTimeout = TimeSpan.FromSeconds(10),
                ClientCertificateValidation = (client, presented, _) =>
                {
                    if (validator.IsValid(client, presented)) return true;
                    tlsLogger?.LogWarning("Refused a client certificate that does not chain to the client CA: subject '{Subject}', issuer '{Issuer}', thumbprint {Thumbprint}.",
                        client.Subject, client.Issuer, client.Thumbprint);
                    return false;
                },
            };

            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
            {
                ApplicationName = "QKDLite_ETSI",
                ContentRootPath = AppContext.BaseDirectory,
                EnvironmentName = Environments.Production,
            });
            if (options.HandleSignals)
            {
                builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
                // Each takes over the host's lifetime only when the process runs under that service
                // manager (started by the Windows SCM, or by systemd); elsewhere the console lifetime stays.
                builder.Services.AddWindowsService(o => o.ServiceName = "QKDLite_ETSI");
                builder.Services.AddSystemd();
            }
            else
                builder.Services.AddSingleton<IHostLifetime, NoSignalLifetime>();
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(settings.ShutdownTimeoutSeconds));
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            if (options.ConsoleLogging)
            {
                builder.Logging.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.UseUtcTimestamp = true;
                    o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss'Z' ";
                });
                // Standard output carries only the "listening" line that supervisors wait for.
                builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            }
            if (options.LoggerProvider is not null) builder.Logging.AddProvider(options.LoggerProvider);
            builder.WebHost.UseKestrelCore();
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.AddServerHeader = false;
                // Above ours, so that our own check answers the 400 the documentation promises (see RequestBody).
                kestrel.Limits.MaxRequestBodySize = RequestBody.ServerLimit(settings.MaxBodyBytes);
                foreach (var listener in listeners)
                {
                    Listen(kestrel, listener, listen =>
                    {
                        if (listener.Profile == TlsProfile.Classical)
                        {
                            listen.Protocols = HttpProtocols.Http1AndHttp2;
                            listen.UseHttps(https);
                            return;
                        }
                        // Kestrel offers HTTP/2 only where it runs the TLS itself (ALPN); ETSI 014 needs no more than HTTP/1.1.
                        listen.Protocols = HttpProtocols.Http1;
                        var pq = new PostQuantumTlsOptions(listener, credentials, validator, roots, crypto) { HandshakeTimeout = https.HandshakeTimeout };
                        var logger = listen.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("QKDLite.EtsiServer.Tls");
                        listen.Use(next => new PostQuantumTlsMiddleware(next, pq, logger).OnConnectionAsync);
                    });
                }
            });

            app = builder.Build();
            var loggers = app.Services.GetRequiredService<ILoggerFactory>();
            tlsLogger = loggers.CreateLogger("QKDLite.EtsiServer.Tls");
            var endpoint = new KeyDeliveryEndpoint(settings, options.KeyStore, audit, loggers.CreateLogger("QKDLite.EtsiServer"));
            app.Run(endpoint.HandleAsync);
            try
            {
                await app.StartAsync(cancellation);
            }
            catch (IOException e)
            {
                var where = string.Join(", ", listeners.Select(l => $"{l.Address} port {l.Port}"));
                throw new QKDLiteException(ErrorIds.EtsiServerStartFailed, QKDLiteErrorCategory.ResourceUnavailable,
                    $"The ETSI server cannot listen on {where}: {e.Message}", file, e);
            }
            var urls = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses
                // Kestrel lists addresses in configuration order, and calls those whose TLS it does not run itself http.
                .Select((url, i) => i < listeners.Count && listeners[i].Profile != TlsProfile.Classical && url.StartsWith("http://", StringComparison.Ordinal)
                    ? "https://" + url["http://".Length..]
                    : url)
                .ToList();
            return new EtsiServerHost(app, audit, certificate, TimeSpan.FromSeconds(settings.ShutdownTimeoutSeconds), urls, listeners);
        }
        catch
        {
            if (app is not null) await app.DisposeAsync();
            audit?.Dispose();
            certificate.Dispose();
            throw;
        }
    }

    /// <summary>Completes when the host is asked to stop (SIGTERM, Ctrl+C, <see cref="StopAsync"/>) and has stopped.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellation = default) => _app.WaitForShutdownAsync(cancellation);

    /// <summary>Stops listening; requests in flight get the configured shutdown timeout.</summary>
    public async Task StopAsync()
    {
        using var timeout = new CancellationTokenSource(_shutdownTimeout);
        await _app.StopAsync(timeout.Token);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            await StopAsync();
        }
        finally
        {
            await _app.DisposeAsync();
            _audit.Dispose();
            _certificate.Dispose();
        }
    }

    private static void Listen(KestrelServerOptions kestrel, EtsiListener listener, Action<ListenOptions> configure)
    {
        if (listener.Address == "*")
            kestrel.ListenAnyIP(listener.Port, configure);
        else if (string.Equals(listener.Address, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            // Kestrel cannot bind "localhost" to a system-picked port (it would need one port on two addresses).
            if (listener.Port == 0) kestrel.Listen(IPAddress.Loopback, 0, configure);
            else kestrel.ListenLocalhost(listener.Port, configure);
        }
        else
            kestrel.Listen(IPAddress.Parse(listener.Address), listener.Port, configure);
    }

    private static int PortOf(string url)
    {
        var colon = url.LastIndexOf(':');
        return colon >= 0 && int.TryParse(url.AsSpan(colon + 1).TrimEnd('/'), out var port) ? port : 0;
    }
}
