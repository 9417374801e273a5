namespace QKDLite.Core.Keys;

/// <summary>Replication state of a key on this node.</summary>
public enum KeyState
{
    /// <summary>Visible: listed, counted and deliverable.</summary>
    Active,
    /// <summary>Prepared by replication but not committed: invisible to listing, counting and delivery.</summary>
    Pending,
    /// <summary>
    /// Prepared for deletion by replication: invisible like a pending key; destroyed when the deletion
    /// commits, active again when it aborts.
    /// </summary>
    Deleting,
}
