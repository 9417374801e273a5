using System;
using System.Management.Automation;
using QKDLite.Core.Configuration;
using QKDLite.Core.KeyStore;
using QKDLite.Core.Replication;

namespace QKDLite.Commands;

/// <summary>A cmdlet that takes part in replication on this node: the key store plus the node's own transaction record.</summary>
public abstract class KeyTransactionCmdlet : KeyStoreCmdlet
{
    /// <summary>Id of the replication transaction, the same on every node.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? TransactionId { get; set; }

    /// <summary>Runs <paramref name="step"/> with this node's participant (key store and record in the node's data directory).</summary>
    internal T WithParticipant<T>(IKeyStore store, Func<ReplicationParticipant, T> step) => Terminating(() =>
    {
        using var ledger = ParticipantLedger.Open(ParticipantLedger.DefaultPath(QKDLitePaths.DataDirectory));
        return step(new ReplicationParticipant(store, ledger));
    });
}
