namespace QKDLite.Output;

/// <summary>How many active keys one keyID has in a key store.</summary>
public sealed class KeyCountInfo
{
    /// <summary>Creates a count.</summary>
    public KeyCountInfo(string keyId, int count, string tokenLabel)
    {
        KeyId = keyId;
        Count = count;
        TokenLabel = tokenLabel;
    }

    /// <summary>The keyID.</summary>
    public string KeyId { get; }
    /// <summary>Number of active keys.</summary>
    public int Count { get; }
    /// <summary>Label of the token counted.</summary>
    public string TokenLabel { get; }

    /// <inheritdoc />
    public override string ToString() => $"{KeyId}: {Count}";
}
