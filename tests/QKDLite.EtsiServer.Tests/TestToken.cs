using System;
using System.IO;
using System.Text;
using QKDLite.Core.KeyStore;

namespace QKDLite.EtsiServer.Tests;

/// <summary>
/// A fresh SoftHSM2 token. SoftHSM2 reads its configuration once per process, so every token of a
/// test run lives in one token directory (on tmpfs where there is one) and differs by label.
/// </summary>
public sealed class TestToken
{
    private static readonly Lazy<string> SharedDirectory = new(() =>
    {
        var root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        var dir = Path.Combine(root, "qkdlite-etsi-xunit-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(dir, true);
            }
            catch (IOException)
            {
            }
        };
        return dir;
    });

    public TestToken()
    {
        DataDirectory = SharedDirectory.Value;
        TokenLabel = "e-" + Guid.NewGuid().ToString("N")[..12];
        var pin = Pin();
        Settings = LocalKeyStore.Initialize(DataDirectory, TokenLabel, pin, Encoding.UTF8.GetBytes("so-pin-1234"));
        Store = Pkcs11KeyStore.Open(Settings, pin);
    }

    public const string PinText = "user-pin-1234";

    public static byte[] Pin() => Encoding.UTF8.GetBytes(PinText);

    public string DataDirectory { get; }

    public string TokenLabel { get; }

    public KeyStoreSettings Settings { get; }

    public Pkcs11KeyStore Store { get; }
}
