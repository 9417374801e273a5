namespace QKDLite.Core.Replication;

/// <summary>Where a replication transaction stands on one node. Phases only move forward; Committed and Aborted are final.</summary>
public enum TransactionPhase
{
    /// <summary>Recorded by the main node; the node has not confirmed its prepare yet.</summary>
    Started,
    /// <summary>The node holds the transaction's keys prepared: pending (invisible) or marked for deletion.</summary>
    Prepared,
    /// <summary>Decided and carried out: created keys are visible, deleted keys are gone.</summary>
    Committed,
    /// <summary>Decided and carried out: created keys are gone, keys marked for deletion are visible again.</summary>
    Aborted,
}
