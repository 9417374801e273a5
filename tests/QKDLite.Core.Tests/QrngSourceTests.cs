using System;
using System.IO;
using QKDLite.Core.Errors;
using QKDLite.Core.Sources;
using Xunit;

namespace QKDLite.Core.Tests;

public sealed class QrngSourceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qkdlite-qrng-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void A_file_of_QRNG_output_is_consumed_never_reused_and_running_out_is_an_error()
    {
        var path = Path.Combine(_dir, "qrng.bin");
        var content = System.Security.Cryptography.RandomNumberGenerator.GetBytes(80);
        File.WriteAllBytes(path, content);
        var settings = new QrngSettings { Name = "file", Device = path };
        var first = new byte[32];
        var second = new byte[32];
        using (var source = new DeviceQrngSource(settings)) source.Fill(first);
        // A second request (a later New-QuantumKey) continues where the first stopped.
        using (var source = new DeviceQrngSource(settings))
        {
            source.Fill(second);
            Assert.Equal(content[..32], first);
            Assert.Equal(content[32..64], second);
            var third = new byte[32];
            Assert.Equal(ErrorIds.QrngUnavailable, Assert.Throws<QKDLiteException>(() => source.Fill(third)).ErrorId);
            Assert.All(third, b => Assert.Equal(0, b));
        }
    }
}
