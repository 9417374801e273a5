using System;
using System.ComponentModel;
using System.Diagnostics;

namespace QKDLite.Core.ServerControl;

/// <summary>Whether the process a state file names still runs, and is still that process.</summary>
public static class ProcessLiveness
{
    // Process start times are derived from boot time and clock ticks, which can be off by a second
    // or so; a process that reuses the id starts after the server died, well beyond this slack.
    private static readonly TimeSpan StartTimeSlack = TimeSpan.FromSeconds(5);

    /// <summary>
    /// True when process <paramref name="processId"/> runs and started no later than
    /// <paramref name="startedUtc"/>: a later process that got the same id does not count.
    /// </summary>
    public static bool IsRunning(int processId, DateTime startedUtc)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            if (process.HasExited) return false;
            if (startedUtc == DateTime.MinValue) return true;
            return process.StartTime.ToUniversalTime() <= startedUtc + StartTimeSlack;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (InvalidOperationException)
        {
            return false; // exited while we looked
        }
        catch (Win32Exception)
        {
            return true; // another user's process: it exists, its details are not ours to read
        }
    }
}
