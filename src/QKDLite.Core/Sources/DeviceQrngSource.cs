using System;
using System.IO;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;

namespace QKDLite.Core.Sources;

/// <summary>Random bytes read from a QRNG device node or file. A short read is an error, never padding.</summary>
public sealed class DeviceQrngSource : IKeyMaterialSource
{
    private readonly string _name;
    private readonly string _path;

    /// <summary>Creates the source for a configured device.</summary>
    public DeviceQrngSource(QrngSettings settings)
    {
        _name = settings.Name;
        _path = settings.Device ?? throw new ArgumentException("The QRNG has no device path.", nameof(settings));
    }

    /// <inheritdoc />
    public KeySource Kind => KeySource.Qrng;

    /// <inheritdoc />
    public void Fill(byte[] buffer)
    {
        try
        {
            using var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
            var read = 0;
            while (read < buffer.Length)
            {
                var n = stream.Read(buffer, read, buffer.Length - read);
                if (n == 0)
                {
                    Array.Clear(buffer, 0, buffer.Length);
                    throw new QKDLiteException(ErrorIds.QrngUnavailable, QKDLiteErrorCategory.ResourceUnavailable,
                        $"QRNG '{_name}' ({_path}) gave {read} of {buffer.Length} bytes.", _name);
                }
                read += n;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new QKDLiteException(ErrorIds.QrngUnavailable, QKDLiteErrorCategory.ResourceUnavailable,
                $"QRNG '{_name}' ({_path}) cannot be read: {e.Message}", _name, e);
        }
    }
}
