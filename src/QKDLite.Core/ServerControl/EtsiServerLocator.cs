using System;
using System.IO;
using System.Linq;
using QKDLite.Core.Errors;

namespace QKDLite.Core.ServerControl;

/// <summary>Finds the running server of a node configuration through its state file.</summary>
public static class EtsiServerLocator
{
    /// <summary>
    /// The running server of <paramref name="configurationPath"/>, or null. A state file whose
    /// process has ended (the server crashed or was killed, so it could not delete the file) is
    /// returned in <paramref name="stale"/> and counts as no server.
    /// </summary>
    public static EtsiServerInfo? FindRunning(string configurationPath, out EtsiServerStateFile? stale)
    {
        stale = null;
        var configuration = Path.GetFullPath(configurationPath);
        var state = EtsiServerStateFile.TryRead(EtsiServerFiles.StateFile(configuration));
        if (state is null) return null;
        if (!ProcessLiveness.IsRunning(state.ProcessId, state.StartedUtc))
        {
            stale = state;
            return null;
        }
        return Describe(state, configuration, EtsiServerState.Running);
    }

    /// <summary>Throws EtsiServerAlreadyRunning when a server runs for the configuration; deletes a stale state file.</summary>
    public static void EnsureNotRunning(string configurationPath)
    {
        var running = FindRunning(configurationPath, out var stale);
        if (running is not null) throw AlreadyRunning(running);
        // A stale file must go, or it could be taken for the state of the server about to start.
        if (stale is not null) DeleteStateFile(stale.Path, stale.ProcessId);
    }

    /// <summary>The error for a second server of one configuration: both would serve the same key pools.</summary>
    public static QKDLiteException AlreadyRunning(EtsiServerInfo running) =>
        new(ErrorIds.EtsiServerAlreadyRunning, QKDLiteErrorCategory.ResourceExists,
            $"An ETSI server already runs for '{running.ConfigurationPath}': process {running.ProcessId} on {running.Url}. Stop it with Stop-EtsiServer first. Nothing was started.",
            running);

    /// <summary>Deletes a state file if it still names <paramref name="processId"/> (a new server may have replaced it).</summary>
    public static void DeleteStateFile(string path, int processId)
    {
        var current = EtsiServerStateFile.TryRead(path);
        if (current is null || current.ProcessId != processId) return;
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Harmless: the next start or Get-EtsiServer sees that its process has ended.
        }
    }

    /// <summary>The description of the server a state file names.</summary>
    public static EtsiServerInfo Describe(EtsiServerStateFile state, string configurationPath, EtsiServerState running)
    {
        var urls = state.Urls.Count > 0 ? state.Urls.ToArray() : new[] { $"https://127.0.0.1:{state.Port}" };
        return new EtsiServerInfo(Path.GetFullPath(configurationPath), state.ProcessId, urls, state.Port, state.StartedUtc,
            running, state.Path, EtsiServerFiles.LogFile(configurationPath), state.Listeners);
    }
}
