using System.Collections.Generic;
using QKDLite.Core.Keys;

namespace QKDLite.Core.Configuration;

/// <summary>
/// One keyID that scheduled maintenance keeps stocked: at least <see cref="Minimum"/> active keys on
/// this node and on every remote site named in <see cref="Remotes"/>, topped up by replicated creation.
/// </summary>
public sealed class MaintenanceKeySettings
{
    /// <summary>The keyID to keep stocked.</summary>
    public string KeyId { get; set; } = string.Empty;
    /// <summary>Fewest active keys every node of the pair should hold.</summary>
    public int Minimum { get; set; }
    /// <summary>Size in bits of the keys maintenance creates.</summary>
    public int Size { get; set; } = KeyRules.DefaultSizeBits;
    /// <summary>Source of new keys: Classical (system RNG) or Qrng; KME keys are not replicated by creation.</summary>
    public KeySource Source { get; set; } = KeySource.Classical;
    /// <summary>With <see cref="Source"/> Qrng: the name of a QRNG in the Qrngs section.</summary>
    public string? Qrng { get; set; }
    /// <summary>Names of the remote sites (the Replication section's Remotes) that receive the keys.</summary>
    public List<string> Remotes { get; set; } = new();
}
