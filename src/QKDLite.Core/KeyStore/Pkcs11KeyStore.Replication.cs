using System;
using System.Collections.Generic;
using System.Linq;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using QKDLite.Core.Crypto;
using QKDLite.Core.Errors;
using QKDLite.Core.KeyBlocks;
using QKDLite.Core.Keys;
using QKDLite.Core.Pkcs11;
using QKDLite.Core.Replication;
using QKDLite.Core.Sources;

namespace QKDLite.Core.KeyStore;

/// <summary>
/// The key store's half of two-phase replication. A prepared key is stored but carries its
/// transaction in its metadata (CKA_ID) as pending or deleting, which hides it from listing,
/// counting, lookup, export and delivery; commit and abort find a transaction's keys on the token
/// itself and change or destroy them. Every step is idempotent, so a retried or repeated message
/// changes nothing more. Which transactions are decided is not the token's business: see
/// <see cref="ReplicationParticipant"/>.
/// </summary>
public sealed partial class Pkcs11KeyStore
{
    /// <inheritdoc />
    public (QuantumKeyInfo Key, bool Created) PrepareImport(string transactionId, string blockText)
    {
        TransactionIds.Check(transactionId);
        var block = KeyBlockCodec.Parse(blockText);
        lock (_gate) return OnFreshIndex((session, index) => PrepareImport(session, index, transactionId, block));
    }

    private (QuantumKeyInfo Key, bool Created) PrepareImport(ISession session, KeyIndex index, string transactionId, KeyBlockCodec.Parsed block)
    {
        var header = block.Header;
        var existing = index.Get(header.Label);
        if (existing is not null)
        {
            // The same block prepared again for the same transaction (a repeated message): nothing to do.
            var record = TransactionRecord(session, existing, header.Label);
            if (record is { State: KeyState.Pending } r && r.TransactionId == transactionId
                && r.CheckValue == header.CheckValue && r.KeyId == header.KeyId && r.SizeBits == header.SizeBits)
                return (existing.Key!, false);
            throw LabelTaken(header.Label, record);
        }
        var transport = Verify(session, index, block, out _);
        var pending = new KeyRecord(header.KeyId, header.Source, header.Created, KeyState.Pending, header.SizeBits, header.CheckValue, transactionId);
        var handle = UnwrapBlock(session, transport, block, pending);
        var key = Describe(header.Label, pending);
        index.Add(header.Label, new KeyIndex.Entry(handle, key, pending));
        MarkChanged(session);
        return (key, true);
    }

    /// <inheritdoc />
    public IReadOnlyList<QuantumKeyInfo> PrepareCreate(string transactionId, NewKeysRequest request, IKeyMaterialSource source)
    {
        TransactionIds.Check(transactionId);
        if (request.Labels is null)
            throw new QKDLiteException(ErrorIds.KeyLabelCountMismatch, QKDLiteErrorCategory.InvalidArgument,
                "A replicated create names its labels up front, so that the journal holds them before any key exists. Nothing was created.", transactionId);
        KeyRules.CheckKeyId(request.KeyId);
        KeyRules.CheckSize(request.SizeBits);
        KeyRules.CheckCount(request.Count);
        if (request.Labels.Count != request.Count)
            throw new QKDLiteException(ErrorIds.KeyLabelCountMismatch, QKDLiteErrorCategory.InvalidArgument,
                $"{request.Labels.Count} labels were given for {request.Count} keys. Nothing was created.", request.Labels.Count);
        CheckDistinct(request.Labels);
        var isAes = KeyCheckValue.IsAesSize(request.SizeBits);
        lock (_gate) return OnFreshIndex((session, index) => PrepareCreate(session, index, transactionId, request, source, isAes));
    }

    private IReadOnlyList<QuantumKeyInfo> PrepareCreate(ISession session, KeyIndex index, string transactionId, NewKeysRequest request, IKeyMaterialSource source, bool isAes)
    {
        // All labels are checked before the first key is made: free, or already this transaction's
        // (so a repeat, or a retry after another process invalidated a handle, makes nothing twice).
        var missing = new List<string>();
        foreach (var label in request.Labels!)
        {
            var existing = index.Get(label);
            if (existing is null) { missing.Add(label); continue; }
            var record = TransactionRecord(session, existing, label);
            if (record is not { State: KeyState.Pending } r || r.TransactionId != transactionId || r.KeyId != request.KeyId || r.SizeBits != request.SizeBits)
                throw LabelTaken(label, record);
        }
        var material = new byte[request.SizeBits / 8];
        var changed = false;
        try
        {
            foreach (var label in missing)
            {
                source.Fill(material);
                var record = new KeyRecord(request.KeyId, source.Kind, NextCreationTime(), KeyState.Pending, request.SizeBits,
                    KeyCheckValue.Compute(material, isAes), transactionId);
                var handle = StoreKey(session, label, record, isAes, material);
                changed = true;
                index.Add(label, new KeyIndex.Entry(handle, Describe(label, record), record));
            }
        }
        finally
        {
            Array.Clear(material, 0, material.Length);
            if (changed) MarkChanged(session);
        }
        return request.Labels.Select(l => index.Get(l)!.Key!).ToList();
    }

