using System;
using System.Linq;
using System.Threading.Tasks;
using System.Management.Automation;
using QKDLite.Completion;
using QKDLite.Core.Errors;
using QKDLite.Core.KeyBlocks;
using QKDLite.Core.Keys;
using QKDLite.Core.KeyStore;

namespace QKDLite.Commands;

/// <summary>Turns keys into key blocks: wrapped under the transport key inside the HSM, with an authenticated header.</summary>
[Cmdlet(VerbsData.Export, "QuantumKey", DefaultParameterSetName = InputObjectSet)]
[OutputType(typeof(KeyBlock))]
public sealed class ExportQuantumKeyCommand : KeyStoreCmdlet
{
    private const string InputObjectSet = "InputObject";
    private const string LabelSet = "Label";
    private const string KeyIdSet = "KeyId";
    private const string TransactionSet = "Transaction";
    private bool _transportKeyChecked;
    private Task<KeyBlock>? _inFlight;

    /// <summary>Keys to export, as returned by New-QuantumKey or Get-QuantumKey (with -TransactionId: keys it prepared, as New-QuantumKey -TransactionId returns them).</summary>
    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = TransactionSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public QuantumKeyInfo[]? InputObject { get; set; }

    /// <summary>Labels of the keys to export.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = LabelSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(KeyLabelCompleter))]
    [Alias("key_ID", "KeyLabel")]
    [ValidateNotNullOrEmpty]
    public string[]? Label { get; set; }

    /// <summary>Exports every key of this keyID.</summary>
    [Parameter(Mandatory = true, ParameterSetName = KeyIdSet)]
    [ArgumentCompleter(typeof(KeyIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string? KeyId { get; set; }

    /// <summary>Exports the keys this replication transaction holds pending (prepared by New-QuantumKey -TransactionId), for the other nodes' prepare: those from the pipeline, else all of them.</summary>
    [Parameter(Mandatory = true, ParameterSetName = TransactionSet)]
    [ValidateNotNullOrEmpty]
    public string? TransactionId { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var store = KeyStore();
        BatchOperationsOn(store);
        // Without a transport key nothing can be exported: say so once, not once per key.
        if (!_transportKeyChecked)
        {
            Terminating(() => store.GetTransportKey() ?? throw new QKDLiteException(ErrorIds.TransportKeyNotSet, QKDLiteErrorCategory.InvalidOperation,
                $"Key store '{store.Settings.TokenLabel}' has no transport key. Provision one with Set-TransportKey.", store.Settings.TokenLabel));
            _transportKeyChecked = true;
        }
        if (InputObject is not null)
        {
            foreach (var key in InputObject)
            {
                if (key.TokenLabel != store.Settings.TokenLabel)
                {
                    WriteInFlight();
                    PerItem(() => throw new QKDLiteException(ErrorIds.KeyFromAnotherStore, QKDLiteErrorCategory.InvalidArgument,
                        $"Key '{key.Label}' was listed from key store '{key.TokenLabel}', but this command works on '{store.Settings.TokenLabel}'. Use -TokenLabel '{key.TokenLabel}'.", key.Label));
                    continue;
                }
                if (TransactionId is not null) PerItem(() => WriteObject(store.ExportPrepared(TransactionId, key.Label)));
                else Export(store, key.Label);
            }
            return;
        }
        if (Label is not null)
        {
            foreach (var label in Label) Export(store, label);
            return;
        }
        if (TransactionId is not null)
        {
            var pending = Terminating(() => store.TransactionKeys(TransactionId)).Where(k => k.State == KeyState.Pending).OrderBy(k => k.Created);
            foreach (var key in pending) PerItem(() => WriteObject(store.ExportPrepared(TransactionId, key.Label)));
            return;
        }
        var keys = Terminating(() => store.List(KeyId));
        var progress = new ProgressRecord(2, "Exporting quantum keys", $"keyID {KeyId}");
        var done = 0;
        foreach (var key in keys.Where(k => string.Equals(k.KeyId, KeyId, System.StringComparison.OrdinalIgnoreCase)))
        {
            Export(store, key.Label);
            if (++done % 100 == 0)
            {
                progress.PercentComplete = 100 * done / keys.Count;
                WriteProgress(progress);
            }
        }
        progress.RecordType = ProgressRecordType.Completed;
        WriteProgress(progress);
    }

    /// <inheritdoc />
    protected override void EndProcessing() => WriteInFlight();

    /// <inheritdoc />
    protected override void Settle()
    {
        // Stopped or failed: the key being wrapped is not written, but it must finish before the batch ends.
        try
        {
            _inFlight?.Wait();
        }
        catch (AggregateException)
        {
        }
        _inFlight = null;
    }

    /// <summary>
    /// Wraps <paramref name="label"/> on a worker thread and writes the block of the key before it:
    /// while the next command of the pipeline (Import-QuantumKey into another HSM, typically) works
    /// on one block, the next key is being wrapped, so both HSMs are busy at once. Blocks and errors
    /// come out in the order of the keys.
    /// </summary>
    private void Export(IKeyStore store, string label)
    {
        var next = Task.Run(() => store.Export(label));
        WriteInFlight();
        _inFlight = next;
    }

    private void WriteInFlight()
    {
        if (_inFlight is not { } inFlight) return;
        _inFlight = null;
        // GetResult rethrows the export's own exception (a QKDLiteException becomes this key's error).
        PerItem(() => WriteObject(inFlight.GetAwaiter().GetResult()));
    }
}
