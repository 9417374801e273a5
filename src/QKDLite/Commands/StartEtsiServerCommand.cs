using System;
using System.Management.Automation;
using System.Security;
using System.Threading;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using QKDLite.Core.ServerControl;
using QKDLite.Session;

namespace QKDLite.Commands;

/// <summary>Starts the node's ETSI GS QKD 014 key-delivery server (QKDLite_ETSI), in the background or in the foreground.</summary>
[Cmdlet(VerbsLifecycle.Start, "EtsiServer", SupportsShouldProcess = true)]
[OutputType(typeof(EtsiServerInfo))]
public sealed class StartEtsiServerCommand : QKDLiteCmdlet
{
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Node configuration file with the EtsiServer section (default: node.json in the data directory).</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? ConfigurationPath { get; set; }

    /// <summary>Listens on this port instead of the one in the configuration; 0 picks a free port.</summary>
    [Parameter]
    [ValidateRange(0, 65535)]
    public int Port { get; set; }

    /// <summary>PIN of the key store, for a configuration that names no PIN file or variable; prompted for when missing.</summary>
    [Parameter]
    public SecureString? Pin { get; set; }

    /// <summary>Runs the server in the foreground, its output on the console, until it ends (for service managers).</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>Seconds to wait for a background server to serve before it is stopped and the start fails.</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSeconds { get; set; } = 30;

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var file = ConfigurationPath is null ? QKDLitePaths.DefaultConfigurationFile : GetUnresolvedProviderPathFromPSPath(ConfigurationPath);
        var configuration = Terminating(() => NodeConfiguration.Load(file));
        var settings = Terminating(() => ServedSettings(configuration, file));
        var program = Terminating(() => EtsiServerProgram.Locate());
        // Checked before -WhatIf answers, without removing a stale state file (the start itself does that).
        var running = EtsiServerLocator.FindRunning(file, out _);
        if (running is not null)
            Terminating<bool>(() => throw EtsiServerLocator.AlreadyRunning(running));

        var portBound = MyInvocation.BoundParameters.ContainsKey(nameof(Port));
        var where = portBound ? $"{settings.Address} port {Port}" : $"{settings.Address} port {settings.Port}";
        if (!ShouldProcess($"ETSI server for '{file}' on {where}", Wait ? "Run in the foreground" : "Start")) return;

        // The server reads a configured PIN file or variable itself; only a PIN from here travels, through its standard input.
        var keyStore = configuration.KeyStore!;
        var pinFromHere = Pin is not null || (string.IsNullOrEmpty(keyStore.PinFile) && string.IsNullOrEmpty(keyStore.PinEnvironmentVariable));
        var pin = pinFromHere ? Terminating(() => PinInput.Resolve(this, Pin, null, null, $"PIN of key store '{keyStore.TokenLabel}' for the ETSI server")) : null;
        try
        {
            var served = portBound ? Terminating(() => EtsiServerPortOverride.Write(file, Port)) : null;
            if (Wait)
            {
                var grace = TimeSpan.FromSeconds(settings.ShutdownTimeoutSeconds + StopGrace.MarginSeconds);
                var exitCode = Terminating(() => EtsiServerForeground.Run(program, file, served, pin, grace, _stopping.Token));
                if (exitCode != 0 && !_stopping.IsCancellationRequested)
                    Terminating<bool>(() => throw new QKDLiteException(ErrorIds.EtsiServerExited, QKDLiteErrorCategory.InvalidOperation,
                        $"The ETSI server for '{file}' ended with exit code {exitCode}; its output above says why.", file));
                return;
            }
            WriteVerbose($"Starting {program.FileName} for '{file}'; its output goes to '{EtsiServerFiles.LogFile(file)}'.");
            EtsiServerInfo started;
            try
            {
                started = Terminating(() => EtsiServerLauncher.Start(program, file, served, pin, TimeSpan.FromSeconds(TimeoutSeconds), _stopping.Token));
            }
            catch (OperationCanceledException)
            {
                return; // Ctrl+C: the starting server was stopped
            }
            WriteObject(started);
        }
        finally
        {
            if (pin is not null) Array.Clear(pin, 0, pin.Length);
        }
    }

    /// <inheritdoc />
    protected override void StopProcessing() => _stopping.Cancel();

    /// <summary>The EtsiServer section, checked as the server will check it, so a bad one starts nothing.</summary>
    private static EtsiServerSettings ServedSettings(NodeConfiguration configuration, string file)
    {
        if (configuration.KeyStore is null)
            throw new QKDLiteException(ErrorIds.NodeConfigurationInvalid, QKDLiteErrorCategory.InvalidData,
                $"The node configuration '{file}' names no key store for the ETSI server to serve keys from. Run Initialize-KeyStore, or Connect-KeyStore -Save.", file);
        var settings = configuration.EtsiServer ?? throw new QKDLiteException(ErrorIds.EtsiServerNotConfigured, QKDLiteErrorCategory.ObjectNotFound,
            $"The node configuration '{file}' has no EtsiServer section. Add one (see about_QKDLite, ETSI SERVER). Nothing was started.", file);
        settings.ValidateForServing(file);
        return settings;
    }
}
