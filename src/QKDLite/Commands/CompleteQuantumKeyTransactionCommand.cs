using System.Management.Automation;
using QKDLite.Core.Replication;

namespace QKDLite.Commands;

/// <summary>Replication, commit: the transaction's pending keys become visible, the keys it deletes are destroyed.</summary>
[Cmdlet(VerbsLifecycle.Complete, "QuantumKeyTransaction", SupportsShouldProcess = true)]
[OutputType(typeof(KeyTransactionInfo))]
public sealed class CompleteQuantumKeyTransactionCommand : KeyTransactionCmdlet
{
    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var store = KeyStore();
        if (!ShouldProcess($"transaction '{TransactionId}' in key store '{store.Settings.TokenLabel}'", "Commit")) return;
        WriteObject(WithParticipant(store, p => p.Commit(TransactionId!)));
    }
}
