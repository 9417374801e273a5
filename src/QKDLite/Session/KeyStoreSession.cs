using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using QKDLite.Core.KeyStore;

namespace QKDLite.Session;

/// <summary>
/// The key stores connected in this PowerShell process, by token label, and the default one (the
/// last connected). Cmdlets work on the default store unless given -TokenLabel. When none is
/// connected, the first cmdlet that needs one connects to the store in the node configuration file.
/// </summary>
internal static class KeyStoreSession
{
    private static readonly object Gate = new();
    private static readonly Dictionary<string, IKeyStore> Connected = new(StringComparer.Ordinal);
    private static readonly List<string> Order = new();
    private static IKeyStore? _current;

    /// <summary>The default store, or null (never connects).</summary>
    public static IKeyStore? Current
    {
        get { lock (Gate) return _current; }
    }

    /// <summary>Token labels of the connected stores.</summary>
    public static IReadOnlyList<string> ConnectedLabels
    {
        get { lock (Gate) return Connected.Keys.ToList(); }
    }

    /// <summary>Adds a connected store and makes it the default.</summary>
    public static void Set(IKeyStore store)
    {
        lock (Gate)
        {
            Connected[store.Settings.TokenLabel] = store;
            Order.Remove(store.Settings.TokenLabel);
            Order.Add(store.Settings.TokenLabel);
            _current = store;
        }
    }

    /// <summary>Forgets one connected store (or all, with null); returns the labels forgotten.</summary>
    public static IReadOnlyList<string> Clear(string? tokenLabel = null)
    {
        lock (Gate)
        {
            var labels = tokenLabel is null ? Connected.Keys.ToList() : Connected.ContainsKey(tokenLabel) ? new List<string> { tokenLabel } : new List<string>();
            foreach (var label in labels)
            {
                Connected.Remove(label);
                Order.Remove(label);
            }
            // The most recently connected store that is left becomes the default.
            if (_current is not null && !Connected.ContainsKey(_current.Settings.TokenLabel))
                _current = Order.Count == 0 ? null : Connected[Order[Order.Count - 1]];
            return labels;
        }
    }

    /// <summary>The connected store with this token label, or the default store (connecting from the node configuration if needed).</summary>
    public static IKeyStore Require(PSCmdlet cmdlet, string? tokenLabel = null)
    {
        if (tokenLabel is not null)
        {
            lock (Gate)
            {
                if (Connected.TryGetValue(tokenLabel, out var named)) return named;
            }
            throw new QKDLiteException(ErrorIds.KeyStoreNotConnected, QKDLiteErrorCategory.InvalidOperation,
                $"Key store '{tokenLabel}' is not connected in this session. Connect it with Connect-KeyStore (or create it with Initialize-KeyStore).", tokenLabel);
        }
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
