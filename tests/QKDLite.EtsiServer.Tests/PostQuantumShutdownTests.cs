using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Org.BouncyCastle.Tls;
using QKDLite.Core.Tls;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>A Hybrid listener with many idle keep-alive connections stops cleanly, without waiting for them.</summary>
[Collection(HybridServerCollection.Name)]
public sealed class PostQuantumShutdownTests
{
    private const int Connections = 200;
    private readonly HybridServerFixture _server;

    public PostQuantumShutdownTests(HybridServerFixture server) => _server = server;

    [Fact]
    public async Task Two_hundred_open_keep_alive_connections_are_closed_and_the_server_stops_within_its_shutdown_timeout()
    {
        const int shutdownTimeoutSeconds = 30;
        var host = await _server.StartServerAsync(s =>
        {
            s.TlsProfile = TlsProfile.Hybrid;
            s.ShutdownTimeoutSeconds = shutdownTimeoutSeconds;
            s.AuditLog = "audit-shutdown.log";
        });
        var connections = new List<BcTls.Connection>();
        try
        {
            using var parallel = new SemaphoreSlim(8);
            var opened = await Task.WhenAll(Enumerable.Range(0, Connections).Select(async _ =>
            {
                await parallel.WaitAsync();
                try
                {
                    var connection = await BcTls.ConnectAsync(host.Port, BcClientOffer.Hybrid(NamedGroup.X25519MLKEM768, Pki.Master.Certificate));
                    Assert.StartsWith("HTTP/1.1 200", await PostQuantumTlsTests.GetStatusAsync(connection));
                    return connection;
                }
                finally
                {
                    parallel.Release();
                }
            }));
            connections.AddRange(opened);

            var clock = Stopwatch.StartNew();
            await host.StopAsync();
            clock.Stop();

            // Every idle connection was ended by the server (close_notify, so reads end cleanly), not left to the timeout.
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(shutdownTimeoutSeconds), $"stopping took {clock.Elapsed}");
            var ended = await Task.WhenAll(connections.Select(c => Task.Run(() => c.Protocol.Stream.Read(new byte[16], 0, 16))));
            Assert.All(ended, read => Assert.Equal(0, read));
        }
        finally
        {
            foreach (var connection in connections) connection.Dispose();
            await host.DisposeAsync();
        }
    }
}
