using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using QKDLite.Core.Pkcs11;

namespace QKDLite.Core.KeyStore;

/// <summary>
/// The node's own SoftHSM2 key store: a token directory and a SoftHSM2 configuration inside
/// QKDLite's data directory, so nothing system-wide is touched. Tokens are initialised through
/// PKCS#11 (C_InitToken, C_InitPIN) rather than softhsm2-util, so PINs never reach a command line.
/// </summary>
public static class LocalKeyStore
{
    private static readonly string[] SoftHsmCandidates =
    {
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
        "/opt/homebrew/lib/softhsm/libsofthsm2.so",
        @"C:\SoftHSM2\lib\softhsm2-x64.dll",
    };

    /// <summary>The SoftHSM2 library on this machine.</summary>
    public static string FindSoftHsmLibrary()
    {
        var found = SoftHsmCandidates.FirstOrDefault(File.Exists);
        if (found is not null) return found;
        var hint = RuntimeInformation.IsOSPlatform(OSPlatform.Windows)
            ? "Install SoftHSM2 for Windows"
            : "Install it with: sudo apt-get install -y softhsm2";
        throw new QKDLiteException(ErrorIds.KeyStoreLibraryNotFound, QKDLiteErrorCategory.NotInstalled,
            $"SoftHSM2 was not found ({hint}), or name a PKCS#11 library with -Library.", null);
    }

    /// <summary>
    /// Creates (if needed) the token directory and SoftHSM2 configuration in <paramref name="dataDirectory"/>
    /// and initialises a new token. Fails with KeyStoreExists when a token with that label exists.
    /// </summary>
    public static KeyStoreSettings Initialize(string dataDirectory, string tokenLabel, byte[] userPin, byte[] securityOfficerPin, string? libraryPath = null)
    {
        CheckTokenLabel(tokenLabel);
        CheckNewPin(userPin);
        var library = libraryPath ?? FindSoftHsmLibrary();
        var directory = Path.GetFullPath(dataDirectory);
        var tokens = Path.Combine(directory, "tokens");
        var config = Path.Combine(directory, "softhsm2.conf");
        Directory.CreateDirectory(directory);
        OwnerOnlyPermissions.SetOwnerOnlyDirectory(directory);
        Directory.CreateDirectory(tokens);
        OwnerOnlyPermissions.SetOwnerOnlyDirectory(tokens);
        if (!File.Exists(config))
        {
            File.WriteAllText(config,
                "# SoftHSM2 configuration of this QKDLite node's local key store.\n" +
                $"directories.tokendir = {tokens}\n" +
                "objectstore.backend = file\n" +
                "log.level = ERROR\n" +
                "slots.removable = false\n");
        }

        var pkcs11 = Pkcs11Libraries.Get(library, config);
        var slots = Pkcs11Errors.Call("list tokens", tokenLabel, () => pkcs11.GetSlotList(SlotsType.WithTokenPresent));
        ISlot? free = null;
        foreach (var slot in slots)
        {
            var info = slot.GetTokenInfo();
            if (!info.TokenFlags.TokenInitialized) { free ??= slot; continue; }
            if (info.Label.Trim() == tokenLabel)
                throw new QKDLiteException(ErrorIds.KeyStoreExists, QKDLiteErrorCategory.ResourceExists,
                    $"A token labelled '{tokenLabel}' already exists in '{tokens}'. Connect to it with Connect-KeyStore, or choose another label.", tokenLabel);
        }
        if (free is null)
            throw new QKDLiteException(ErrorIds.KeyStoreOperationFailed, QKDLiteErrorCategory.ResourceUnavailable,
                "SoftHSM2 offers no free slot for a new token.", tokenLabel);

        var label = Encoding.UTF8.GetBytes(tokenLabel);
        Pkcs11Errors.Call("initialise the token", tokenLabel, () => free.InitToken(securityOfficerPin, label));
        // SoftHSM2 renumbers slots after C_InitToken: find the new token again by its label.
        var created = Pkcs11KeyStore.FindSlot(pkcs11, tokenLabel);
        using (var session = Pkcs11Errors.Call("open a session", tokenLabel, () => created.OpenSession(SessionType.ReadWrite)))
        {
            Pkcs11Errors.Call("log in as security officer", tokenLabel, () => session.Login(CKU.CKU_SO, securityOfficerPin));
            try
            {
                Pkcs11Errors.Call("set the user PIN", tokenLabel, () => session.InitPin(userPin));
            }
            finally
            {
                session.Logout();
            }
        }
        return new KeyStoreSettings(library, tokenLabel, config);
    }

    /// <summary>
    /// Throws KeyStoreExists when the data directory already has a token with this label, before
    /// anything (such as a new PIN file) is written for it.
    /// </summary>
    public static void CheckTokenAbsent(string dataDirectory, string tokenLabel, string? libraryPath = null)
    {
        var config = SoftHsmConfigFile(dataDirectory);
        if (!File.Exists(config)) return;
        var library = libraryPath ?? FindSoftHsmLibrary();
        if (Pkcs11KeyStore.TokenLabels(library, config).Contains(tokenLabel))
            throw new QKDLiteException(ErrorIds.KeyStoreExists, QKDLiteErrorCategory.ResourceExists,
                $"A token labelled '{tokenLabel}' already exists in '{Path.Combine(Path.GetFullPath(dataDirectory), "tokens")}'. Connect to it with Connect-KeyStore, or choose another label.", tokenLabel);
    }

    /// <summary>Throws unless the label is 1-32 bytes of printable characters without path separators (it also names the PIN file).</summary>
    public static void CheckTokenLabel(string? tokenLabel)
    {
        var valid = !string.IsNullOrWhiteSpace(tokenLabel) && Encoding.UTF8.GetByteCount(tokenLabel) <= 32
            && tokenLabel!.Trim() == tokenLabel && tokenLabel.IndexOfAny(new[] { '/', '\\', ':' }) < 0 && tokenLabel != "." && tokenLabel != ".."
            && !tokenLabel.Any(char.IsControl);
        if (!valid)
            throw new QKDLiteException(ErrorIds.TokenLabelInvalid, QKDLiteErrorCategory.InvalidArgument,
                $"Token label '{tokenLabel}' is not valid: use 1 to 32 bytes of printable characters, without '/', '\\' or ':'.", tokenLabel);
    }

    /// <summary>Throws unless a new PIN is 4 to 255 bytes long.</summary>
    public static void CheckNewPin(byte[] pin)
    {
        if (pin.Length < 4 || pin.Length > 255)
            throw new QKDLiteException(ErrorIds.PinLengthInvalid, QKDLiteErrorCategory.InvalidArgument,
                "A new PIN must be 4 to 255 characters long.", null);
    }

    /// <summary>The SoftHSM2 configuration file of a data directory.</summary>
    public static string SoftHsmConfigFile(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), "softhsm2.conf");
}
