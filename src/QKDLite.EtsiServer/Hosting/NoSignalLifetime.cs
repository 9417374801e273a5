using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;

namespace QKDLite.EtsiServer.Hosting;

/// <summary>For a server hosted inside another program (tests): its owner stops it, not SIGTERM or Ctrl+C.</summary>
internal sealed class NoSignalLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
