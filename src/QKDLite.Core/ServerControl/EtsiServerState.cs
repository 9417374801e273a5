namespace QKDLite.Core.ServerControl;

/// <summary>Whether a QKDLite_ETSI process is serving.</summary>
public enum EtsiServerState
{
    /// <summary>The process runs and its state file names it.</summary>
    Running,
    /// <summary>The process has ended.</summary>
    Stopped,
}
