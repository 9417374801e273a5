using System;
using System.Runtime.InteropServices;

namespace QKDLite.Core.Pkcs11;

/// <summary>
/// Sets an environment variable where native code sees it. On Unix, .NET's
/// Environment.SetEnvironmentVariable changes only the managed copy, so a native library reading
/// getenv() (SoftHSM2 reads SOFTHSM2_CONF at C_Initialize) would still see the old value and fall
/// back to the system-wide token directory. The managed copy is updated too, for child processes.
/// </summary>
internal static class NativeEnvironment
{
    public static void Set(string name, string value)
    {
        Environment.SetEnvironmentVariable(name, value);
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            if (SetEnvLinux(name, value, 1) != 0) throw new InvalidOperationException($"setenv({name}) failed with errno {Marshal.GetLastWin32Error()}.");
        }
        else if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX))
        {
            if (SetEnvMac(name, value, 1) != 0) throw new InvalidOperationException($"setenv({name}) failed with errno {Marshal.GetLastWin32Error()}.");
        }
    }

    [DllImport("libc.so.6", EntryPoint = "setenv", SetLastError = true)]
    private static extern int SetEnvLinux([MarshalAs(UnmanagedType.LPStr)] string name, [MarshalAs(UnmanagedType.LPStr)] string value, int overwrite);

    [DllImport("libSystem.dylib", EntryPoint = "setenv", SetLastError = true)]
    private static extern int SetEnvMac([MarshalAs(UnmanagedType.LPStr)] string name, [MarshalAs(UnmanagedType.LPStr)] string value, int overwrite);
}
