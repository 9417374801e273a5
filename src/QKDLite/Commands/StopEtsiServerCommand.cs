using System;
using System.IO;
using System.Management.Automation;
using System.Threading;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using QKDLite.Core.ServerControl;
using QKDLite.Session;

namespace QKDLite.Commands;

/// <summary>Stops the ETSI server of node configurations: gracefully where the platform allows, for good after the shutdown timeout.</summary>
[Cmdlet(VerbsLifecycle.Stop, "EtsiServer", SupportsShouldProcess = true, DefaultParameterSetName = ConfigurationSet)]
[OutputType(typeof(EtsiServerInfo))]
public sealed class StopEtsiServerCommand : QKDLiteCmdlet
{
    private const string ConfigurationSet = "Configuration";
    private const string InputObjectSet = "InputObject";
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Node configuration files whose server to stop (default: node.json in the data directory).</summary>
    [Parameter(Position = 0, ParameterSetName = ConfigurationSet)]
    [ValidateNotNullOrEmpty]
    public string[]? ConfigurationPath { get; set; }

    /// <summary>Servers to stop, as Get-EtsiServer or Start-EtsiServer return them.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectSet)]
    [ValidateNotNull]
    public EtsiServerInfo[]? InputObject { get; set; }

    /// <summary>Returns each stopped server.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (InputObject is not null)
        {
            foreach (var server in InputObject) Stop(server.ConfigurationPath, server);
            return;
        }
        foreach (var path in ConfigurationPath ?? new[] { QKDLitePaths.DefaultConfigurationFile })
            Stop(GetUnresolvedProviderPathFromPSPath(path), null);
    }

    /// <inheritdoc />
    protected override void StopProcessing() => _stopping.Cancel();

    private void Stop(string file, EtsiServerInfo? given)
    {
        var running = EtsiServerLocator.FindRunning(file, out var stale);
        // A server object from earlier names a process; only that process is stopped, not a newer server.
        if (running is null || given is not null && running.ProcessId != given.ProcessId)
        {
            if (stale is not null) EtsiServerLocator.DeleteStateFile(stale.Path, stale.ProcessId);
            var note = stale is null ? string.Empty : $" Its state file named process {stale.ProcessId}, which had ended without a clean stop; the file was removed.";
            var which = given is null ? string.Empty : $" (process {given.ProcessId})";
            PerItem(() => throw new QKDLiteException(ErrorIds.EtsiServerNotRunning, QKDLiteErrorCategory.ObjectNotFound,
                $"No ETSI server{which} runs for '{file}'.{note}", file));
            return;
        }
        if (!ShouldProcess($"ETSI server process {running.ProcessId} on {running.Url} for '{file}'", "Stop")) return;
        var grace = TimeSpan.FromSeconds(ShutdownTimeoutSeconds(file) + StopGrace.MarginSeconds);
        var graceful = false;
        EtsiServerInfo? stopped = null;
        PerItem(() => stopped = EtsiServerStopper.Stop(running, grace, _stopping.Token, out graceful));
        if (stopped is null) return;
        if (!graceful && ProcessSignals.CanRequestStop)
            WriteWarning($"The ETSI server process {running.ProcessId} did not stop within {grace.TotalSeconds:0} s of SIGTERM and was killed.");
        else
            WriteVerbose(graceful ? $"The ETSI server process {running.ProcessId} stopped." : $"The ETSI server process {running.ProcessId} was ended.");
        if (PassThru) WriteObject(stopped);
    }

    /// <summary>How long the server may take to finish requests in flight; the default when node.json cannot be read any more.</summary>
    private static int ShutdownTimeoutSeconds(string file)
    {
        try
        {
            return NodeConfiguration.Load(file).EtsiServer?.ShutdownTimeoutSeconds ?? new EtsiServerSettings().ShutdownTimeoutSeconds;
        }
        catch (QKDLiteException)
        {
            return new EtsiServerSettings().ShutdownTimeoutSeconds;
        }
        catch (IOException)
        {
            return new EtsiServerSettings().ShutdownTimeoutSeconds;
        }
    }
}
