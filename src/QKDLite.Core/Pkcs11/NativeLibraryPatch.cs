using System;
using System.Reflection;
using System.Runtime.InteropServices;

namespace QKDLite.Core.Pkcs11;

/// <summary>
/// Pkcs11Interop P/Invokes "libdl", but glibc 2.34 and later ship only libdl.so.2, so the first
/// PKCS#11 call fails on current Linux. We map the name with a DllImport resolver. netstandard2.0
/// has no NativeLibrary type, so it is reached through reflection; on .NET Framework it is absent
/// and nothing is needed there.
/// </summary>
public static class NativeLibraryPatch
{
    private static readonly object Gate = new();
    private static bool _applied;

    /// <summary>Installs the resolver once per process; later calls do nothing.</summary>
    public static void Apply()
    {
        lock (Gate)
        {
            if (_applied) return;
            _applied = true;
            var nativeLibrary = Type.GetType("System.Runtime.InteropServices.NativeLibrary");
            var resolverType = Type.GetType("System.Runtime.InteropServices.DllImportResolver");
            if (nativeLibrary is null || resolverType is null) return;
            var setResolver = nativeLibrary.GetMethod("SetDllImportResolver", new[] { typeof(Assembly), resolverType });
            var resolve = typeof(NativeLibraryPatch).GetMethod(nameof(Resolve), BindingFlags.NonPublic | BindingFlags.Static)!;
            var resolver = Delegate.CreateDelegate(resolverType, resolve);
            try
            {
                setResolver?.Invoke(null, new object[] { typeof(Net.Pkcs11Interop.Common.CKA).Assembly, resolver });
            }
            catch (TargetInvocationException e) when (e.InnerException is InvalidOperationException)
            {
                // A resolver is already set for Pkcs11Interop (another host did the same fix).
            }
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != "libdl" || !RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return IntPtr.Zero;
        var nativeLibrary = Type.GetType("System.Runtime.InteropServices.NativeLibrary")!;
        var tryLoad = nativeLibrary.GetMethod("TryLoad", new[] { typeof(string), typeof(IntPtr).MakeByRefType() })!;
        foreach (var candidate in new[] { "libdl.so.2", "libc.so.6" })
        {
            var args = new object[] { candidate, IntPtr.Zero };
            if ((bool)tryLoad.Invoke(null, args)!) return (IntPtr)args[1];
        }
        return IntPtr.Zero;
    }
}
