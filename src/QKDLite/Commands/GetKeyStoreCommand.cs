using System.Management.Automation;
using QKDLite.Core.KeyStore;

namespace QKDLite.Commands;

/// <summary>Shows the key store this session works on.</summary>
[Cmdlet(VerbsCommon.Get, "KeyStore")]
[OutputType(typeof(KeyStoreInfo))]
public sealed class GetKeyStoreCommand : KeyStoreCmdlet
{
    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var store = KeyStore();
        WriteObject(Terminating(store.Describe));
    }
}
