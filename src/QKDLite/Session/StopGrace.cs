namespace QKDLite.Session;

/// <summary>How much longer than its own shutdown timeout a stopping server is given before it is killed.</summary>
internal static class StopGrace
{
    /// <summary>Room for the runtime to exit and the state file to be deleted after the requests in flight are done.</summary>
    public const int MarginSeconds = 5;
}
