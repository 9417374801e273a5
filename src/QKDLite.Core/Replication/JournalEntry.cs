using System;
using System.Collections.Generic;
using System.Linq;

namespace QKDLite.Core.Replication;

/// <summary>A replication transaction as the main node's journal records it.</summary>
public sealed class JournalEntry
{
    /// <summary>Describes a journalled transaction.</summary>
    public JournalEntry(string transactionId, ReplicationOperation operation, string tokenLabel, string? keyId, IReadOnlyList<string> labels,
        TransactionPhase? decision, bool finished, DateTimeOffset created, DateTimeOffset updated, IReadOnlyList<JournalParticipant> participants)
    {
        TransactionId = transactionId;
        Operation = operation;
        TokenLabel = tokenLabel;
        KeyId = keyId;
        Labels = labels;
        Decision = decision;
        Finished = finished;
        Created = created;
        Updated = updated;
        Participants = participants;
    }

    /// <summary>The transaction id, the same on every node.</summary>
    public string TransactionId { get; }
    /// <summary>What the transaction does.</summary>
    public ReplicationOperation Operation { get; }
    /// <summary>The main node's key store.</summary>
    public string TokenLabel { get; }
    /// <summary>keyID of the keys (create and import), else null.</summary>
    public string? KeyId { get; }
    /// <summary>Labels of the keys, recorded before any key is made or changed.</summary>
    public IReadOnlyList<string> Labels { get; }
    /// <summary>Committed or Aborted once decided (never changes after), null while undecided.</summary>
    public TransactionPhase? Decision { get; }
    /// <summary>True once every node has carried out the decision.</summary>
    public bool Finished { get; }
    /// <summary>When the transaction was journalled (UTC).</summary>
    public DateTimeOffset Created { get; }
    /// <summary>When a step was last journalled (UTC).</summary>
    public DateTimeOffset Updated { get; }
    /// <summary>Every node of the transaction (the main node as "local") and its phase.</summary>
    public IReadOnlyList<JournalParticipant> Participants { get; }

    /// <summary>Whether every node has reached <paramref name="phase"/>.</summary>
    public bool All(TransactionPhase phase) => Participants.All(p => p.Phase == phase);

    /// <inheritdoc />
    public override string ToString() => TransactionId;
}

/// <summary>One node's phase in a journalled transaction.</summary>
public sealed class JournalParticipant
{
    /// <summary>Describes a node's phase.</summary>
    public JournalParticipant(string node, TransactionPhase phase, string? error, DateTimeOffset updated)
    {
        Node = node;
        Phase = phase;
        Error = error;
        Updated = updated;
    }

    /// <summary>The node ("local" for the main node itself).</summary>
    public string Node { get; }
    /// <summary>The last phase the node confirmed.</summary>
    public TransactionPhase Phase { get; }
    /// <summary>The last error the node answered with, if any.</summary>
    public string? Error { get; }
    /// <summary>When the phase or error was journalled (UTC).</summary>
    public DateTimeOffset Updated { get; }
}
