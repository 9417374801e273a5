using System;
using System.Collections.Generic;
using System.Linq;
using QKDLite.Core.Errors;

namespace QKDLite.Core.Configuration;

/// <summary>
/// The <c>Replication</c> section of the node configuration: the remote sites this (main) node
/// replicates to. Each site has one or more nodes, tried in order; the first healthy one takes the work.
/// </summary>
public sealed class ReplicationSettings
{
    /// <summary>The remote sites, by name.</summary>
    public List<ReplicationRemote> Remotes { get; set; } = new();

    /// <summary>
    /// Checks every remote (names unique, each with at least one node, each node with a HostName and a
    /// port in range, each Via naming another remote without a cycle). Throws
    /// ReplicationConfigurationInvalid naming the first problem.
    /// </summary>
    public void Validate(string file)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < Remotes.Count; i++)
        {
            var remote = Remotes[i] ?? throw Invalid(file, $"remote {i + 1} is empty");
            if (string.IsNullOrWhiteSpace(remote.Name))
                throw Invalid(file, $"remote {i + 1} has no Name");
            if (!names.Add(remote.Name))
                throw Invalid(file, $"the remote name '{remote.Name}' is used twice");
            var nodes = remote.EffectiveNodes();
            if (nodes.Count == 0)
                throw Invalid(file, $"remote '{remote.Name}' has no node: give Nodes, or HostName at its top level");
            if (remote.Nodes is { Count: > 0 } && remote.HostName is not null)
                throw Invalid(file, $"remote '{remote.Name}' gives both Nodes and a top-level HostName; use one");
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (var j = 0; j < nodes.Count; j++)
            {
                var node = nodes[j] ?? throw Invalid(file, $"node {j + 1} of remote '{remote.Name}' is empty");
                if (string.IsNullOrWhiteSpace(node.HostName))
                    throw Invalid(file, $"node {j + 1} of remote '{remote.Name}' has no HostName");
                if (node.Port < 1 || node.Port > 65535)
                    throw Invalid(file, $"node {j + 1} of remote '{remote.Name}' has port {node.Port}; use 1 to 65535");
                if (node.ConnectTimeoutSeconds is < 1 or > 600)
                    throw Invalid(file, $"node {j + 1} of remote '{remote.Name}' has ConnectTimeoutSeconds {node.ConnectTimeoutSeconds}; use 1 to 600");
                if (!seen.Add(node.DisplayName))
                    throw Invalid(file, $"remote '{remote.Name}' names node {node.DisplayName} twice");
            }
        }
        ValidateRelays(file);
    }

    // Via: the site named must be another remote, and following Via from any remote must end at a
    // site this node reaches directly.
    private void ValidateRelays(string file)
    {
        foreach (var remote in Remotes)
        {
            if (remote.Via is null) continue;
            if (string.IsNullOrWhiteSpace(remote.Via))
                throw Invalid(file, $"remote '{remote.Name}' has an empty Via; name the remote it is reached through, or leave Via out");
            if (string.Equals(remote.Via, remote.Name, StringComparison.OrdinalIgnoreCase))
                throw Invalid(file, $"remote '{remote.Name}' is reached Via itself");
            if (Find(remote.Via) is null)
                throw Invalid(file, $"remote '{remote.Name}' is reached Via '{remote.Via}', which is not a remote of this section");
            var path = new List<string> { remote.Name };
            for (var hop = Find(remote.Via); hop is not null; hop = hop.Via is null ? null : Find(hop.Via))
            {
                var looped = path.Contains(hop.Name, StringComparer.OrdinalIgnoreCase);
                path.Add(hop.Name);
                if (looped)
                    throw Invalid(file, $"the remotes {string.Join(" -> ", path.Select(n => $"'{n}'"))} are reached Via each other in a cycle");
            }
        }
    }

    /// <summary>The remote with this name (case-insensitive), or null.</summary>
    public ReplicationRemote? Find(string name) =>
        Remotes.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase));

    private static QKDLiteException Invalid(string file, string problem) =>
        new(ErrorIds.ReplicationConfigurationInvalid, QKDLiteErrorCategory.InvalidData,
            $"The Replication section of '{file}' is not valid: {problem}.", file);
}

