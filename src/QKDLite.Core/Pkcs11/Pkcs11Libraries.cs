using System;
using System.Collections.Generic;
using System.IO;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using QKDLite.Core.Errors;

namespace QKDLite.Core.Pkcs11;

/// <summary>
/// One loaded PKCS#11 library per path for the whole process. Instances are never disposed:
/// C_Finalize on any of them would finalize the library for every other user in the process.
/// </summary>
internal static class Pkcs11Libraries
{
    private const string SoftHsmConfigVariable = "SOFTHSM2_CONF";
    private static readonly object Gate = new();
    private static readonly Dictionary<string, IPkcs11Library> Loaded = new(StringComparer.Ordinal);
    private static readonly Pkcs11InteropFactories Factories = new();

    /// <summary>Loads (once) the library at <paramref name="path"/>.</summary>
    /// <param name="path">Path of the PKCS#11 module.</param>
    /// <param name="softHsmConfig">SoftHSM2 configuration file to use, or null for the library's default.</param>
    public static IPkcs11Library Get(string path, string? softHsmConfig)
    {
        lock (Gate)
        {
            var fullPath = RealPath(path);
            if (!Loaded.ContainsKey(fullPath) && !File.Exists(fullPath))
            {
                throw new QKDLiteException(ErrorIds.KeyStoreLibraryNotFound, QKDLiteErrorCategory.NotInstalled,
                    $"The PKCS#11 library '{Path.GetFullPath(path)}' does not exist. Install it (for the local store: apt-get install softhsm2) or correct the library path.",
                    Path.GetFullPath(path));
            }
            string? previousConfig = null;
            if (softHsmConfig is not null)
            {
                // SoftHSM2 reads SOFTHSM2_CONF once, at C_Initialize: one configuration per process.
                var current = Environment.GetEnvironmentVariable(SoftHsmConfigVariable);
                var wanted = Path.GetFullPath(softHsmConfig);
                if (!File.Exists(wanted))
                    throw new QKDLiteException(ErrorIds.SoftHsmConfigNotFound, QKDLiteErrorCategory.ObjectNotFound,
                        $"The SoftHSM2 configuration file '{wanted}' does not exist.", wanted);
                if (Loaded.ContainsKey(fullPath) && !string.Equals(current, wanted, StringComparison.Ordinal))
                {
                    throw new QKDLiteException(ErrorIds.SoftHsmConfigurationConflict, QKDLiteErrorCategory.InvalidOperation,
                        $"This process already uses SoftHSM2 with the configuration '{current}'. Start a new PowerShell session to use the key store configured in '{wanted}'.",
                        wanted);
                }
                if (!Loaded.ContainsKey(fullPath))
                {
                    previousConfig = current ?? string.Empty;
                    NativeEnvironment.Set(SoftHsmConfigVariable, wanted);
                }
            }
            if (Loaded.TryGetValue(fullPath, out var library)) return library;
            NativeLibraryPatch.Apply();
            try
            {
                library = Factories.Pkcs11LibraryFactory.LoadPkcs11Library(Factories, fullPath, AppType.MultiThreaded);
            }
            catch (Exception e) when (e is UnmanagedException or Pkcs11Exception or DllNotFoundException or BadImageFormatException)
            {
                // A failed load changes nothing: the next attempt may use another configuration.
                if (previousConfig is not null) NativeEnvironment.Set(SoftHsmConfigVariable, previousConfig);
                throw new QKDLiteException(ErrorIds.KeyStoreLibraryNotFound, QKDLiteErrorCategory.NotInstalled,
                    $"The PKCS#11 library '{fullPath}' could not be loaded: {e.Message}", fullPath, e);
            }
            Loaded.Add(fullPath, library);
            return library;
        }
    }

    /// <summary>
    /// The file a path finally points to, so that two names of one library (Debian links
    /// /usr/lib/softhsm/libsofthsm2.so to the multiarch directory) share one loaded instance.
    /// FileSystemInfo.ResolveLinkTarget is .NET 6+, reached through reflection from netstandard2.0.
    /// </summary>
    private static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var resolve = typeof(FileSystemInfo).GetMethod("ResolveLinkTarget", new[] { typeof(bool) });
        if (resolve is null || !File.Exists(full)) return full;
        var target = resolve.Invoke(new FileInfo(full), new object[] { true }) as FileSystemInfo;
        return target?.FullName ?? full;
    }

    /// <summary>The factories every PKCS#11 object in Core is created with.</summary>
    public static Pkcs11InteropFactories Factory => Factories;
}
