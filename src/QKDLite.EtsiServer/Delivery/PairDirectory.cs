using System;
using System.Collections.Generic;
using QKDLite.Core.Configuration;

namespace QKDLite.EtsiServer.Delivery;

/// <summary>
/// The configured SAE pairs, looked up by (master, slave). SAE IDs compare exactly (ordinal): they
/// are identities, and "sae-a" is not "SAE-A".
/// </summary>
internal sealed class PairDirectory
{
    private readonly Dictionary<(string Master, string Slave), EtsiSaePair> _pairs = new();

    public PairDirectory(IEnumerable<EtsiSaePair> pairs)
    {
        foreach (var pair in pairs) _pairs[(pair.MasterSaeId, pair.SlaveSaeId)] = pair;
    }

    /// <summary>The pair with this master and slave, or null.</summary>
    public EtsiSaePair? Find(string masterSaeId, string slaveSaeId) =>
        _pairs.TryGetValue((masterSaeId, slaveSaeId), out var pair) ? pair : null;

    /// <summary>
    /// The pair a status call is about. The standard has the master SAE ask, naming its slave; the
    /// slave SAE may ask too, naming its master (it needs the same limits). So: the caller as master
    /// first, then the caller as slave; an SAE outside the pair learns nothing.
    /// </summary>
    public EtsiSaePair? ForStatus(string callerSaeId, string pathSaeId) =>
        Find(callerSaeId, pathSaeId) ?? Find(pathSaeId, callerSaeId);
}
