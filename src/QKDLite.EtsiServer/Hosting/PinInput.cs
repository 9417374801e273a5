using System;
using System.IO;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;

namespace QKDLite.EtsiServer.Hosting;

/// <summary>
/// Gets the key store PIN as bytes (never a string) from standard input or from the configured
/// PIN file or environment variable. The caller clears the returned array.
/// </summary>
internal static class PinInput
{
    /// <summary>Longest PIN PKCS#11 tokens accept.</summary>
    private const int MaxPinBytes = 255;

    /// <summary>Reads bytes up to a line break or the end of <paramref name="input"/>; a trailing CR is dropped.</summary>
    public static byte[] FromStream(Stream input)
    {
        var buffer = new byte[MaxPinBytes + 1];
        var length = 0;
        try
        {
            while (true)
            {
                var next = input.ReadByte();
                if (next < 0 || next == '\n') break;
                if (length == buffer.Length)
                    throw new QKDLiteException(ErrorIds.PinLengthInvalid, QKDLiteErrorCategory.InvalidArgument,
                        $"The PIN on standard input is longer than {MaxPinBytes} bytes.");
                buffer[length++] = (byte)next;
            }
            if (length > 0 && buffer[length - 1] == '\r') length--;
            if (length == 0)
                throw new QKDLiteException(ErrorIds.KeyStorePinMissing, QKDLiteErrorCategory.InvalidData,
                    "--pin-stdin was given but standard input held no PIN.");
            var pin = new byte[length];
            Buffer.BlockCopy(buffer, 0, pin, 0, length);
            return pin;
        }
        finally
        {
            Array.Clear(buffer);
        }
    }

    /// <summary>The PIN from the key store section's PIN file, else its environment variable.</summary>
    public static byte[] FromConfiguration(KeyStoreConfiguration keyStore, string configurationFile)
    {
        if (!string.IsNullOrWhiteSpace(keyStore.PinFile))
            return PinSources.FromFile(EtsiServerSettings.ResolvePath(configurationFile, keyStore.PinFile!));
        if (!string.IsNullOrWhiteSpace(keyStore.PinEnvironmentVariable))
            return PinSources.FromEnvironment(keyStore.PinEnvironmentVariable!);
        throw new QKDLiteException(ErrorIds.KeyStorePinMissing, QKDLiteErrorCategory.InvalidData,
            $"No PIN source: '{configurationFile}' names no PinFile or PinEnvironmentVariable for the key store; set one, or start with --pin-stdin.", configurationFile);
    }
}
