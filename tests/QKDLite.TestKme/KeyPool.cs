using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;

namespace QKDLite.TestKme;

/// <summary>A key as delivered to an SAE.</summary>
/// <param name="KeyId">The key_ID (a UUID).</param>
/// <param name="Key">The key bytes (a copy; the caller may keep or clear it).</param>
public sealed record DeliveredKey(Guid KeyId, byte[] Key);

/// <summary>Outcome of a dec_keys lookup.</summary>
public enum RetrieveOutcome
{
    /// <summary>All keys found and delivered (and removed for this slave).</summary>
    Ok,

    /// <summary>At least one key is unknown, already retrieved, issued at this KME, or issued for another master (400).</summary>
    NotFound,

    /// <summary>At least one key exists but the caller was not named as one of its slave SAEs (401).</summary>
    Unauthorized,
}

/// <summary>
/// The key pool both test KMEs share, in memory. The pool is a count of stored keys; every key that
/// enc_keys delivers takes one, whatever its size, and is generated then (random bytes). An issued key
/// stays until each slave SAE named for it has fetched it once through dec_keys at the other KME.
/// Thread-safe; issue and retrieval are atomic, so concurrent requests never receive the same key.
/// </summary>
public sealed class KeyPool
{
    private readonly object _gate = new();
    private readonly Dictionary<Guid, IssuedKey> _issued = new();
    private int _available;

    internal KeyPool(int available, int maxKeyCount)
    {
        _available = available;
        MaxKeyCount = maxKeyCount;
    }

    /// <summary><c>max_key_count</c> as reported by status.</summary>
    public int MaxKeyCount { get; }

    /// <summary>Keys still available for enc_keys (<c>stored_key_count</c>).</summary>
    public int StoredKeyCount
    {
        get
        {
            lock (_gate)
            {
                return _available;
            }
        }
    }

    /// <summary>Keys issued by enc_keys that some slave SAE has not fetched yet.</summary>
    public int PendingKeyCount
    {
        get
        {
            lock (_gate)
            {
                return _issued.Count;
            }
        }
    }

    /// <summary>Sets the number of available keys (refill or drain).</summary>
    public void SetStoredKeyCount(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_gate)
        {
            _available = count;
        }
    }

    /// <summary>Forgets every issued key that was not fetched yet.</summary>
    public void ClearPending()
    {
        lock (_gate)
        {
            foreach (var key in _issued.Values)
            {
                CryptographicOperations.ZeroMemory(key.Key);
            }

            _issued.Clear();
        }
    }

    /// <summary>
    /// Takes <paramref name="number"/> keys of <paramref name="sizeBits"/> bits for the master SAE and
    /// its slave SAE(s), or returns null (nothing taken) when fewer are available.
    /// </summary>
    internal IReadOnlyList<DeliveredKey>? TryIssue(
        string issuingKmeId, string masterSaeId, IReadOnlyCollection<string> slaveSaeIds, int number, int sizeBits)
    {
        lock (_gate)
        {
            if (number > _available)
            {
                return null;
            }

            _available -= number;
            var delivered = new List<DeliveredKey>(number);
            for (var i = 0; i < number; i++)
            {
                var id = Guid.NewGuid();
                var key = RandomNumberGenerator.GetBytes(sizeBits / 8);
                _issued.Add(id, new IssuedKey(key, issuingKmeId, masterSaeId, new HashSet<string>(slaveSaeIds, StringComparer.Ordinal)));
                delivered.Add(new DeliveredKey(id, (byte[])key.Clone()));
            }

            return delivered;
        }
    }

    /// <summary>
    /// dec_keys at KME <paramref name="retrievingKmeId"/> by <paramref name="callerSaeId"/> naming
    /// <paramref name="masterSaeId"/>: all or nothing.
    /// </summary>
    internal (RetrieveOutcome Outcome, IReadOnlyList<DeliveredKey> Keys) TryRetrieve(
        string retrievingKmeId, string masterSaeId, string callerSaeId, IReadOnlyList<Guid> keyIds)
    {
        lock (_gate)
        {
            var found = new List<(Guid Id, IssuedKey Key)>(keyIds.Count);
            var missing = false;
            foreach (var id in keyIds)
            {
                // Keys come from the *other* KME of the pair and must have been issued to the named master.
                if (!_issued.TryGetValue(id, out var key) || key.IssuingKmeId == retrievingKmeId
                    || !string.Equals(key.MasterSaeId, masterSaeId, StringComparison.Ordinal))
                {
                    missing = true;
                    continue;
                }

                if (!key.SlaveSaeIds.Contains(callerSaeId))
                {
                    return (RetrieveOutcome.Unauthorized, []);
                }

                if (!key.Pending.Contains(callerSaeId))
                {
                    missing = true; // this slave fetched it already
                    continue;
                }

                found.Add((id, key));
            }

            if (missing)
            {
                return (RetrieveOutcome.NotFound, []);
            }

            var delivered = new List<DeliveredKey>(found.Count);
            foreach (var (id, key) in found)
            {
                delivered.Add(new DeliveredKey(id, (byte[])key.Key.Clone()));
                key.Pending.Remove(callerSaeId);
                if (key.Pending.Count == 0)
                {
                    CryptographicOperations.ZeroMemory(key.Key);
                    _issued.Remove(id);
                }
            }

            return (RetrieveOutcome.Ok, delivered);
        }
    }

    private sealed class IssuedKey(byte[] key, string issuingKmeId, string masterSaeId, HashSet<string> slaveSaeIds)
    {
        public byte[] Key { get; } = key;

        public string IssuingKmeId { get; } = issuingKmeId;

        public string MasterSaeId { get; } = masterSaeId;

        public HashSet<string> SlaveSaeIds { get; } = slaveSaeIds;

        public HashSet<string> Pending { get; } = new(slaveSaeIds, StringComparer.Ordinal);
    }
}

internal static class KeyPoolExtensions
{
    public static bool HasDuplicates(this IReadOnlyList<Guid> ids) => ids.Distinct().Count() != ids.Count;
}
