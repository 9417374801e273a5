using System;
using System.Text;
using QKDLite.Core.Keys;
using QKDLite.Core.KeyStore;
using Xunit;

namespace QKDLite.Core.Tests;

public sealed class KeyRecordTests
{
    [Theory]
    [InlineData(KeySource.Classical, KeyState.Active)]
    [InlineData(KeySource.Qrng, KeyState.Pending)]
    [InlineData(KeySource.Kme, KeyState.Active)]
    public void A_record_survives_encoding(KeySource source, KeyState state)
    {
        var created = KeyRecord.FromUnixMicroseconds(1_795_000_000_123_456);
        var record = new KeyRecord("VPN-A-B", source, created, state, 520, "0A1B2C");
        Assert.True(KeyRecord.TryDecode(record.Encode(), out var decoded));
        Assert.Equal("VPN-A-B", decoded.KeyId);
        Assert.Equal(source, decoded.Source);
        Assert.Equal(state, decoded.State);
        Assert.Equal(created, decoded.Created);
        Assert.Equal(520, decoded.SizeBits);
        Assert.Equal("0A1B2C", decoded.CheckValue);
    }

    [Fact]
    public void The_keyID_comes_first_in_clear_for_vendor_tools()
    {
        var encoded = new KeyRecord("PaymentMaster", KeySource.Classical, DateTimeOffset.UnixEpoch, KeyState.Active, 256, "ABCDEF").Encode();
        Assert.Equal("PaymentMaster\u001F1|C|0|A|256|ABCDEF", Encoding.UTF8.GetString(encoded));
    }

    [Theory]
    [InlineData("")]
    [InlineData("some-vendor-id")]
    [InlineData("K\u001F2|C|0|A|256|ABCDEF")]
    [InlineData("K\u001F1|X|0|A|256|ABCDEF")]
    [InlineData("K\u001F1|C|-5|A|256|ABCDEF")]
    [InlineData("K\u001F1|C|0|Z|256|ABCDEF")]
    [InlineData("K\u001F1|C|0|A|0|ABCDEF")]
    [InlineData("K\u001F1|C|0|A|256|ABC")]
    [InlineData("K\u001F1|C|0|A")]
    [InlineData("\u001F1|C|0|A|256|ABCDEF")]
    public void Foreign_or_malformed_ids_are_not_taken_for_QKDLite_keys(string id)
    {
        Assert.False(KeyRecord.TryDecode(Encoding.UTF8.GetBytes(id), out _));
    }

    [Fact]
    public void Creation_times_keep_microseconds()
    {
        var time = new DateTimeOffset(2026, 11, 27, 3, 40, 0, TimeSpan.Zero).AddTicks(1234560);
        Assert.Equal(time, KeyRecord.FromUnixMicroseconds(KeyRecord.ToUnixMicroseconds(time)));
    }

    [Theory]
    [InlineData(KeyState.Pending, "P:0a1b2c")]
    [InlineData(KeyState.Deleting, "D:0a1b2c")]
    public void A_prepared_record_carries_its_transaction(KeyState state, string code)
    {
        var record = new KeyRecord("K", KeySource.Qrng, DateTimeOffset.UnixEpoch, state, 256, "ABCDEF", "0a1b2c");
        Assert.Equal($"K\u001F1|Q|0|{code}|256|ABCDEF", Encoding.UTF8.GetString(record.Encode()));
        Assert.True(KeyRecord.TryDecode(record.Encode(), out var decoded));
        Assert.Equal(state, decoded.State);
        Assert.Equal("0a1b2c", decoded.TransactionId);
        var active = decoded.With(KeyState.Active, null);
        Assert.Null(active.TransactionId);
        Assert.Equal("K\u001F1|Q|0|A|256|ABCDEF", Encoding.UTF8.GetString(active.Encode()));
    }

    [Theory]
    [InlineData("K\u001F1|C|0|D|256|ABCDEF")]
    [InlineData("K\u001F1|C|0|D:|256|ABCDEF")]
    [InlineData("K\u001F1|C|0|X:abc|256|ABCDEF")]
    [InlineData("K\u001F1|C|0|P:a b|256|ABCDEF")]
    [InlineData("K\u001F1|C|0|A:abc|256|ABCDEF")]
    public void Malformed_transaction_marks_are_not_taken_for_QKDLite_keys(string id)
    {
        Assert.False(KeyRecord.TryDecode(Encoding.UTF8.GetBytes(id), out _));
    }
}
