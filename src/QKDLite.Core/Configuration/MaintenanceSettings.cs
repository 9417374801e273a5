using System;
using System.Collections.Generic;
using System.Linq;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;

namespace QKDLite.Core.Configuration;

/// <summary>
/// The <c>Maintenance</c> section of the node configuration: the keyIDs that the scheduled
/// maintenance job (Invoke-QuantumKeyMaintenance) keeps stocked across this node and its remote sites.
/// </summary>
public sealed class MaintenanceSettings
{
    /// <summary>The keyIDs to keep stocked, each with its minimum, key size, source and remote sites.</summary>
    public List<MaintenanceKeySettings> KeyIds { get; set; } = new();

    /// <summary>
    /// Checks every entry without touching any key store: a valid keyID (each only once), a minimum of
    /// 1 to <see cref="KeyRules.MaxCount"/>, a valid key size, Classical or a named QRNG (one that
    /// <paramref name="qrngNames"/> lists, when given), and at least one remote site, each named once.
    /// Throws MaintenanceConfigurationInvalid naming the first problem.
    /// </summary>
    public void Validate(string file, IEnumerable<string>? qrngNames = null)
    {
        if (KeyIds is null) throw Invalid(file, "KeyIds must be a list (it may be empty)");
        var qrngs = qrngNames is null ? null : new HashSet<string>(qrngNames, StringComparer.OrdinalIgnoreCase);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < KeyIds.Count; i++)
        {
            var entry = KeyIds[i] ?? throw Invalid(file, $"KeyIds[{i}] is empty");
            var name = $"KeyIds[{i}]";
            try
            {
                KeyRules.CheckKeyId(entry.KeyId);
            }
            catch (QKDLiteException e)
            {
                throw Invalid(file, $"{name}: {e.Message.TrimEnd('.')}", e);
            }
            name = $"KeyIds[{i}] ('{entry.KeyId}')";
            if (!seen.Add(entry.KeyId))
                throw Invalid(file, $"{name} repeats a keyID listed before; give each keyID once");
            if (entry.Minimum < 1 || entry.Minimum > KeyRules.MaxCount)
                throw Invalid(file, $"{name} Minimum {entry.Minimum} is out of range; use 1 to {KeyRules.MaxCount}");
            if (entry.Size % 8 != 0 || entry.Size < KeyRules.MinSizeBits || entry.Size > KeyRules.MaxSizeBits)
                throw Invalid(file, $"{name} Size {entry.Size} must be a multiple of 8 from {KeyRules.MinSizeBits} to {KeyRules.MaxSizeBits}");
            switch (entry.Source)
            {
                case KeySource.Classical:
                    if (!string.IsNullOrWhiteSpace(entry.Qrng))
                        throw Invalid(file, $"{name} names Qrng '{entry.Qrng}' but its Source is Classical; set Source to Qrng or remove Qrng");
                    break;
                case KeySource.Qrng:
                    if (string.IsNullOrWhiteSpace(entry.Qrng))
                        throw Invalid(file, $"{name} has Source Qrng but names no Qrng");
                    if (qrngs is not null && !qrngs.Contains(entry.Qrng!))
                        throw Invalid(file, $"{name} names Qrng '{entry.Qrng}', which the Qrngs section does not list");
                    break;
                default:
                    throw Invalid(file, $"{name} Source {entry.Source} cannot be maintained: replicated creation takes Classical or Qrng keys");
            }
            if (entry.Remotes is null || entry.Remotes.Count == 0)
                throw Invalid(file, $"{name} names no Remotes; list the remote sites (from the Replication section) that hold this keyID's keys");
            if (entry.Remotes.Any(string.IsNullOrWhiteSpace))
                throw Invalid(file, $"{name} has an empty name in Remotes");
            var twice = entry.Remotes.GroupBy(r => r, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
            if (twice is not null)
                throw Invalid(file, $"{name} names remote site '{twice.Key}' twice");
        }
    }

    private static QKDLiteException Invalid(string file, string why, Exception? inner = null) =>
        new(ErrorIds.MaintenanceConfigurationInvalid, QKDLiteErrorCategory.InvalidData,
            $"The Maintenance section of '{file}' is not valid: {why}.", file, inner);
}
