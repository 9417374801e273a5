using System;
using System.Globalization;
using System.Text;
using QKDLite.Core.Keys;

namespace QKDLite.Core.KeyStore;

/// <summary>
/// The metadata QKDLite keeps with each key, stored in the key's CKA_ID attribute.
/// PKCS#11 secret keys have no free-form attribute that every HSM supports; CKA_ID is the one
/// byte-array attribute the standard leaves to the application. The keyID comes first, in clear
/// UTF-8, so vendor tools still show it; a separator and a short versioned record follow:
/// <c>keyID 0x1F "1|C|unix-microseconds|A|bits|KCV"</c> (source Classical/Qrng/Kme, state
/// Active/Pending, size in bits, key check value). A key that replication prepared carries its
/// transaction in the state field, <c>P:txn</c> (pending) or <c>D:txn</c> (prepared for deletion),
/// so that the token alone tells which keys a commit or abort must change. Size and check value are kept here because tokens
/// do not reliably report them: SoftHSM2 sets neither CKA_VALUE_LEN nor CKA_CHECK_VALUE on unwrapped keys.
/// </summary>
internal readonly struct KeyRecord
{
    private const byte Separator = 0x1F;
    private const string Version = "1";

    public KeyRecord(string keyId, KeySource source, DateTimeOffset created, KeyState state, int sizeBits, string checkValue, string? transactionId = null)
    {
        if (state == KeyState.Deleting && transactionId is null) throw new ArgumentException("A key prepared for deletion belongs to a transaction.", nameof(transactionId));
        if (state == KeyState.Active && transactionId is not null) throw new ArgumentException("An active key belongs to no transaction.", nameof(transactionId));
        TransactionId = transactionId;
        KeyId = keyId;
        Source = source;
        Created = created;
        State = state;
        SizeBits = sizeBits;
        CheckValue = checkValue;
    }

    public string KeyId { get; }
    public KeySource Source { get; }
    public DateTimeOffset Created { get; }
    public KeyState State { get; }
    public int SizeBits { get; }
    public string CheckValue { get; }
    /// <summary>The replication transaction that prepared this key (pending or deleting), else null.</summary>
    public string? TransactionId { get; }

    /// <summary>The same record in another state (and transaction).</summary>
    public KeyRecord With(KeyState state, string? transactionId) => new(KeyId, Source, Created, state, SizeBits, CheckValue, transactionId);

    public byte[] Encode()
    {
        var tail = string.Join("|", Version, SourceCode(Source), ToUnixMicroseconds(Created).ToString(CultureInfo.InvariantCulture), StateCode(State, TransactionId),
            SizeBits.ToString(CultureInfo.InvariantCulture), CheckValue);
        var id = Encoding.UTF8.GetBytes(KeyId);
        var rest = Encoding.ASCII.GetBytes(tail);
        var result = new byte[id.Length + 1 + rest.Length];
        Buffer.BlockCopy(id, 0, result, 0, id.Length);
        result[id.Length] = Separator;
        Buffer.BlockCopy(rest, 0, result, id.Length + 1, rest.Length);
        return result;
    }

    /// <summary>Reads a record; false for keys that QKDLite did not create (foreign CKA_ID).</summary>
    public static bool TryDecode(byte[]? value, out KeyRecord record)
    {
        record = default;
        if (value is null) return false;
        var split = Array.IndexOf(value, Separator);
        if (split <= 0) return false;
        string keyId, tail;
        try
        {
            keyId = new UTF8Encoding(false, true).GetString(value, 0, split);
            tail = Encoding.ASCII.GetString(value, split + 1, value.Length - split - 1);
        }
        catch (ArgumentException)
        {
            return false;
        }
        var parts = tail.Split('|');
        if (parts.Length != 6 || parts[0] != Version) return false;
        if (!TryParseSource(parts[1], out var source)) return false;
        if (!long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var micros)) return false;
        if (!TryParseState(parts[3], out var state, out var transactionId)) return false;
        if (!int.TryParse(parts[4], NumberStyles.None, CultureInfo.InvariantCulture, out var sizeBits) || sizeBits <= 0) return false;
        if (parts[5].Length != 6) return false;
        record = new KeyRecord(keyId, source, FromUnixMicroseconds(micros), state, sizeBits, parts[5], transactionId);
        return true;
    }

    /// <summary>Microseconds since 1970, so that keys created in one batch keep their order.</summary>
    public static long ToUnixMicroseconds(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.FromUnixTimeMilliseconds(0).UtcTicks) / 10;

    public static DateTimeOffset FromUnixMicroseconds(long micros) =>
        new(DateTimeOffset.FromUnixTimeMilliseconds(0).UtcTicks + micros * 10, TimeSpan.Zero);

    private static string StateCode(KeyState state, string? transactionId) => state switch
    {
        KeyState.Active => "A",
        KeyState.Pending => transactionId is null ? "P" : "P:" + transactionId,
        KeyState.Deleting => "D:" + transactionId,
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    private static bool TryParseState(string code, out KeyState state, out string? transactionId)
    {
        transactionId = null;
        state = KeyState.Active;
        if (code == "A") return true;
        state = KeyState.Pending;
        if (code == "P") return true;
        if (code.Length < 3 || code[1] != ':') return false;
        transactionId = code.Substring(2);
        if (!Replication.TransactionIds.IsValid(transactionId)) return false;
        if (code[0] == 'P') return true;
        state = KeyState.Deleting;
        return code[0] == 'D';
    }

    private static string SourceCode(KeySource source) => source switch
    {
        KeySource.Classical => "C",
        KeySource.Qrng => "Q",
        KeySource.Kme => "K",
        _ => throw new ArgumentOutOfRangeException(nameof(source)),
    };

    private static bool TryParseSource(string code, out KeySource source)
    {
        switch (code)
        {
            case "C": source = KeySource.Classical; return true;
            case "Q": source = KeySource.Qrng; return true;
            case "K": source = KeySource.Kme; return true;
            default: source = default; return false;
        }
    }
}
