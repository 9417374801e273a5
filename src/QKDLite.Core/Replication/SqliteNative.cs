using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace QKDLite.Core.Replication;

/// <summary>
/// Finds SQLite's native library (e_sqlite3) inside PowerShell. An application finds it through its
/// deps.json; a module loaded into pwsh has none, so its P/Invokes would search only pwsh's own
/// folders. The module ships the library under runtimes/&lt;rid&gt;/native/ beside its assemblies, and
/// a DllImport resolver (reached through reflection: netstandard2.0 has no NativeLibrary) loads it
/// from there. Where that file is missing, the runtime's own search goes on as usual.
/// </summary>
internal static class SqliteNative
{
    private const string LibraryName = "e_sqlite3";
    private static readonly object Gate = new();
    private static bool _applied;

    public static void Apply()
    {
        lock (Gate)
        {
            if (_applied) return;
            _applied = true;
            var nativeLibrary = Type.GetType("System.Runtime.InteropServices.NativeLibrary");
            var resolverType = Type.GetType("System.Runtime.InteropServices.DllImportResolver");
            if (nativeLibrary is null || resolverType is null) return;
            var provider = Type.GetType("SQLitePCL.SQLite3Provider_e_sqlite3, SQLitePCLRaw.provider.e_sqlite3")?.Assembly;
            if (provider is null) return;
            var setResolver = nativeLibrary.GetMethod("SetDllImportResolver", new[] { typeof(Assembly), resolverType });
            var resolve = typeof(SqliteNative).GetMethod(nameof(Resolve), BindingFlags.NonPublic | BindingFlags.Static)!;
            try
            {
                setResolver?.Invoke(null, new object[] { provider, Delegate.CreateDelegate(resolverType, resolve) });
            }
            catch (TargetInvocationException e) when (e.InnerException is InvalidOperationException)
            {
                // The host set a resolver for SQLite already; it knows best.
            }
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != LibraryName) return IntPtr.Zero;
        var directory = Path.GetDirectoryName(assembly.Location);
        var rid = RuntimeId();
        if (string.IsNullOrEmpty(directory) || rid is null) return IntPtr.Zero;
        var file = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "e_sqlite3.dll"
            : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "libe_sqlite3.dylib" : "libe_sqlite3.so";
        var path = Path.Combine(directory, "runtimes", rid, "native", file);
        if (!File.Exists(path)) return IntPtr.Zero;
        var tryLoad = Type.GetType("System.Runtime.InteropServices.NativeLibrary")!
            .GetMethod("TryLoad", new[] { typeof(string), typeof(IntPtr).MakeByRefType() })!;
        var args = new object[] { path, IntPtr.Zero };
        return (bool)tryLoad.Invoke(null, args)! ? (IntPtr)args[1] : IntPtr.Zero;
    }

    private static string? RuntimeId()
    {
        var os = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "win"
            : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "osx"
            : RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? "linux" : null;
        var arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "arm64",
            _ => null,
        };
        return os is null || arch is null ? null : os + "-" + arch;
    }
}