/// <summary>One remote site: a name and its nodes, tried in order (high availability).</summary>
public sealed class ReplicationRemote
{
    /// <summary>Name of the site, used with -Remote.</summary>
    public string Name { get; set; } = string.Empty;
    /// <summary>The nodes of the site, tried in order.</summary>
    public List<ReplicationNodeSettings>? Nodes { get; set; }
    /// <summary>
    /// The remote through which this site is reached (a chain A -> B -> C), or null when this node
    /// reaches it directly. The site named runs each step here through a relay; this node still
    /// coordinates and journals the site as its own participant.
    /// </summary>
    public string? Via { get; set; }

    // A single-node site may give the node's settings at its top level instead of Nodes.
    /// <summary>Single-node shorthand: the node's host name or address.</summary>
    public string? HostName { get; set; }
    /// <summary>Single-node shorthand: SSH port.</summary>
    public int Port { get; set; } = 22;
    /// <summary>Single-node shorthand: SSH user.</summary>
    public string? UserName { get; set; }
    /// <summary>Single-node shorthand: private key file for the SSH login.</summary>
    public string? KeyFilePath { get; set; }
    /// <summary>Single-node shorthand: known-hosts file holding the node's host key.</summary>
    public string? KnownHostsFile { get; set; }
    /// <summary>Single-node shorthand: what the node imports to load QKDLite.</summary>
    public string? ModulePath { get; set; }
    /// <summary>Single-node shorthand: the name of the node's KME in the node's own node.json.</summary>
    public string? Kme { get; set; }
    /// <summary>Single-node shorthand: seconds to wait for the node to answer.</summary>
    public int? ConnectTimeoutSeconds { get; set; }

    /// <summary>The site's nodes: <see cref="Nodes"/>, or the one node given at the top level.</summary>
    public IReadOnlyList<ReplicationNodeSettings> EffectiveNodes()
    {
        if (Nodes is { Count: > 0 }) return Nodes;
        if (HostName is null) return Array.Empty<ReplicationNodeSettings>();
        return new[]
        {
            new ReplicationNodeSettings
            {
                HostName = HostName, Port = Port, UserName = UserName, KeyFilePath = KeyFilePath,
                KnownHostsFile = KnownHostsFile, ModulePath = ModulePath, Kme = Kme, ConnectTimeoutSeconds = ConnectTimeoutSeconds,
            },
        };
    }
}

/// <summary>How to reach one node of a remote site over SSH, and which KME it takes QKD keys from.</summary>
public sealed class ReplicationNodeSettings
{
    /// <summary>Host name or address.</summary>
    public string HostName { get; set; } = string.Empty;
    /// <summary>SSH port.</summary>
    public int Port { get; set; } = 22;
    /// <summary>SSH user; default the SSH client's.</summary>
    public string? UserName { get; set; }
    /// <summary>Private key file for the SSH login.</summary>
    public string? KeyFilePath { get; set; }
    /// <summary>Known-hosts file holding the node's host key.</summary>
    public string? KnownHostsFile { get; set; }
    /// <summary>What the node imports to load QKDLite (a module name or the path of its QKDLite.psd1).</summary>
    public string? ModulePath { get; set; }
    /// <summary>The name of this node's KME in the node's own node.json, for replicated QKD keys.</summary>
    public string? Kme { get; set; }
    /// <summary>Seconds to wait for the node to answer.</summary>
    public int? ConnectTimeoutSeconds { get; set; }

    /// <summary>user@host:port, as the replication journal names nodes.</summary>
    public string DisplayName => (string.IsNullOrEmpty(UserName) ? "" : UserName + "@") + HostName + ":" + Port;
}
