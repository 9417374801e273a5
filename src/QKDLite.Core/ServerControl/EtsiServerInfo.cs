using System;
using System.Collections.Generic;
using System.Linq;

namespace QKDLite.Core.ServerControl;

/// <summary>A QKDLite_ETSI server process of one node configuration, as Start-, Get- and Stop-EtsiServer report it.</summary>
public sealed class EtsiServerInfo
{
    /// <summary>Creates a description of a server.</summary>
    public EtsiServerInfo(string configurationPath, int processId, IEnumerable<string> urls, int port, DateTime startedUtc,
        EtsiServerState state, string stateFilePath, string logPath, IEnumerable<EtsiServerListenerInfo>? listeners = null)
    {
        Listeners = listeners?.ToArray() ?? Array.Empty<EtsiServerListenerInfo>();
        ConfigurationPath = configurationPath;
        ProcessId = processId;
        Urls = urls.ToArray();
        Port = port;
        StartedUtc = startedUtc;
        State = state;
        StateFilePath = stateFilePath;
        LogPath = logPath;
    }

    /// <summary>The node configuration (node.json) the server runs with.</summary>
    public string ConfigurationPath { get; }
    /// <summary>Id of the server process.</summary>
    public int ProcessId { get; }
    /// <summary>The first URL the server listens on.</summary>
    public string Url => Urls.Length > 0 ? Urls[0] : string.Empty;
    /// <summary>Every URL the server listens on.</summary>
    public string[] Urls { get; }
    /// <summary>The TCP port the server listens on.</summary>
    public int Port { get; }
    /// <summary>When the server started listening (UTC).</summary>
    public DateTime StartedUtc { get; }
    /// <summary>Each listener with its URL, TLS profile (Classical, Hybrid, PostQuantumOnly) and post-quantum groups.</summary>
    public EtsiServerListenerInfo[] Listeners { get; }
    /// <summary>The TLS profile of each listener, in order, such as "Hybrid" or "Hybrid, PostQuantumOnly".</summary>
    public string TlsProfile => string.Join(", ", Listeners.Select(l => l.Profile).Distinct());
    /// <summary>Running, or Stopped once Stop-EtsiServer has ended it.</summary>
    public EtsiServerState State { get; }
    /// <summary>The state file the server wrote (etsi-server.json next to node.json).</summary>
    public string StateFilePath { get; }
    /// <summary>
    /// The file that receives the server's output when Start-EtsiServer runs it in the background
    /// (etsi-server.log next to node.json). With -Wait the output goes to the console instead.
    /// </summary>
    public string LogPath { get; }

    /// <summary>The same server in another state.</summary>
    public EtsiServerInfo WithState(EtsiServerState state) =>
        new(ConfigurationPath, ProcessId, Urls, Port, StartedUtc, state, StateFilePath, LogPath, Listeners);

    /// <inheritdoc />
    public override string ToString() => $"QKDLite_ETSI {Url} (process {ProcessId}, {State})";
}
