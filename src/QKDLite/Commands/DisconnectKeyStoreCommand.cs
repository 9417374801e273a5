using System.Management.Automation;
using QKDLite.Session;

namespace QKDLite.Commands;

/// <summary>Forgets the key store selected for this session.</summary>
[Cmdlet(VerbsCommunications.Disconnect, "KeyStore")]
[OutputType(typeof(void))]
public sealed class DisconnectKeyStoreCommand : QKDLiteCmdlet
{
    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var current = KeyStoreSession.Current;
        KeyStoreSession.Clear();
        if (current is not null) WriteVerbose($"Disconnected from key store '{current.Settings.TokenLabel}'.");
    }
}
