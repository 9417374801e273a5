using System;
using System.Buffers;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;
using QKDLite.Core.Keys;
using QKDLite.Core.KeyStore;
using QKDLite.EtsiServer.Protocol;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>The key container and the buffer that holds it: exact bytes out, no copy left behind.</summary>
public sealed class KeyContainerTests
{
    private static DeliveredKey Key(string label, int bytes)
    {
        var info = new QuantumKeyInfo(label, "pool", bytes * 8, KeySource.Kme, DateTimeOffset.UtcNow, KeyState.Active, "000000", "token");
        return new DeliveredKey(info, System.Security.Cryptography.RandomNumberGenerator.GetBytes(bytes));
    }

    [Fact]
    public void The_container_holds_each_key_ID_and_its_exact_bytes_in_standard_Base64()
    {
        var keys = new[] { Key(Guid.NewGuid().ToString(), 32), Key("label \"quoted\" \u00e9", 1), Key("big", 1024) };

        using var json = EtsiJson.KeyContainer(keys);

        using var document = JsonDocument.Parse(json.WrittenMemory);
        var written = document.RootElement.GetProperty("keys").EnumerateArray().ToList();
        Assert.Equal(keys.Select(k => k.Label), written.Select(k => k.GetProperty("key_ID").GetString()));
        Assert.Equal(keys.Select(k => Convert.ToBase64String(k.Material)), written.Select(k => k.GetProperty("key").GetString()));
        Assert.Single(document.RootElement.EnumerateObject());
    }

    [Fact]
    public void The_buffer_keeps_what_was_written_when_it_grows_and_zeroes_what_it_lets_go()
    {
        var writer = new ZeroingBufferWriter(16);
        var first = writer.GetSpan(300);
        var firstArray = Array(writer.GetMemory(300));
        first[..300].Fill(0xAB);
        writer.Advance(300);

        var more = writer.GetSpan(5000);
        more[..5000].Fill(0xCD);
        writer.Advance(5000);

        Assert.Equal(5300, writer.WrittenMemory.Length);
        Assert.All(writer.WrittenMemory.Span[..300].ToArray(), b => Assert.Equal(0xAB, b));
        Assert.All(writer.WrittenMemory.Span[300..].ToArray(), b => Assert.Equal(0xCD, b));
        Assert.All(firstArray, b => Assert.Equal(0, b));

        var last = Array(writer.GetMemory());
        writer.Dispose();
        Assert.All(last, b => Assert.Equal(0, b));
        Assert.Equal(0, writer.WrittenMemory.Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Advance(int.MaxValue));
    }

    private static byte[] Array(Memory<byte> memory) =>
        MemoryMarshal.TryGetArray<byte>(memory, out var segment) ? segment.Array! : throw new InvalidOperationException();
}
