using System;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using QKDLite.Core.Errors;

namespace QKDLite.Core.Configuration;

/// <summary>
/// Reads and writes PINs for automation: from a file only its owner can read, or from a named
/// environment variable. PINs are returned as byte arrays for the caller to clear.
/// </summary>
public static class PinSources
{
    private const string PinAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

    /// <summary>Reads a PIN from a file that only its owner may access; trailing line breaks are ignored.</summary>
    public static byte[] FromFile(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new QKDLiteException(ErrorIds.PinFileNotFound, QKDLiteErrorCategory.ObjectNotFound,
                $"The PIN file '{full}' does not exist.", full);
        if (OwnerOnlyPermissions.IsAccessibleToOthers(full))
            throw new QKDLiteException(ErrorIds.PinFileNotOwnerOnly, QKDLiteErrorCategory.SecurityError,
                $"The PIN file '{full}' is accessible to other users. Restrict it to its owner (chmod 600 '{full}').", full);
        var content = File.ReadAllBytes(full);
        var length = content.Length;
        while (length > 0 && (content[length - 1] == (byte)'\n' || content[length - 1] == (byte)'\r')) length--;
        var pin = new byte[length];
        Buffer.BlockCopy(content, 0, pin, 0, length);
        Array.Clear(content, 0, content.Length);
        if (pin.Length == 0)
            throw new QKDLiteException(ErrorIds.KeyStorePinMissing, QKDLiteErrorCategory.InvalidData,
                $"The PIN file '{full}' is empty.", full);
        return pin;
    }

    /// <summary>Reads a PIN from the named environment variable.</summary>
    public static byte[] FromEnvironment(string variable)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(value))
            throw new QKDLiteException(ErrorIds.PinEnvironmentVariableNotSet, QKDLiteErrorCategory.ObjectNotFound,
                $"The environment variable '{variable}' that should hold the key store PIN is not set.", variable);
        return Encoding.UTF8.GetBytes(value);
    }

    /// <summary>A new random PIN of 24 unambiguous letters and digits.</summary>
    public static byte[] Generate()
    {
        var pin = new byte[24];
        var random = new byte[1];
        using var rng = RandomNumberGenerator.Create();
        for (var i = 0; i < pin.Length;)
        {
            rng.GetBytes(random);
            // Rejection sampling keeps every character equally likely.
            if (random[0] >= 256 - 256 % PinAlphabet.Length) continue;
            pin[i++] = (byte)PinAlphabet[random[0] % PinAlphabet.Length];
        }
        return pin;
    }

    /// <summary>
    /// Writes a PIN to a new file readable only by its owner. The file is restricted before the PIN
    /// is written, so no other user can read it at any moment. Fails if the file exists.
    /// </summary>
    public static void WriteNewFile(string path, byte[] pin)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full))
            throw new QKDLiteException(ErrorIds.PinFileExists, QKDLiteErrorCategory.ResourceExists,
                $"The PIN file '{full}' exists already; QKDLite never overwrites a PIN file.", full);
        using var stream = new FileStream(full, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        OwnerOnlyPermissions.SetOwnerOnlyFile(full);
        stream.Write(pin, 0, pin.Length);
        stream.Flush(true);
    }
}
