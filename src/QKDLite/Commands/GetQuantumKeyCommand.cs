using System;
using System.Linq;
using System.Management.Automation;
using QKDLite.Completion;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;
using QKDLite.Core.KeyStore;
using QKDLite.Output;

namespace QKDLite.Commands;

/// <summary>Lists keys (metadata only) by keyID or label; key bytes only with -IncludeKeyMaterial.</summary>
[Cmdlet(VerbsCommon.Get, "QuantumKey", DefaultParameterSetName = ListSet)]
[OutputType(typeof(QuantumKeyInfo))]
[OutputType(typeof(QuantumKeyMaterial))]
public sealed class GetQuantumKeyCommand : KeyStoreCmdlet
{
    private const string ListSet = "List";
    private const string LabelSet = "Label";

    /// <summary>keyIDs to list; wildcards allowed. All keys when omitted.</summary>
    [Parameter(Position = 0, ParameterSetName = ListSet)]
    [ArgumentCompleter(typeof(KeyIdCompleter))]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? KeyId { get; set; }

    /// <summary>Labels of the keys to get.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LabelSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(KeyLabelCompleter))]
    [Alias("key_ID", "KeyLabel")]
    [ValidateNotNullOrEmpty]
    public string[]? Label { get; set; }

    /// <summary>Also returns the key bytes (as QuantumKeyMaterial objects). Handle with care.</summary>
    [Parameter]
    public SwitchParameter IncludeKeyMaterial { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var store = KeyStore();
        if (ParameterSetName == LabelSet)
        {
            foreach (var label in Label!)
            {
                PerItem(() =>
                {
                    var key = store.Find(label) ?? throw new QKDLiteException(ErrorIds.KeyNotFound, QKDLiteErrorCategory.ObjectNotFound,
                        $"No key labelled '{label}' is in the key store '{store.Settings.TokenLabel}'.", label);
                    Emit(store, key);
                });
            }
            return;
        }
        var keys = Terminating(() => store.List());
        if (KeyId is not null)
        {
            var patterns = KeyId.Select(k => new WildcardPattern(k, WildcardOptions.IgnoreCase)).ToList();
            keys = keys.Where(k => patterns.Any(p => p.IsMatch(k.KeyId))).ToList();
        }
        foreach (var key in keys)
        {
            if (IncludeKeyMaterial) PerItem(() => Emit(store, key));
            else WriteObject(key);
        }
    }

    private void Emit(IKeyStore store, QuantumKeyInfo key)
    {
        if (!IncludeKeyMaterial)
        {
            WriteObject(key);
            return;
        }
        WriteVerbose($"Reading the key material of '{key.Label}' by wrapping it under a one-time key.");
        WriteObject(new QuantumKeyMaterial(key, store.ReadKeyMaterial(key.Label)));
    }
}
