using System.Management.Automation;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using QKDLite.Core.Replication;

namespace QKDLite.Commands;

/// <summary>Shows the replication transactions this node took part in, and the keys each still holds prepared.</summary>
[Cmdlet(VerbsCommon.Get, "QuantumKeyTransaction")]
[OutputType(typeof(KeyTransactionInfo))]
public sealed class GetQuantumKeyTransactionCommand : KeyStoreCmdlet
{
    /// <summary>Id of one transaction; all when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? TransactionId { get; set; }

    /// <summary>Only transactions that are not carried out yet: undecided, or decided with keys still held.</summary>
    [Parameter]
    public SwitchParameter InDoubt { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var store = KeyStore();
        var all = Terminating(() =>
        {
            using var ledger = ParticipantLedger.Open(ParticipantLedger.DefaultPath(QKDLitePaths.DataDirectory));
            return new ReplicationParticipant(store, ledger).Status(TransactionId);
        });
        foreach (var transaction in all)
        {
            if (InDoubt && transaction.Phase is TransactionPhase.Committed or TransactionPhase.Aborted && transaction.HeldKeys == 0) continue;
            WriteObject(transaction);
        }
        if (TransactionId is not null && all.Count == 0)
            WriteError(ToErrorRecord(new QKDLiteException(ErrorIds.TransactionNotFound, QKDLiteErrorCategory.ObjectNotFound,
                $"This node has no record of transaction '{TransactionId}' and holds no keys of it.", TransactionId)));
    }
}
