using System.Management.Automation;
using QKDLite.Core.TransportKeys;

namespace QKDLite.Commands;

/// <summary>
/// Starts an ML-KEM-1024 transport key transfer on the receiving node: returns the encapsulation key
/// to send to the peer; the decapsulation key stays in this node's key store.
/// </summary>
[Cmdlet(VerbsCommon.New, "TransportKeyRequest", SupportsShouldProcess = true)]
[OutputType(typeof(TransportKeyRequest))]
public sealed class NewTransportKeyRequestCommand : KeyStoreCmdlet
{
    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var store = KeyStore();
        if (!ShouldProcess($"key store '{store.Settings.TokenLabel}'", "Create an ML-KEM-1024 transport key request (replacing any pending one)")) return;
        WriteObject(Terminating(store.CreateTransportKeyRequest));
    }
}
