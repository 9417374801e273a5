namespace QKDLite.Core.KeyStore;

/// <summary>Which PKCS#11 key store to use: library, token, and (for SoftHSM2) its configuration file.</summary>
public sealed class KeyStoreSettings
{
    /// <summary>Creates the settings of a key store.</summary>
    public KeyStoreSettings(string libraryPath, string tokenLabel, string? softHsmConfig = null)
    {
        LibraryPath = libraryPath;
        TokenLabel = tokenLabel;
        SoftHsmConfig = softHsmConfig;
    }

    /// <summary>Path of the PKCS#11 library (for example /usr/lib/softhsm/libsofthsm2.so).</summary>
    public string LibraryPath { get; }
    /// <summary>Label of the token that holds the keys.</summary>
    public string TokenLabel { get; }
    /// <summary>SoftHSM2 configuration file to load the library with, or null for the library default.</summary>
    public string? SoftHsmConfig { get; }
}
