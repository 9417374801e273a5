using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;

namespace QKDLite.Core.ServerControl;

/// <summary>
/// Runs QKDLite_ETSI in the foreground, for a service manager: its output goes to this process's
/// console (the journal, the service log) and the call returns its exit code when it ends.
/// </summary>
public static class EtsiServerForeground
{
    /// <summary>
    /// Runs the server of <paramref name="configurationPath"/> until it exits; <paramref name="pin"/>
    /// as for <see cref="EtsiServerLauncher.Start"/>. Cancelling asks the server to stop (SIGTERM,
    /// or ends it on Windows) and kills it if it still runs after <paramref name="gracePeriod"/>.
    /// <paramref name="servedConfigurationPath"/> as for <see cref="EtsiServerLauncher.Start"/>.
    /// </summary>
    public static int Run(EtsiServerProgram program, string configurationPath, string? servedConfigurationPath, byte[]? pin, TimeSpan gracePeriod, CancellationToken cancellation)
    {
        var configuration = Path.GetFullPath(configurationPath);
        var served = Path.GetFullPath(servedConfigurationPath ?? configuration);
        EtsiServerLocator.EnsureNotRunning(configuration);
        var arguments = program.LeadingArguments.Concat(EtsiServerArguments.For(served, pin is not null, EtsiServerFiles.StateFile(configuration)));
        var info = new ProcessStartInfo(program.FileName, CommandLineQuoting.Join(arguments))
        {
            UseShellExecute = false,
            RedirectStandardInput = pin is not null,
            WorkingDirectory = Path.GetDirectoryName(configuration) ?? Environment.CurrentDirectory,
        };
        using var process = EtsiServerLauncher.StartOrExplain(
            () => Process.Start(info) ?? throw new InvalidOperationException($"'{info.FileName}' did not start."), configuration);
        if (pin is not null) PinPipe.Write(process, pin);
        while (!process.WaitForExit(200))
        {
            if (!cancellation.IsCancellationRequested) continue;
            // Ctrl+C in a terminal reaches the server too (same process group); a stop from elsewhere does not.
            var asked = false;
            try
            {
                asked = ProcessSignals.CanRequestStop && ProcessSignals.RequestStop(process.Id);
            }
            catch (InvalidOperationException)
            {
            }
            if (!asked || !process.WaitForExit((int)gracePeriod.TotalMilliseconds))
                ProcessTermination.KillTree(process, TimeSpan.FromSeconds(10));
            break;
        }
        process.WaitForExit();
        // A killed server cannot delete its state file.
        var state = EtsiServerStateFile.TryRead(EtsiServerFiles.StateFile(configuration));
        if (state is not null && state.ProcessId == process.Id) EtsiServerLocator.DeleteStateFile(state.Path, state.ProcessId);
        return process.ExitCode;
    }
}
