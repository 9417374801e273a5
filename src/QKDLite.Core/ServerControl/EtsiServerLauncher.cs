using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;

namespace QKDLite.Core.ServerControl;

/// <summary>
/// Starts QKDLite_ETSI in the background for one node configuration and waits until it serves:
/// its state file names a live process and its port accepts connections.
/// </summary>
public static class EtsiServerLauncher
{
    private const int LogLinesInErrors = 15;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Starts the server of <paramref name="configurationPath"/>. <paramref name="pin"/> (the caller
    /// clears it) goes to the server's standard input; null when the server reads its PIN file or
    /// variable itself. A server that exits, does not serve within <paramref name="timeout"/>, or
    /// whose start is cancelled is stopped, so nothing is left running. <paramref name="servedConfigurationPath"/>
    /// is the file the server reads when it is not node.json itself (see <see cref="EtsiServerPortOverride"/>);
    /// the state file and log stay those of <paramref name="configurationPath"/>.
    /// </summary>
    public static EtsiServerInfo Start(EtsiServerProgram program, string configurationPath, string? servedConfigurationPath, byte[]? pin, TimeSpan timeout, CancellationToken cancellation)
    {
        var configuration = Path.GetFullPath(configurationPath);
        var served = Path.GetFullPath(servedConfigurationPath ?? configuration);
        var statePath = EtsiServerFiles.StateFile(configuration);
        var logPath = EtsiServerFiles.LogFile(configuration);
        EtsiServerLocator.EnsureNotRunning(configuration);
        var logStart = PrepareLog(logPath);
        var launchedUtc = DateTime.UtcNow;
        var arguments = program.LeadingArguments.Concat(EtsiServerArguments.For(served, pin is not null, statePath)).ToList();
        using var process = StartOrExplain(() => DetachedProcess.Start(program.FileName, arguments, logPath, withInput: pin is not null), configuration);
        if (pin is not null) PinPipe.Write(process, pin);
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var state = EtsiServerStateFile.TryRead(statePath);
            if (state is not null && state.StartedUtc >= launchedUtc.AddSeconds(-2) && Serves(state))
                return EtsiServerLocator.Describe(state, configuration, EtsiServerState.Running);
            if (process.HasExited)
            {
                var exitCode = process.ExitCode;
                throw new QKDLiteException(ErrorIds.EtsiServerStartFailed, QKDLiteErrorCategory.InvalidOperation,
                    $"The ETSI server for '{configuration}' exited with code {exitCode} while starting. {LogTail.Format(LogTail.Read(logPath, logStart, LogLinesInErrors), logPath)}",
                    configuration);
            }
            if (cancellation.IsCancellationRequested || watch.Elapsed > timeout)
            {
                StopStarting(process, state, statePath);
                if (cancellation.IsCancellationRequested) throw new OperationCanceledException(cancellation);
                throw new QKDLiteException(ErrorIds.EtsiServerStartTimeout, QKDLiteErrorCategory.ResourceUnavailable,
                    $"The ETSI server for '{configuration}' did not serve within {timeout.TotalSeconds:0} s and was stopped. {LogTail.Format(LogTail.Read(logPath, logStart, LogLinesInErrors), logPath)}",
                    configuration);
            }
            cancellation.WaitHandle.WaitOne(PollInterval);
        }
    }

    /// <summary>Starts a process; a launcher that cannot run at all becomes EtsiServerStartFailed.</summary>
    internal static Process StartOrExplain(Func<Process> start, string configuration)
    {
        try
        {
            return start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new QKDLiteException(ErrorIds.EtsiServerStartFailed, QKDLiteErrorCategory.InvalidOperation,
                $"The ETSI server for '{configuration}' could not be started: {e.Message}", configuration, e);
        }
    }

    private static bool Serves(EtsiServerStateFile state) =>
        ProcessLiveness.IsRunning(state.ProcessId, DateTime.MinValue)
        && TcpProbe.Accepts(TcpProbe.ConnectHost(state.Urls.FirstOrDefault() ?? string.Empty), state.Port, ProbeTimeout);

    /// <summary>Creates the log owner-only if it is new; returns its length, where this run's output starts.</summary>
    private static long PrepareLog(string logPath)
    {
        if (!File.Exists(logPath))
        {
            using (new FileStream(logPath, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite)) { }
            OwnerOnlyPermissions.SetOwnerOnlyFile(logPath);
        }
        return new FileInfo(logPath).Length;
    }

    /// <summary>Kills a server that did not come up; it cannot delete its state file then, so that goes too.</summary>
    private static void StopStarting(Process process, EtsiServerStateFile? state, string statePath)
    {
        if (state is not null && ProcessLiveness.IsRunning(state.ProcessId, DateTime.MinValue))
            ProcessTermination.Kill(state.ProcessId, KillWait);
        ProcessTermination.KillTree(process, KillWait);
        if (state is not null) EtsiServerLocator.DeleteStateFile(statePath, state.ProcessId);
    }
}
