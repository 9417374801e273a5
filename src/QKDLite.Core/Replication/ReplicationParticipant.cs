using System;
using System.Collections.Generic;
using System.Linq;
using QKDLite.Core.Errors;
using QKDLite.Core.KeyBlocks;
using QKDLite.Core.Keys;
using QKDLite.Core.KeyStore;
using QKDLite.Core.Sources;

namespace QKDLite.Core.Replication;

/// <summary>
/// One node's side of two-phase replication: the key store's prepare, commit and abort, guarded by
/// the node's own durable record (<see cref="ParticipantLedger"/>). The rules:
/// a prepare is recorded before keys are stored, and refused once the transaction is decided or a
/// label was deleted; a decision is recorded durably before the key store carries it out, so that a
/// crash in between is finished by repeating the decision and never reverses it; the opposite
/// decision is refused. Every call can be repeated safely.
/// </summary>
public sealed class ReplicationParticipant
{
    private readonly IKeyStore _store;
    private readonly ParticipantLedger _ledger;

    /// <summary>A participant for <paramref name="store"/>, keeping its record in <paramref name="ledger"/>.</summary>
    public ReplicationParticipant(IKeyStore store, ParticipantLedger ledger)
    {
        _store = store;
        _ledger = ledger;
    }

    private string Token => _store.Settings.TokenLabel;

    /// <summary>Prepares the keys of <paramref name="blockTexts"/> as pending under <paramref name="transactionId"/>.</summary>
    public KeyTransactionInfo PrepareImport(string transactionId, IReadOnlyList<string> blockTexts)
    {
        TransactionIds.Check(transactionId);
        if (blockTexts is null || blockTexts.Count == 0)
            throw new QKDLiteException(ErrorIds.KeyCountOutOfRange, QKDLiteErrorCategory.InvalidArgument, "No key blocks were given. Nothing was prepared.", transactionId);
        // The labels are read from the (not yet verified) headers only to be recorded; the key store verifies each block.
        var labels = blockTexts.Select(b => KeyBlockCodec.Parse(b).Header.Label).ToList();
        return Prepare(transactionId, ReplicationOperation.Import, labels, () =>
        {
            // One batch: other processes' changes are read once and this node's published once, not
            // once per key (each is a token access costing about as much as the key's own import).
            using var batch = _store.DeferChangeNotification();
            foreach (var block in blockTexts) _store.PrepareImport(transactionId, block);
        });
    }

    /// <summary>Prepares new keys (labels given) from <paramref name="source"/> as pending: QKD keys that this node takes from its own KME.</summary>
    public KeyTransactionInfo PrepareCreate(string transactionId, NewKeysRequest request, IKeyMaterialSource source)
    {
        TransactionIds.Check(transactionId);
        var labels = request.Labels ?? throw new QKDLiteException(ErrorIds.KeyLabelCountMismatch, QKDLiteErrorCategory.InvalidArgument,
            "A replicated create names its labels. Nothing was prepared.", transactionId);
        return Prepare(transactionId, ReplicationOperation.Create, labels, () => _store.PrepareCreate(transactionId, request, source));
    }

    /// <summary>Prepares the deletion of <paramref name="labels"/>: the keys are hidden until the decision.</summary>
    public KeyTransactionInfo PrepareDelete(string transactionId, IReadOnlyList<string> labels)
    {
        TransactionIds.Check(transactionId);
        return Prepare(transactionId, ReplicationOperation.Delete, labels, () => _store.PrepareDelete(transactionId, labels));
    }

    private KeyTransactionInfo Prepare(string transactionId, ReplicationOperation operation, IReadOnlyList<string> labels, Action prepareKeys)
    {
        var isNew = _ledger.RecordPrepared(Token, transactionId, operation, labels);
        try
        {
            prepareKeys();
        }
        catch (QKDLiteException) when (isNew)
        {
            // This node never said yes to this transaction, so it may abort it by itself: nothing is left behind.
            try
            {
                Abort(transactionId);
            }
            catch (QKDLiteException)
            {
                // The prepare's own error is the one to report; the coordinator's abort finishes the cleanup.
            }
            throw;
        }
        // An abort that arrived while the keys were being stored (a late or repeated prepare racing
        // the decision) must win: carry it out again now that the keys are there.
        var record = _ledger.Get(Token, transactionId)!;
        if (record.IsDecided)
        {
            Carry(transactionId, record.Phase);
            throw ParticipantLedger.AlreadyDecided(transactionId, record.Phase, "a prepare for it is refused");
        }
        return Describe(record);
    }

    /// <summary>Commits: pending keys become visible, keys marked for deletion are destroyed. Repeating it finishes an interrupted commit.</summary>
    public KeyTransactionInfo Commit(string transactionId) => Decide(transactionId, TransactionPhase.Committed);

    /// <summary>Aborts: pending keys are destroyed, keys marked for deletion are visible again. Also for a transaction never prepared here, so that a late prepare is refused.</summary>
    public KeyTransactionInfo Abort(string transactionId) => Decide(transactionId, TransactionPhase.Aborted);

    private KeyTransactionInfo Decide(string transactionId, TransactionPhase decision)
    {
        TransactionIds.Check(transactionId);
        var record = _ledger.RecordDecision(Token, transactionId, decision);
        Carry(transactionId, decision);
        return Describe(record);
    }

    private void Carry(string transactionId, TransactionPhase decision)
    {
        if (decision == TransactionPhase.Committed) _store.CommitPrepared(transactionId);
        else _store.AbortPrepared(transactionId);
    }

    /// <summary>
    /// The transactions recorded on this node (or one of them), and transactions that hold prepared
    /// keys without a record, each with the number of keys it still holds.
    /// </summary>
    public IReadOnlyList<KeyTransactionInfo> Status(string? transactionId = null)
    {
        if (transactionId is not null)
        {
            TransactionIds.Check(transactionId);
            var record = _ledger.Get(Token, transactionId);
            var held = _store.TransactionKeys(transactionId).Count;
            if (record is null && held == 0) return Array.Empty<KeyTransactionInfo>();
            return new[] { record is null ? Unrecorded(transactionId, held) : Describe(record, held) };
        }
        var records = _ledger.List(Token);
        var holding = _store.PreparedTransactionIds();
        var result = records.Select(r => Describe(r, holding.Contains(r.Id) ? _store.TransactionKeys(r.Id).Count : 0)).ToList();
        var recorded = new HashSet<string>(records.Select(r => r.Id), StringComparer.Ordinal);
        result.AddRange(holding.Where(id => !recorded.Contains(id)).Select(id => Unrecorded(id, _store.TransactionKeys(id).Count)));
        return result;
    }

    private KeyTransactionInfo Describe(ParticipantLedger.Record record) => Describe(record, _store.TransactionKeys(record.Id).Count);

    private KeyTransactionInfo Describe(ParticipantLedger.Record record, int held) =>
        new(record.Id, record.Operation, record.Phase, record.Labels, held, Token, record.Updated);

    private KeyTransactionInfo Unrecorded(string transactionId, int held) =>
        new(transactionId, null, null, _store.TransactionKeys(transactionId).Select(k => k.Label).ToList(), held, Token, null);
}