    /// <inheritdoc />
    public KeyBlock ExportPrepared(string transactionId, string label)
    {
        TransactionIds.Check(transactionId);
        lock (_gate)
        {
            return OnFreshIndex((session, index) =>
            {
                var entry = index.Get(label);
                var record = entry is null ? null : TransactionRecord(session, entry, label);
                if (record is not { State: KeyState.Pending } r || r.TransactionId != transactionId)
                    throw new QKDLiteException(ErrorIds.KeyNotFound, QKDLiteErrorCategory.ObjectNotFound,
                        $"No key labelled '{label}' is prepared by transaction '{transactionId}' in the key store '{Settings.TokenLabel}'. Nothing was exported.", label);
                return WrapIntoBlock(session, index, entry!, label);
            });
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<string> PrepareDelete(string transactionId, IReadOnlyList<string> labels)
    {
        TransactionIds.Check(transactionId);
        if (labels is null) throw new ArgumentNullException(nameof(labels));
        KeyRules.CheckCount(labels.Count);
        CheckDistinct(labels);
        lock (_gate)
        {
            return OnFreshIndex((session, index) =>
            {
                // Every label is checked before the first key is marked, so a refusal changes nothing.
                var toMark = new List<KeyValuePair<string, KeyIndex.Entry>>();
                var present = new List<string>();
                foreach (var label in labels)
                {
                    var entry = index.Get(label);
                    if (entry is null) continue; // nothing to delete here: the deletion's end state holds already
                    if (entry.Key is null)
                        throw new QKDLiteException(ErrorIds.KeyNotFound, QKDLiteErrorCategory.ObjectNotFound,
                            $"'{label}' in the key store '{Settings.TokenLabel}' is not a QKDLite key. Nothing was changed.", label);
                    present.Add(label);
                    if (entry.Key.State == KeyState.Active) { toMark.Add(new(label, entry)); continue; }
                    var record = TransactionRecord(session, entry, label);
                    if (record is { State: KeyState.Deleting } r && r.TransactionId == transactionId) continue;
                    throw InTransaction(label, record?.TransactionId);
                }
                var changed = false;
                try
                {
                    foreach (var pair in toMark)
                    {
                        SetRecord(session, index, pair.Key, pair.Value, RecordOf(pair.Value.Key!).With(KeyState.Deleting, transactionId));
                        changed = true;
                    }
                }
                finally
                {
                    if (changed) MarkChanged(session);
                }
                return present;
            });
        }
    }

    /// <inheritdoc />
    public int CommitPrepared(string transactionId) => Finish(transactionId, commit: true);

    /// <inheritdoc />
    public int AbortPrepared(string transactionId) => Finish(transactionId, commit: false);

    /// <inheritdoc />
    public IReadOnlyList<QuantumKeyInfo> TransactionKeys(string transactionId)
    {
        TransactionIds.Check(transactionId);
        lock (_gate)
        {
            return OnFreshIndex((session, index) =>
                Prepared(session, index).Where(p => p.Record.TransactionId == transactionId).Select(p => p.Entry.Key!).ToList());
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<string> PreparedTransactionIds()
    {
        lock (_gate)
        {
            return OnFreshIndex((session, index) =>
                Prepared(session, index).Select(p => p.Record.TransactionId!).Distinct(StringComparer.Ordinal).OrderBy(t => t, StringComparer.Ordinal).ToList());
        }
    }

    /// <summary>
    /// Commit: pending keys of the transaction become active, keys it prepared for deletion are
    /// destroyed. Abort: the reverse. Returns the number of keys changed (0 when repeated).
    /// </summary>
    private int Finish(string transactionId, bool commit)
    {
        TransactionIds.Check(transactionId);
        lock (_gate)
        {
            return OnFreshIndex((session, index) =>
            {
                var changed = 0;
                try
                {
                    foreach (var (label, entry, record) in Prepared(session, index).Where(p => p.Record.TransactionId == transactionId))
                    {
                        var keep = (record.State == KeyState.Pending) == commit;
                        if (keep)
                        {
                            SetRecord(session, index, label, entry, record.With(KeyState.Active, null));
                        }
                        else
                        {
                            try
                            {
                                session.DestroyObject(entry.Handle);
                            }
                            catch (Pkcs11Exception e) when (!HandleWasInvalidated(e))
                            {
                                throw Pkcs11Errors.Translate(e, "destroy a key", label);
                            }
                            index.Remove(label);
                        }
                        changed++;
                    }
                }
                finally
                {
                    if (changed > 0) MarkChanged(session);
                }
                return changed;
            });
        }
    }

    /// <summary>The prepared (pending or deleting) keys that carry a transaction, with their records read from the token.</summary>
    private List<(string Label, KeyIndex.Entry Entry, KeyRecord Record)> Prepared(ISession session, KeyIndex index)
    {
        var result = new List<(string, KeyIndex.Entry, KeyRecord)>();
        foreach (var pair in index.InactiveEntries())
        {
            var record = TransactionRecord(session, pair.Value, pair.Key);
            if (record is { TransactionId: not null } r) result.Add((pair.Key, pair.Value, r));
        }
        return result;
    }

    /// <summary>
    /// A key's record with the transaction that holds it: as the index keeps it, which is what this
    /// store last read or wrote (reading it from the token costs SoftHSM2 about as much as a wrap,
    /// and a transaction of a thousand keys asks for its keys' records many times).
    /// </summary>
    private KeyRecord? TransactionRecord(ISession session, KeyIndex.Entry entry, string label) =>
        entry.Key is null ? null : entry.Record ?? ReadRecord(session, entry.Handle, label);

    private KeyRecord? ReadRecord(ISession session, IObjectHandle handle, string label)
    {
        var id = Pkcs11Errors.Call("read a key's metadata", label,
            () => session.GetAttributeValue(handle, new List<CKA> { CKA.CKA_ID })[0]);
        return !id.CannotBeRead && KeyRecord.TryDecode(id.GetValueAsByteArray(), out var record) ? record : null;
    }

    /// <summary>Rewrites a key's metadata (its state) in place; the key itself is untouched.</summary>
    private void SetRecord(ISession session, KeyIndex index, string label, KeyIndex.Entry entry, KeyRecord record)
    {
        var attribute = Pkcs11Libraries.Factory.ObjectAttributeFactory.Create(CKA.CKA_ID, record.Encode());
        try
        {
            session.SetAttributeValue(entry.Handle, new List<IObjectAttribute> { attribute });
        }
        catch (Pkcs11Exception e) when (!HandleWasInvalidated(e))
        {
            throw Pkcs11Errors.Translate(e, "change a key's replication state", label);
        }
        finally
        {
            attribute.Dispose();
        }
        index.Remove(label);
        index.Add(label, new KeyIndex.Entry(entry.Handle, Describe(label, record), record));
    }

    private QuantumKeyInfo Describe(string label, KeyRecord record) =>
        new(label, record.KeyId, record.SizeBits, record.Source, record.Created, record.State, record.CheckValue, Settings.TokenLabel);

    private static KeyRecord RecordOf(QuantumKeyInfo key) =>
        new(key.KeyId, key.Source, key.Created, key.State, key.SizeBits, key.CheckValue);

    private static void CheckDistinct(IReadOnlyList<string> labels)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var label in labels)
        {
            KeyRules.CheckLabel(label);
            if (!seen.Add(label))
                throw new QKDLiteException(ErrorIds.DuplicateKeyLabel, QKDLiteErrorCategory.InvalidArgument,
                    $"Key label '{label}' appears twice in the request. Nothing was changed.", label);
        }
    }

    private QKDLiteException LabelTaken(string label, KeyRecord? record) =>
        record?.TransactionId is { } other
            ? InTransaction(label, other)
            : new QKDLiteException(ErrorIds.KeyLabelConflict, QKDLiteErrorCategory.ResourceExists,
                $"Key store '{Settings.TokenLabel}' already holds a key labelled '{label}'. Nothing was prepared.", label);

    private QKDLiteException InTransaction(string label, string? transactionId) =>
        new(ErrorIds.KeyInTransaction, QKDLiteErrorCategory.InvalidOperation,
            $"Key '{label}' in the key store '{Settings.TokenLabel}' is held by replication transaction '{transactionId}' until that transaction is committed or aborted. Nothing was changed.", label);
}
