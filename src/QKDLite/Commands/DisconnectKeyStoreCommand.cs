using System.Management.Automation;
using QKDLite.Completion;
using QKDLite.Session;

namespace QKDLite.Commands;

/// <summary>Forgets a key store connected in this session (all of them when no token label is given).</summary>
[Cmdlet(VerbsCommunications.Disconnect, "KeyStore")]
[OutputType(typeof(void))]
public sealed class DisconnectKeyStoreCommand : QKDLiteCmdlet
{
    /// <summary>Token label of the store to forget; all connected stores when omitted.</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(TokenLabelCompleter))]
    [ValidateNotNullOrEmpty]
    public string? TokenLabel { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        foreach (var label in KeyStoreSession.Clear(TokenLabel)) WriteVerbose($"Disconnected from key store '{label}'.");
    }
}
