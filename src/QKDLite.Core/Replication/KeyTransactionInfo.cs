using System;
using System.Collections.Generic;

namespace QKDLite.Core.Replication;

/// <summary>A replication transaction as one node sees it: its own durable record, and the keys it still holds prepared.</summary>
public sealed class KeyTransactionInfo
{
    /// <summary>Describes a transaction on this node.</summary>
    public KeyTransactionInfo(string transactionId, ReplicationOperation? operation, TransactionPhase? phase, IReadOnlyList<string> labels, int heldKeys, string tokenLabel, DateTimeOffset? updated)
    {
        TransactionId = transactionId;
        Operation = operation;
        Phase = phase;
        Labels = labels;
        HeldKeys = heldKeys;
        TokenLabel = tokenLabel;
        Updated = updated;
    }

    /// <summary>The transaction id, the same on every node.</summary>
    public string TransactionId { get; }
    /// <summary>What the transaction does; null when this node holds prepared keys of it but has no record.</summary>
    public ReplicationOperation? Operation { get; }
    /// <summary>Prepared, Committed or Aborted on this node; null when it has no record.</summary>
    public TransactionPhase? Phase { get; }
    /// <summary>Labels of the keys the transaction concerns.</summary>
    public IReadOnlyList<string> Labels { get; }
    /// <summary>Keys still held prepared (pending or marked for deletion) in the key store; 0 once the decision is carried out.</summary>
    public int HeldKeys { get; }
    /// <summary>Label of the token whose keys the transaction concerns.</summary>
    public string TokenLabel { get; }
    /// <summary>When this node last recorded a step of the transaction (UTC).</summary>
    public DateTimeOffset? Updated { get; }

    /// <inheritdoc />
    public override string ToString() => TransactionId;
}
