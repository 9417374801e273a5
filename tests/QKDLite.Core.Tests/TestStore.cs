using System;
using System.IO;
using System.Text;
using QKDLite.Core.KeyStore;

namespace QKDLite.Core.Tests;

/// <summary>
/// A fresh SoftHSM2 token per fixture. SoftHSM2 reads its configuration once per process, so all
/// fixtures of a test run share one token directory (on tmpfs where there is one) and differ by token label.
/// </summary>
public sealed class TestStore : IDisposable
{
    private static readonly Lazy<string> SharedDirectory = new(() =>
    {
        var root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        var dir = Path.Combine(root, "qkdlite-xunit-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
        return dir;
    });

    // xunit builds the fixtures of several test classes at once; two threads initialising tokens
    // at the same moment would both take SoftHSM2's one free slot, and one token would be lost.
    private static readonly object InitializeGate = new();

    public TestStore()
    {
        DataDirectory = SharedDirectory.Value;
        TokenLabel = "t-" + Guid.NewGuid().ToString("N")[..12];
        lock (InitializeGate)
        {
            Settings = LocalKeyStore.Initialize(DataDirectory, TokenLabel, Pin(), Encoding.UTF8.GetBytes("so-pin-1234"));
        }
        Store = Pkcs11KeyStore.Open(Settings, Pin());
    }

    public static byte[] Pin() => Encoding.UTF8.GetBytes("user-pin-1234");

    public string DataDirectory { get; }
    public string TokenLabel { get; }
    public KeyStoreSettings Settings { get; }
    public Pkcs11KeyStore Store { get; }

    public void Dispose()
    {
        // Tokens are reset by deleting them, never by destroying objects one by one.
    }
}
