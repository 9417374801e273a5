using System;
using System.ComponentModel;
using System.Diagnostics;
using System.Threading;
using QKDLite.Core.Errors;

namespace QKDLite.Core.ServerControl;

/// <summary>Stops a running QKDLite_ETSI: politely first where the platform allows it, for good after a grace period.</summary>
public static class EtsiServerStopper
{
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Stops <paramref name="server"/> and returns it as Stopped, with true in <paramref name="graceful"/>
    /// when it ended by itself. On Linux and macOS it gets SIGTERM, finishes the requests in flight
    /// (its ShutdownTimeoutSeconds) and deletes its state file; after <paramref name="gracePeriod"/>
    /// it is killed. On Windows it is ended at once. A state file left by a killed server is deleted here.
    /// </summary>
    /// <remarks>
    /// Why no graceful stop on Windows: CloseMainWindow needs a window, which a detached server has
    /// not; GenerateConsoleCtrlEvent reaches only processes on the caller's own console, and
    /// attaching to the server's console (FreeConsole/AttachConsole) would take the caller's console
    /// away mid-command. Ending the process is safe for the keys: each leaves the store before it is
    /// sent, so none is ever delivered twice. A Windows service gets its graceful stop from the
    /// Service Control Manager instead.
    /// </remarks>
    public static EtsiServerInfo Stop(EtsiServerInfo server, TimeSpan gracePeriod, CancellationToken cancellation, out bool graceful)
    {
        graceful = false;
        Process process;
        try
        {
            process = Process.GetProcessById(server.ProcessId);
        }
        catch (ArgumentException)
        {
            graceful = true; // ended between the check and now
            EtsiServerLocator.DeleteStateFile(server.StateFilePath, server.ProcessId);
            return server.WithState(EtsiServerState.Stopped);
        }
        using (process)
        {
            try
            {
                if (ProcessSignals.CanRequestStop && ProcessSignals.RequestStop(server.ProcessId))
                    graceful = WaitForExit(process, gracePeriod, cancellation);
                if (!graceful && !process.HasExited)
                {
                    process.Kill();
                    process.WaitForExit((int)KillWait.TotalMilliseconds);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or Win32Exception)
            {
                if (!HasExited(process))
                    throw new QKDLiteException(ErrorIds.EtsiServerStopFailed, QKDLiteErrorCategory.SecurityError,
                        $"The ETSI server process {server.ProcessId} for '{server.ConfigurationPath}' could not be stopped: {e.Message}", server, e);
            }
            if (!HasExited(process))
                throw new QKDLiteException(ErrorIds.EtsiServerStopFailed, QKDLiteErrorCategory.InvalidOperation,
                    $"The ETSI server process {server.ProcessId} for '{server.ConfigurationPath}' was killed but has not exited.", server);
        }
        EtsiServerLocator.DeleteStateFile(server.StateFilePath, server.ProcessId);
        return server.WithState(EtsiServerState.Stopped);
    }

    private static bool WaitForExit(Process process, TimeSpan timeout, CancellationToken cancellation)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            // Short waits, so that Ctrl+C goes straight to killing.
            if (process.WaitForExit(100)) return true;
            if (cancellation.IsCancellationRequested) return false;
        }
        return process.HasExited;
    }

    private static bool HasExited(Process process)
    {
        try
        {
            return process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }
}
