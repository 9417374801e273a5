using System;
using System.Collections.Generic;
using System.Linq;
using Net.Pkcs11Interop.Common;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;
using QKDLite.Core.Pkcs11;

namespace QKDLite.Core.KeyStore;

/// <summary>
/// Key delivery (ETSI GS QKD 014): keys leave the store at most once. Everything happens under the
/// store lock, so concurrent requests in this process never see the same key; all bytes are read
/// before anything is destroyed, so a failure while reading changes nothing.
/// </summary>
public sealed partial class Pkcs11KeyStore
{
    /// <inheritdoc />
    public int CountActiveKeys(string keyId, int sizeBits) => CountActiveKeys(keyId, sizeBits, TimeSpan.Zero);

    /// <inheritdoc />
    public int CountActiveKeys(string keyId, int sizeBits, TimeSpan maxAge)
    {
        var arrival = ChecksStarted;
        lock (_gate)
        {
            return Recent(maxAge, arrival).ActiveCountOf(keyId, sizeBits);
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<DeliveredKey> TakeOldestKeys(string keyId, int sizeBits, int count)
    {
        KeyRules.CheckKeyId(keyId);
        KeyRules.CheckSize(sizeBits);
        KeyRules.CheckCount(count);
        return Take(keyId, index =>
        {
            var oldest = index.List(keyId).Where(k => k.SizeBits == sizeBits).Take(count).Select(k => k.Label).ToList();
            if (oldest.Count < count)
                throw new QKDLiteException(ErrorIds.KeyPoolExhausted, QKDLiteErrorCategory.ResourceUnavailable,
                    $"The key store '{Settings.TokenLabel}' holds {oldest.Count} active {sizeBits}-bit keys of keyID '{keyId}'; {count} were asked for. Nothing was taken.", keyId);
            return oldest;
        });
    }

    /// <inheritdoc />
    public IReadOnlyList<DeliveredKey> TakeKeys(string keyId, IReadOnlyList<string> labels)
    {
        KeyRules.CheckKeyId(keyId);
        if (labels is null) throw new ArgumentNullException(nameof(labels));
        KeyRules.CheckCount(labels.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var label in labels)
        {
            KeyRules.CheckLabel(label);
            if (!seen.Add(label))
                throw new QKDLiteException(ErrorIds.DuplicateKeyLabel, QKDLiteErrorCategory.InvalidArgument,
                    $"Key label '{label}' appears twice in the request. Nothing was taken.", label);
        }
        return Take(keyId, _ => labels);
    }

    /// <summary>
    /// Reads, then destroys, the keys <paramref name="choose"/> names from a fresh index. A handle that
    /// another process invalidated meanwhile sends us round once more with a rebuilt index.
    /// </summary>
    private IReadOnlyList<DeliveredKey> Take(string keyId, Func<KeyIndex, IReadOnlyList<string>> choose)
    {
        lock (_gate)
        {
            var session = WorkSession();
            for (var attempt = 0; ; attempt++)
            {
                var index = Fresh(session);
                var entries = choose(index).Select(label => DeliverableEntry(index, keyId, label)).ToList();
                var taken = new List<DeliveredKey>(entries.Count);
                try
                {
                    foreach (var entry in entries)
                    {
                        var key = entry.Key!;
                        taken.Add(new DeliveredKey(key, ReadMaterial(session, entry.Handle, key.Label, key.SizeBits / 8)));
                    }
                }
                catch (Exception e)
                {
                    ClearAll(taken);
                    if (e is Pkcs11Exception p && !HandleWasInvalidated(e)) throw Pkcs11Errors.Translate(p, "read a key", keyId);
                    if (!HandleWasInvalidated(e)) throw;
                    if (attempt == 0)
                    {
                        _index = null;
                        continue;
                    }
                    throw RemovedMeanwhile(keyId, e);
                }

                var destroyed = 0;
                try
                {
                    for (; destroyed < entries.Count; destroyed++) session.DestroyObject(entries[destroyed].Handle);
                }
                catch (Pkcs11Exception e)
                {
                    // Keys destroyed so far are gone and are not delivered either: all or nothing for the
                    // caller, at most once for the key. Only a failure on the first key leaves the store as it was.
                    ClearAll(taken);
                    for (var i = 0; i < destroyed; i++) index.Remove(entries[i].Key!.Label);
                    if (destroyed > 0) MarkChanged(session);
                    if (!HandleWasInvalidated(e)) throw Pkcs11Errors.Translate(e, "destroy a key", entries[destroyed].Key!.Label);
                    if (destroyed == 0 && attempt == 0)
                    {
                        _index = null;
                        continue;
                    }
                    throw RemovedMeanwhile(keyId, e);
                }

                foreach (var entry in entries) index.Remove(entry.Key!.Label);
                try
                {
                    MarkChanged(session);
                }
                catch (Exception e) when (e is QKDLiteException or Pkcs11Exception)
                {
                    // The keys are destroyed already: delivering them is right. Other processes find
                    // their handles invalid and rebuild their index then.
                }
                return taken;
            }
        }
    }

    /// <summary>The index entry of an active key of <paramref name="keyId"/>, or KeyNotFound (pending keys are never delivered).</summary>
    private KeyIndex.Entry DeliverableEntry(KeyIndex index, string keyId, string label)
    {
        var entry = index.Get(label);
        if (entry?.Key is null || entry.Key.State != KeyState.Active || !SameKeyId(entry.Key.KeyId, keyId))
            throw new QKDLiteException(ErrorIds.KeyNotFound, QKDLiteErrorCategory.ObjectNotFound,
                $"No active key labelled '{label}' of keyID '{keyId}' is in the key store '{Settings.TokenLabel}'. Nothing was taken.", label);
        return entry;
    }

    // keyIDs are matched without regard to case everywhere (as KeyIndex.List does).
    private static bool SameKeyId(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    private QKDLiteException RemovedMeanwhile(string keyId, Exception inner) =>
        new(ErrorIds.KeyNotFound, QKDLiteErrorCategory.ObjectNotFound,
            $"A key of keyID '{keyId}' was removed from the key store '{Settings.TokenLabel}' by another process while it was being taken. Nothing was delivered.", keyId, inner);

    private static void ClearAll(List<DeliveredKey> keys)
    {
        foreach (var key in keys) key.Dispose();
    }
}
