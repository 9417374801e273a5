using System;
using System.ComponentModel;
using System.Diagnostics;
using System.Reflection;

namespace QKDLite.Core.ServerControl;

/// <summary>Ends processes for good (SIGKILL, TerminateProcess) and waits until they are gone.</summary>
public static class ProcessTermination
{
    /// <summary>Kills process <paramref name="processId"/> if it still runs; returns once it has exited or <paramref name="wait"/> has passed.</summary>
    public static void Kill(int processId, TimeSpan wait)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            KillTree(process, wait);
        }
        catch (ArgumentException)
        {
            // Gone already.
        }
    }

    /// <summary>
    /// Kills <paramref name="process"/> and, where the runtime can (Process.Kill(bool), .NET Core 3+),
    /// its children: on Windows the server runs under cmd.exe, which killing alone would orphan.
    /// </summary>
    public static void KillTree(Process process, TimeSpan wait)
    {
        try
        {
            if (process.HasExited) return;
            var killTree = typeof(Process).GetMethod("Kill", new[] { typeof(bool) });
            if (killTree is not null) killTree.Invoke(process, new object[] { true });
            else process.Kill();
            process.WaitForExit((int)wait.TotalMilliseconds);
        }
        catch (TargetInvocationException e) when (e.InnerException is InvalidOperationException or Win32Exception)
        {
            // Exited meanwhile, or not ours to kill: the caller sees it still running.
        }
        catch (Exception e) when (e is InvalidOperationException or Win32Exception)
        {
        }
    }
}
