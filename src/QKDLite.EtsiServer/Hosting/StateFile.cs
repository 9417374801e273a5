using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;

namespace QKDLite.EtsiServer.Hosting;

/// <summary>
/// The state file supervisors read to find a running server: <c>{ "ProcessId", "Urls", "Port",
/// "StartedUtc", "Configuration", "Listeners": [{ "Url", "Profile", "Groups" }] }</c>, written atomically once the server listens, deleted on a clean stop.
/// </summary>
internal static class StateFile
{
    /// <summary>Its name next to the node configuration when --state-file is not given.</summary>
    public const string DefaultName = "etsi-server.json";

    /// <summary>The default path for the node configuration <paramref name="configurationFile"/>.</summary>
    public static string DefaultPath(string configurationFile) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(configurationFile)) ?? ".", DefaultName);

    /// <summary>Writes the file through a temporary file and a rename: readers see all of it or none.</summary>
    public static void Write(string path, int processId, IReadOnlyList<EtsiServerHost.ListenerInfo> listeners, int port, DateTime startedUtc, string configurationFile)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                w.WriteStartObject();
                w.WriteNumber("ProcessId", processId);
                w.WriteStartArray("Urls");
                foreach (var listener in listeners) w.WriteStringValue(listener.Url);
                w.WriteEndArray();
                w.WriteNumber("Port", port);
                w.WriteString("StartedUtc", startedUtc.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteString("Configuration", Path.GetFullPath(configurationFile));
                w.WriteStartArray("Listeners");
                foreach (var listener in listeners)
                {
                    w.WriteStartObject();
                    w.WriteString("Url", listener.Url);
                    w.WriteString("Profile", listener.Profile.ToString());
                    w.WriteStartArray("Groups");
                    foreach (var group in listener.Groups) w.WriteStringValue(group);
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>Deletes the file if it still names <paramref name="processId"/> (a newer server may have replaced it).</summary>
    public static void DeleteIfOwn(string path, int processId)
    {
        try
        {
            using (var document = JsonDocument.Parse(File.ReadAllBytes(path)))
            {
                if (!document.RootElement.TryGetProperty("ProcessId", out var id) || !id.TryGetInt32(out var owner) || owner != processId) return;
            }
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException)
        {
            // Gone already, or not ours to delete.
        }
    }
}
