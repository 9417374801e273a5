using System.Management.Automation;
using QKDLite.Core.Replication;

namespace QKDLite.Commands;

/// <summary>Replication, abort: the transaction's pending keys are destroyed, the keys it was deleting are visible again.</summary>
[Cmdlet(VerbsCommon.Undo, "QuantumKeyTransaction", SupportsShouldProcess = true)]
[OutputType(typeof(KeyTransactionInfo))]
public sealed class UndoQuantumKeyTransactionCommand : KeyTransactionCmdlet
{
    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var store = KeyStore();
        if (!ShouldProcess($"transaction '{TransactionId}' in key store '{store.Settings.TokenLabel}'", "Abort")) return;
        WriteObject(WithParticipant(store, p => p.Abort(TransactionId!)));
    }
}
