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
    /// Makes this pipeline one batch on the store: its changes are published to other processes once,
    /// when the pipeline ends, and other processes' changes are read once, at its first key, instead
    /// of once per key (each is a token access that costs more than a key's own work).
    /// </summary>
    internal void BatchOperationsOn(IKeyStore store) => _deferral ??= store.DeferChangeNotification();

    /// <inheritdoc />
    public void Dispose()
    {
        Settle();
        _deferral?.Dispose();
        _deferral = null;
    }

    /// <summary>Waits for work this command still has running on the store, before its batch ends.</summary>
    protected virtual void Settle()
    {
    }
}
