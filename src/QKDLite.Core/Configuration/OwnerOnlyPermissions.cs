using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace QKDLite.Core.Configuration;

/// <summary>
/// Owner-only permissions for secret-bearing files. netstandard2.0 has no Unix file mode API, so
/// the .NET 7+ File.GetUnixFileMode/SetUnixFileMode are reached through reflection; on Windows
/// (and .NET Framework) files in the user's profile are already private to the user.
/// </summary>
internal static class OwnerOnlyPermissions
{
    private const int GroupAndOtherBits = 0x3F; // 0o077
    private const int OwnerReadWrite = 0x180;   // 0o600
    private const int OwnerAll = 0x1C0;         // 0o700

    private static bool IsUnix => !RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

    /// <summary>True when group or others have any access to the file.</summary>
    public static bool IsAccessibleToOthers(string path)
    {
        if (!IsUnix) return false;
        var get = typeof(File).GetMethod("GetUnixFileMode", new[] { typeof(string) });
        if (get is null) return false;
        var mode = Convert.ToInt32(get.Invoke(null, new object[] { path }));
        return (mode & GroupAndOtherBits) != 0;
    }

    /// <summary>Restricts a file to its owner (read and write).</summary>
    public static void SetOwnerOnlyFile(string path) => Set(path, OwnerReadWrite);

    /// <summary>Restricts a directory to its owner.</summary>
    public static void SetOwnerOnlyDirectory(string path) => Set(path, OwnerAll);

    private static void Set(string path, int mode)
    {
        if (!IsUnix) return;
        var modeType = typeof(File).Assembly.GetType("System.IO.UnixFileMode");
        var set = modeType is null ? null : typeof(File).GetMethod("SetUnixFileMode", new[] { typeof(string), modeType });
        if (set is null) return;
        try
        {
            set.Invoke(null, new[] { path, Enum.ToObject(modeType!, mode) });
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }
}
