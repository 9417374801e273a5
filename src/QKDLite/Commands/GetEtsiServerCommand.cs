using System.IO;
using System.Management.Automation;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using QKDLite.Core.ServerControl;

namespace QKDLite.Commands;

/// <summary>Shows the running ETSI server of node configurations, from the state file each server writes next to its node.json.</summary>
[Cmdlet(VerbsCommon.Get, "EtsiServer")]
[OutputType(typeof(EtsiServerInfo))]
public sealed class GetEtsiServerCommand : QKDLiteCmdlet
{
    /// <summary>Node configuration files (default: node.json in the data directory).</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? ConfigurationPath { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (var path in ConfigurationPath ?? new[] { QKDLitePaths.DefaultConfigurationFile })
        {
            var file = GetUnresolvedProviderPathFromPSPath(path);
            var running = EtsiServerLocator.FindRunning(file, out var stale);
            if (running is not null)
            {
                WriteObject(running);
                continue;
            }
            if (stale is not null)
                WriteWarning($"The ETSI server for '{file}' (process {stale.ProcessId}) has ended without a clean stop: its state file '{stale.Path}' remains. See '{EtsiServerFiles.LogFile(file)}' for why; Start-EtsiServer removes the file.");
            else if (!File.Exists(file))
                PerItem(() => throw new QKDLiteException(ErrorIds.NodeConfigurationNotFound, QKDLiteErrorCategory.ObjectNotFound,
                    $"The node configuration file '{file}' does not exist.", file));
            else
                WriteVerbose($"No ETSI server runs for '{file}'.");
        }
    }
}
