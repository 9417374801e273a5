using System.Collections.Generic;
using QKDLite.Core.Tls;

namespace QKDLite.Core.Configuration;

/// <summary>
/// One address and port QKDLite_ETSI listens on and how it negotiates TLS there, with every default
/// applied: what <see cref="EtsiServerSettings.ResolveListeners"/> returns.
/// </summary>
public sealed class EtsiListener
{
    /// <summary>Creates a resolved listener.</summary>
    public EtsiListener(string address, int port, TlsProfile profile, IReadOnlyList<string> groups)
    {
        Address = address;
        Port = port;
        Profile = profile;
        Groups = groups;
    }

    /// <summary>IP address, "localhost" or "*".</summary>
    public string Address { get; }
    /// <summary>TCP port (0: the system picks one).</summary>
    public int Port { get; }
    /// <summary>How TLS is negotiated.</summary>
    public TlsProfile Profile { get; }
    /// <summary>The post-quantum groups offered, most preferred first, in canonical spelling; empty for <see cref="TlsProfile.Classical"/>.</summary>
    public IReadOnlyList<string> Groups { get; }
}
