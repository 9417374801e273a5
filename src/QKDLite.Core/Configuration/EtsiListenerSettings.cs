using System.Collections.Generic;
using QKDLite.Core.Tls;

namespace QKDLite.Core.Configuration;

/// <summary>
/// A further listener of QKDLite_ETSI (an entry of <see cref="EtsiServerSettings.Listeners"/>), with
/// its own TLS profile: for example a post-quantum-only port for SAEs that can, beside a hybrid one
/// for appliances that cannot. Unset TLS values are taken from the section.
/// </summary>
public sealed class EtsiListenerSettings
{
    /// <summary>IP address to listen on, or "localhost" or "*" (every address).</summary>
    public string Address { get; set; } = "127.0.0.1";
    /// <summary>TCP port; 0 lets the system pick a free one.</summary>
    public int Port { get; set; }
    /// <summary>This listener's TLS profile; the section's <see cref="EtsiServerSettings.TlsProfile"/> when not set.</summary>
    public TlsProfile? TlsProfile { get; set; }
    /// <summary>This listener's post-quantum groups, most preferred first; the section's <see cref="EtsiServerSettings.TlsGroups"/> when not set.</summary>
    public List<string>? TlsGroups { get; set; }
}
