using System.Management.Automation;
using QKDLite.Completion;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;

namespace QKDLite.Commands;

/// <summary>Destroys keys in the session's key store, by label or from the pipeline.</summary>
[Cmdlet(VerbsCommon.Remove, "QuantumKey", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = InputObjectSet)]
[OutputType(typeof(QuantumKeyInfo))]
public sealed class RemoveQuantumKeyCommand : KeyStoreCmdlet
{
    private const string LabelSet = "Label";
    private const string InputObjectSet = "InputObject";

    /// <summary>Labels of the keys to destroy.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = LabelSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(KeyLabelCompleter))]
    [Alias("key_ID", "KeyLabel")]
    [ValidateNotNullOrEmpty]
    public string[]? Label { get; set; }

    /// <summary>Keys to destroy, as returned by Get-QuantumKey or New-QuantumKey.</summary>
    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public QuantumKeyInfo[]? InputObject { get; set; }

    /// <summary>Destroys without asking for confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Returns each destroyed key's description.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var store = KeyStore();
        BatchOperationsOn(store);
        if (InputObject is not null)
        {
            foreach (var key in InputObject)
            {
                // Labels are the same on every node: a key listed from one store must not destroy another store's copy.
                if (!string.Equals(key.TokenLabel, store.Settings.TokenLabel, System.StringComparison.Ordinal))
                {
                    PerItem(() => throw new QKDLiteException(ErrorIds.KeyFromAnotherStore, QKDLiteErrorCategory.InvalidArgument,
                        $"Key '{key.Label}' was listed from key store '{key.TokenLabel}', but this command works on '{store.Settings.TokenLabel}'. Use -TokenLabel '{key.TokenLabel}'. Nothing was removed.", key.Label));
                    continue;
                }
                Remove(key.Label);
            }
        }
        else
        {
            foreach (var label in Label!) Remove(label);
        }

        void Remove(string label)
        {
            if (!ShouldProcessUnlessForced(Force, $"key '{label}' in key store '{store.Settings.TokenLabel}'", "Destroy quantum key")) return;
            QuantumKeyInfo? removed = null;
            var succeeded = PerItem(() =>
            {
                removed = PassThru ? store.Find(label) : null;
                store.Remove(label);
            });
            if (succeeded && removed is not null) WriteObject(removed);
        }
    }
}
