using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.Json;

namespace QKDLite.Core.ServerControl;

/// <summary>
/// The state file QKDLite_ETSI writes atomically once it listens and deletes on a clean stop:
/// <c>{ "ProcessId", "Urls": [...], "Port", "StartedUtc", "Configuration", "Listeners": [{ "Url", "Profile", "Groups": [...] }] }</c>.
/// </summary>
public sealed class EtsiServerStateFile
{
    private EtsiServerStateFile(string path, int processId, IReadOnlyList<string> urls, int port, DateTime startedUtc, string? configuration,
        IReadOnlyList<EtsiServerListenerInfo> listeners)
    {
        Listeners = listeners;
        Path = path;
        ProcessId = processId;
        Urls = urls;
        Port = port;
        StartedUtc = startedUtc;
        Configuration = configuration;
    }

    /// <summary>Where the file was read from.</summary>
    public string Path { get; }
    /// <summary>Id of the server process.</summary>
    public int ProcessId { get; }
    /// <summary>URLs the server listens on.</summary>
    public IReadOnlyList<string> Urls { get; }
    /// <summary>TCP port the server listens on.</summary>
    public int Port { get; }
    /// <summary>When the server started listening (UTC).</summary>
    public DateTime StartedUtc { get; }
    /// <summary>Each listener's URL, TLS profile and groups (empty for a server of an older version).</summary>
    public IReadOnlyList<EtsiServerListenerInfo> Listeners { get; }
    /// <summary>The node configuration the server runs with, as the server wrote it.</summary>
    public string? Configuration { get; }

    /// <summary>
    /// Reads a state file; null when it does not exist or does not hold a process id and a port
    /// (a file from another program, or one that is being replaced right now).
    /// </summary>
    public static EtsiServerStateFile? TryRead(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            int? processId = null;
            int? port = null;
            var urls = new List<string>();
            var started = DateTime.MinValue;
            string? configuration = null;
            var listeners = new List<EtsiServerListenerInfo>();
            // Property names compared without case, like node.json.
            foreach (var property in root.EnumerateObject())
            {
                switch (property.Name.ToUpperInvariant())
                {
                    case "PROCESSID" when property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetInt32(out var id):
                        processId = id;
                        break;
                    case "PORT" when property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetInt32(out var p):
                        port = p;
                        break;
                    case "URLS" when property.Value.ValueKind == JsonValueKind.Array:
                        foreach (var url in property.Value.EnumerateArray())
                            if (url.ValueKind == JsonValueKind.String) urls.Add(url.GetString()!);
                        break;
                    case "STARTEDUTC" when property.Value.ValueKind == JsonValueKind.String:
                        if (DateTime.TryParse(property.Value.GetString(), CultureInfo.InvariantCulture,
                                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var when))
                            started = when;
                        break;
                    case "CONFIGURATION" when property.Value.ValueKind == JsonValueKind.String:
                        configuration = property.Value.GetString();
                        break;
                    case "LISTENERS" when property.Value.ValueKind == JsonValueKind.Array:
                        foreach (var listener in property.Value.EnumerateArray())
                            if (ReadListener(listener) is { } read) listeners.Add(read);
                        break;
                }
            }
            if (processId is null or <= 0 || port is null or <= 0) return null;
            return new EtsiServerStateFile(System.IO.Path.GetFullPath(path), processId.Value, urls, port.Value, started, configuration, listeners);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static EtsiServerListenerInfo? ReadListener(JsonElement listener)
    {
        if (listener.ValueKind != JsonValueKind.Object) return null;
        string? url = null, profile = null;
        var groups = new List<string>();
        foreach (var property in listener.EnumerateObject())
        {
            switch (property.Name.ToUpperInvariant())
            {
                case "URL" when property.Value.ValueKind == JsonValueKind.String:
                    url = property.Value.GetString();
                    break;
                case "PROFILE" when property.Value.ValueKind == JsonValueKind.String:
                    profile = property.Value.GetString();
                    break;
                case "GROUPS" when property.Value.ValueKind == JsonValueKind.Array:
                    foreach (var group in property.Value.EnumerateArray())
                        if (group.ValueKind == JsonValueKind.String) groups.Add(group.GetString()!);
                    break;
            }
        }
        return url is null || profile is null ? null : new EtsiServerListenerInfo(url, profile, groups);
    }
}
