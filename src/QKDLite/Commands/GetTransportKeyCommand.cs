using System.Management.Automation;
using QKDLite.Core.Errors;
using QKDLite.Core.TransportKeys;

namespace QKDLite.Commands;

/// <summary>Shows the transport key's label, creation time and check value, never its bytes.</summary>
[Cmdlet(VerbsCommon.Get, "TransportKey")]
[OutputType(typeof(TransportKeyInfo))]
public sealed class GetTransportKeyCommand : KeyStoreCmdlet
{
    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var store = KeyStore();
        var info = Terminating(store.GetTransportKey);
        if (info is not null)
        {
            WriteObject(info);
            return;
        }
        WriteError(ToErrorRecord(new QKDLiteException(ErrorIds.TransportKeyNotSet, QKDLiteErrorCategory.ObjectNotFound,
            $"Key store '{store.Settings.TokenLabel}' has no transport key. Provision one with Set-TransportKey.", store.Settings.TokenLabel)));
    }
}
