namespace QKDLite.Core.Replication;

/// <summary>What a replication transaction does to its keys on every node.</summary>
public enum ReplicationOperation
{
    /// <summary>New keys made on the main node (QRNG or classical: sent as key blocks; QKD: each node takes them from its own KME).</summary>
    Create,
    /// <summary>Keys that arrived on the main node as key blocks, sent on to the other nodes.</summary>
    Import,
    /// <summary>Keys removed from every node.</summary>
    Delete,
}
