using System.Collections.Generic;
using System.Linq;

namespace QKDLite.Core.ServerControl;

/// <summary>One listener of a running QKDLite_ETSI, as its state file records it.</summary>
public sealed class EtsiServerListenerInfo
{
    /// <summary>Creates a listener description.</summary>
    public EtsiServerListenerInfo(string url, string profile, IEnumerable<string> groups)
    {
        Url = url;
        Profile = profile;
        Groups = groups.ToArray();
    }

    /// <summary>The URL, with the port the server listens on.</summary>
    public string Url { get; }
    /// <summary>The TLS profile: Classical, Hybrid or PostQuantumOnly.</summary>
    public string Profile { get; }
    /// <summary>The post-quantum key-exchange groups offered, most preferred first (none under Classical).</summary>
    public string[] Groups { get; }

    /// <inheritdoc />
    public override string ToString() => Groups.Length == 0 ? $"{Url} {Profile}" : $"{Url} {Profile} ({string.Join(", ", Groups)})";
}
