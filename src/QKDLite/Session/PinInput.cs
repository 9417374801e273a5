using System;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Runtime.InteropServices;
using System.Security;
using System.Text;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;

namespace QKDLite.Session;

/// <summary>PINs from SecureString, owner-only file, environment variable or prompt, always as bytes the caller clears.</summary>
internal static class PinInput
{
    public static byte[] Resolve(PSCmdlet cmdlet, SecureString? pin, string? pinFile, string? pinVariable, string prompt)
    {
        if (pin is not null) return ToUtf8(pin);
        if (!string.IsNullOrEmpty(pinFile)) return PinSources.FromFile(cmdlet.GetUnresolvedProviderPathFromPSPath(pinFile));
        if (!string.IsNullOrEmpty(pinVariable)) return PinSources.FromEnvironment(pinVariable!);
        return Prompt(cmdlet, prompt);
    }

    public static byte[] Prompt(PSCmdlet cmdlet, string prompt)
    {
        SecureString? entered = null;
        try
        {
            var ui = cmdlet.Host?.UI;
            if (ui is not null)
            {
                ui.Write(prompt + ": ");
                entered = ui.ReadLineAsSecureString();
            }
        }
        catch (Exception e) when (e is PSInvalidOperationException or HostException or NotImplementedException)
        {
            entered = null;
        }
        if (entered is null || entered.Length == 0)
            throw new QKDLiteException(ErrorIds.KeyStorePinMissing, QKDLiteErrorCategory.AuthenticationError,
                "No PIN was given. Pass -Pin, -PinFile or -PinEnvironmentVariable, or record a PIN file or variable in the node configuration for unattended use.", null);
        using (entered) return ToUtf8(entered);
    }

    /// <summary>The characters of a SecureString, for the caller to clear; never a managed string.</summary>
    public static char[] ToChars(SecureString secure)
    {
        var pointer = Marshal.SecureStringToGlobalAllocUnicode(secure);
        try
        {
            var chars = new char[secure.Length];
            Marshal.Copy(pointer, chars, 0, chars.Length);
            return chars;
        }
        finally
        {
            Marshal.ZeroFreeGlobalAllocUnicode(pointer);
        }
    }

    /// <summary>UTF-8 bytes of a SecureString without ever making a managed string of it.</summary>
    public static byte[] ToUtf8(SecureString secure)
    {
        var pointer = Marshal.SecureStringToGlobalAllocUnicode(secure);
        var chars = new char[secure.Length];
        try
        {
            Marshal.Copy(pointer, chars, 0, chars.Length);
            return Encoding.UTF8.GetBytes(chars);
        }
        finally
        {
            Array.Clear(chars, 0, chars.Length);
            Marshal.ZeroFreeGlobalAllocUnicode(pointer);
        }
    }
}
