using System;
using System.Runtime.InteropServices;

namespace QKDLite.Core.ServerControl;

/// <summary>
/// Sends SIGTERM, the polite stop request that systemd and container runtimes send too. .NET has
/// no API for it (Process.Kill sends SIGKILL), so libc's kill() is called directly.
/// </summary>
public static class ProcessSignals
{
    private const int SigTerm = 15; // the same number on Linux and macOS
    private const int NoSuchProcess = 3; // ESRCH

    /// <summary>True where a process can be asked to stop with a signal (Linux, macOS).</summary>
    public static bool CanRequestStop => !RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

    /// <summary>
    /// Sends SIGTERM to <paramref name="processId"/>. Returns false when the process no longer exists;
    /// throws with the errno when the signal is refused (for example another user's process).
    /// </summary>
    public static bool RequestStop(int processId)
    {
        if (!CanRequestStop) throw new PlatformNotSupportedException("Signals exist on Linux and macOS only.");
        var result = RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? KillMac(processId, SigTerm) : KillLinux(processId, SigTerm);
        if (result == 0) return true;
        var errno = Marshal.GetLastWin32Error();
        if (errno == NoSuchProcess) return false;
        throw new InvalidOperationException($"kill({processId}, SIGTERM) failed with errno {errno}.");
    }

    [DllImport("libc.so.6", EntryPoint = "kill", SetLastError = true)]
    private static extern int KillLinux(int pid, int signal);

    [DllImport("libSystem.dylib", EntryPoint = "kill", SetLastError = true)]
    private static extern int KillMac(int pid, int signal);
}
