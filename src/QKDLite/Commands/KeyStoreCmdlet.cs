using System.Management.Automation;
using QKDLite.Completion;
using QKDLite.Core.KeyStore;

namespace QKDLite.Commands;

/// <summary>A cmdlet that works on one key store: the session's default, or the connected one named by -TokenLabel.</summary>
public abstract class KeyStoreCmdlet : QKDLiteCmdlet, System.IDisposable
{
    private System.IDisposable? _deferral;
    /// <summary>Token label of a key store connected in this session; the default store when omitted.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(TokenLabelCompleter))]
    [ValidateNotNullOrEmpty]
    public string? TokenLabel { get; set; }

    /// <summary>The key store this cmdlet works on.</summary>
    internal IKeyStore KeyStore() => RequireKeyStore(TokenLabel);

    /// <summary>
    /// Publishes this pipeline's changes to other processes once, when the pipeline ends, instead of
    /// once per key (each publication is a token write).
    /// </summary>
    internal void DeferChangesOf(IKeyStore store) => _deferral ??= store.DeferChangeNotification();

    /// <inheritdoc />
    public void Dispose()
    {
        _deferral?.Dispose();
        _deferral = null;
    }
}
