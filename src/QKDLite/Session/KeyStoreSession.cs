using System;
using System.IO;
using System.Management.Automation;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using QKDLite.Core.KeyStore;

namespace QKDLite.Session;

/// <summary>
/// The key store selected for this PowerShell process. When none is selected, the first cmdlet
/// that needs one connects to the store in the node configuration file.
/// </summary>
internal static class KeyStoreSession
{
    private static readonly object Gate = new();
    private static IKeyStore? _current;

    /// <summary>The selected store, or null (never connects).</summary>
    public static IKeyStore? Current
    {
        get { lock (Gate) return _current; }
    }

    public static void Set(IKeyStore store)
    {
        lock (Gate) _current = store;
    }

    public static void Clear()
    {
        lock (Gate) _current = null;
    }

    /// <summary>The selected store, connecting from the node configuration first if needed.</summary>
    public static IKeyStore Require(PSCmdlet cmdlet)
    {
        var current = Current;
        if (current is not null) return current;
        var path = QKDLitePaths.DefaultConfigurationFile;
        if (!File.Exists(path))
            throw new QKDLiteException(ErrorIds.KeyStoreNotConnected, QKDLiteErrorCategory.InvalidOperation,
                $"No key store is selected and there is no node configuration at '{path}'. Run Initialize-KeyStore to create the local key store, or Connect-KeyStore to select one.", path);
        var configuration = NodeConfiguration.Load(path);
        if (configuration.KeyStore is null)
            throw new QKDLiteException(ErrorIds.KeyStoreNotConnected, QKDLiteErrorCategory.InvalidOperation,
                $"The node configuration '{path}' names no key store. Run Connect-KeyStore -Save to select one.", path);
        var store = Connect(cmdlet, configuration.KeyStore, pin: null, pinFile: null, pinVariable: null);
        Set(store);
        return store;
    }

    /// <summary>Opens a store, taking the PIN from the first source given: parameter, file, variable, configuration, prompt.</summary>
    public static IKeyStore Connect(PSCmdlet cmdlet, KeyStoreConfiguration configuration, System.Security.SecureString? pin, string? pinFile, string? pinVariable)
    {
        // Options given on this call win over those recorded in the configuration.
        var explicitGiven = pin is not null || pinFile is not null || pinVariable is not null;
        var pinBytes = explicitGiven
            ? PinInput.Resolve(cmdlet, pin, pinFile, pinVariable, $"PIN of key store '{configuration.TokenLabel}'")
            : PinInput.Resolve(cmdlet, null, configuration.PinFile, configuration.PinEnvironmentVariable, $"PIN of key store '{configuration.TokenLabel}'");
        try
        {
            return Pkcs11KeyStore.Open(configuration.ToSettings(), pinBytes);
        }
        finally
        {
            Array.Clear(pinBytes, 0, pinBytes.Length);
        }
    }
}
