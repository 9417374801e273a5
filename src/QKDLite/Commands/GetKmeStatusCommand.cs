using System.Management.Automation;
using System.Threading;
using QKDLite.Completion;
using QKDLite.Core.Configuration;
using QKDLite.Core.Kme;

namespace QKDLite.Commands;

/// <summary>Shows a KME's ETSI GS QKD 014 status for an SAE pair: key counts, sizes and limits, and the TLS profile and group the connection used.</summary>
[Cmdlet(VerbsCommon.Get, "KmeStatus")]
[OutputType(typeof(KmeStatus))]
public sealed class GetKmeStatusCommand : QKDLiteCmdlet
{
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Name of the KME in the node configuration.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ArgumentCompleter(typeof(KeySourceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Kme { get; set; } = string.Empty;

    /// <summary>The other SAE of the pair (this node's SAE is the one configured for the KME).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [Alias("SlaveSaeId")]
    [ValidateNotNullOrEmpty]
    public string PeerSaeId { get; set; } = string.Empty;

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var file = QKDLitePaths.DefaultConfigurationFile;
        var settings = Terminating(() => NodeConfiguration.Load(file).Kme(Kme, file));
        WriteObject(Terminating(() =>
        {
            using var client = new EtsiKmeClient(settings);
            var status = client.GetStatusAsync(PeerSaeId, _stopping.Token).GetAwaiter().GetResult();
            WriteVerbose($"KME '{settings.Name}' answered from {client.LastUrl} over {client.LastTls?.Describe()}.");
            return status;
        }));
    }

    /// <inheritdoc />
    protected override void StopProcessing() => _stopping.Cancel();
}
