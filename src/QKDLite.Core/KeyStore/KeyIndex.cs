using System;
using System.Collections.Generic;
using System.Linq;
using Net.Pkcs11Interop.HighLevelAPI;
using QKDLite.Core.Keys;

namespace QKDLite.Core.KeyStore;

/// <summary>
/// In-process index of the token's secret keys: label to object handle and metadata. SoftHSM2's
/// own find-by-label is O(n) (about 275 ms among 10,000 keys); this makes lookups O(1). Handles
/// are valid only in this process, so the index is rebuilt whenever <see cref="StoreGeneration"/>
/// says the token changed. Labels of keys QKDLite did not create are kept too, so new labels
/// never collide with them.
/// </summary>
internal sealed class KeyIndex
{
    private readonly Dictionary<string, Entry> _byLabel = new(StringComparer.Ordinal);
    // Active keys per keyID and size, kept as entries come and go, so that counting a pool (ETSI
    // status, thousands of times a second) does not walk every key.
    private readonly Dictionary<(string KeyId, int SizeBits), int> _activePools = new(PoolComparer.Instance);

    public sealed class Entry
    {
        public Entry(IObjectHandle handle, QuantumKeyInfo? key, KeyRecord? record = null)
        {
            Handle = handle;
            Key = key;
            Record = record;
        }

        public IObjectHandle Handle { get; }

        /// <summary>Null for a secret key that QKDLite did not create.</summary>
        public QuantumKeyInfo? Key { get; }

        /// <summary>
        /// The key's metadata as last read or written by this index (with the replication
        /// transaction that holds it); null where it was not kept, and then read from the token.
        /// </summary>
        public KeyRecord? Record { get; }
    }

    public int ActiveCount { get; private set; }

    /// <summary>The transport key's handles and description, once looked up for this index (its objects are indexed too).</summary>
    public object? TransportKey { get; set; }

    public bool ContainsLabel(string label) => _byLabel.ContainsKey(label);

    public Entry? Get(string label) => _byLabel.TryGetValue(label, out var entry) ? entry : null;

    /// <summary>Adds an entry; the first object seen for a label wins (PKCS#11 allows duplicates).</summary>
    public void Add(string label, Entry entry)
    {
        if (_byLabel.ContainsKey(label)) return;
        _byLabel.Add(label, entry);
        CountActive(entry.Key, +1);
    }

    public void Remove(string label)
    {
        if (label == Pkcs11KeyStore.TransportKeyLabel || label == Pkcs11KeyStore.TransportMacKeyLabel) TransportKey = null;
        if (_byLabel.TryGetValue(label, out var entry))
        {
            _byLabel.Remove(label);
            CountActive(entry.Key, -1);
        }
    }

    /// <summary>Active keys of one keyID (without regard to case) and size.</summary>
    public int ActiveCountOf(string keyId, int sizeBits) =>
        _activePools.TryGetValue((keyId, sizeBits), out var count) ? count : 0;

    private void CountActive(QuantumKeyInfo? key, int change)
    {
        if (key?.State != KeyState.Active) return;
        ActiveCount += change;
        var pool = (key.KeyId, key.SizeBits);
        _activePools.TryGetValue(pool, out var count);
        count += change;
        if (count == 0) _activePools.Remove(pool);
        else _activePools[pool] = count;
    }

    /// <summary>keyIDs are matched without regard to case everywhere (as PowerShell users expect).</summary>
    private sealed class PoolComparer : IEqualityComparer<(string KeyId, int SizeBits)>
    {
        public static readonly PoolComparer Instance = new();

        public bool Equals((string KeyId, int SizeBits) x, (string KeyId, int SizeBits) y) =>
            x.SizeBits == y.SizeBits && StringComparer.OrdinalIgnoreCase.Equals(x.KeyId, y.KeyId);

        public int GetHashCode((string KeyId, int SizeBits) pool) =>
            StringComparer.OrdinalIgnoreCase.GetHashCode(pool.KeyId) * 31 + pool.SizeBits;
    }

    /// <summary>Labels and entries of QKDLite keys that are not active (prepared by replication), as a snapshot.</summary>
    public IReadOnlyList<KeyValuePair<string, Entry>> InactiveEntries() =>
        _byLabel.Where(e => e.Value.Key is not null && e.Value.Key.State != KeyState.Active).ToList();

    public IEnumerable<QuantumKeyInfo> ActiveKeys() =>
        _byLabel.Values.Select(e => e.Key).Where(k => k is not null && k.State == KeyState.Active)!;

    public IReadOnlyList<QuantumKeyInfo> List(string? keyId) =>
        ActiveKeys()
            // keyIDs are matched without regard to case everywhere (as PowerShell users expect).
            .Where(k => keyId is null || string.Equals(k.KeyId, keyId, StringComparison.OrdinalIgnoreCase))
            .OrderBy(k => k.Created).ThenBy(k => k.Label, StringComparer.Ordinal)
            .ToList();

    public IReadOnlyDictionary<string, int> CountByKeyId()
    {
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var key in ActiveKeys())
        {
            counts.TryGetValue(key.KeyId, out var n);
            counts[key.KeyId] = n + 1;
        }
        return counts;
    }
}
