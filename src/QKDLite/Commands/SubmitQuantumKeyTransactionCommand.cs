using System.Collections.Generic;
using System.Management.Automation;
using QKDLite.Core.Replication;

namespace QKDLite.Commands;

/// <summary>
/// Replication, prepare: stores the keys of key blocks as pending (invisible), or hides keys that are
/// to be deleted, under a transaction that Complete-QuantumKeyTransaction or
/// Undo-QuantumKeyTransaction then decides. Blocks from the whole pipeline are prepared together.
/// </summary>
[Cmdlet(VerbsLifecycle.Submit, "QuantumKeyTransaction", SupportsShouldProcess = true, DefaultParameterSetName = ImportSet)]
[OutputType(typeof(KeyTransactionInfo))]
public sealed class SubmitQuantumKeyTransactionCommand : KeyTransactionCmdlet
{
    private const string ImportSet = "Import";
    private const string DeleteSet = "Delete";
    private readonly List<string> _items = new();

    /// <summary>Key blocks (KeyBlock objects or their text) whose keys the transaction imports.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ImportSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Text")]
    [ValidateNotNullOrEmpty]
    public string[]? KeyBlock { get; set; }

    /// <summary>Labels of the keys the transaction deletes.</summary>
    [Parameter(Mandatory = true, ParameterSetName = DeleteSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Label")]
    [ValidateNotNullOrEmpty]
    public string[]? DeleteLabel { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord() => _items.AddRange(KeyBlock ?? DeleteLabel!);

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var store = KeyStore();
        var deleting = ParameterSetName == DeleteSet;
        var target = $"{_items.Count} key(s) in key store '{store.Settings.TokenLabel}' for transaction '{TransactionId}'";
        if (!ShouldProcess(target, deleting ? "Prepare deletion" : "Prepare import")) return;
        var info = WithParticipant(store, p => deleting ? p.PrepareDelete(TransactionId!, _items) : p.PrepareImport(TransactionId!, _items));
        WriteObject(info);
    }
}
