namespace QKDLite.Core.KeyStore;

/// <summary>Description of a connected key store.</summary>
public sealed class KeyStoreInfo
{
    /// <summary>Creates the description.</summary>
    public KeyStoreInfo(string tokenLabel, string serialNumber, string manufacturer, string model, string libraryPath, string? softHsmConfig, int keyCount)
    {
        TokenLabel = tokenLabel;
        SerialNumber = serialNumber;
        Manufacturer = manufacturer;
        Model = model;
        LibraryPath = libraryPath;
        SoftHsmConfig = softHsmConfig;
        KeyCount = keyCount;
    }

    /// <summary>Token label.</summary>
    public string TokenLabel { get; }
    /// <summary>Token serial number.</summary>
    public string SerialNumber { get; }
    /// <summary>Token manufacturer.</summary>
    public string Manufacturer { get; }
    /// <summary>Token model.</summary>
    public string Model { get; }
    /// <summary>PKCS#11 library path.</summary>
    public string LibraryPath { get; }
    /// <summary>SoftHSM2 configuration file, when the store is a local SoftHSM2 store.</summary>
    public string? SoftHsmConfig { get; }
    /// <summary>Number of visible QKDLite keys in the store.</summary>
    public int KeyCount { get; }
}
