using System;
using System.Globalization;
using System.IO;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;

namespace QKDLite.Core.Sources;

/// <summary>
/// Random bytes read from a QRNG device node (or FIFO), or from a file of QRNG output. The stream stays
/// open for all keys of one request, so each key gets fresh bytes. A regular file is consumed: the
/// position reached is kept in "&lt;file&gt;.offset" beside it, so no byte is ever used for two keys,
/// and a file that runs out is an error, never padding.
/// </summary>
public sealed class DeviceQrngSource : IKeyMaterialSource, IDisposable
{
    private readonly string _name;
    private readonly string _path;
    private FileStream? _stream;
    private string? _offsetFile;

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
            var stream = _stream ??= Open();
            var read = 0;
            while (read < buffer.Length)
            {
                var n = stream.Read(buffer, read, buffer.Length - read);
                if (n == 0)
                {
                    Array.Clear(buffer, 0, buffer.Length);
                    throw new QKDLiteException(ErrorIds.QrngUnavailable, QKDLiteErrorCategory.ResourceUnavailable,
                        $"QRNG '{_name}' ({_path}) has no more random bytes: {read} of {buffer.Length} were left.", _name);
                }
                read += n;
            }
            // Record the position at once: bytes handed out are never handed out again, even after a crash.
            if (_offsetFile is not null) File.WriteAllText(_offsetFile, stream.Position.ToString(CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new QKDLiteException(ErrorIds.QrngUnavailable, QKDLiteErrorCategory.ResourceUnavailable,
                $"QRNG '{_name}' ({_path}) cannot be read: {e.Message}", _name, e);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stream?.Dispose();

    private FileStream Open()
    {
        var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
        // Device nodes report themselves seekable but with no length; only a regular file with content is consumed.
        long length;
        try { length = stream.CanSeek ? stream.Length : 0; }
        catch (NotSupportedException) { length = 0; }
        if (length > 0)
        {
            _offsetFile = _path + ".offset";
            if (File.Exists(_offsetFile) && long.TryParse(File.ReadAllText(_offsetFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
                stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
        }
        return stream;
    }
}
