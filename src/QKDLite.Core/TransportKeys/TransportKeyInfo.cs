using System;

namespace QKDLite.Core.TransportKeys;

/// <summary>What may be shown of a transport key: never its bytes.</summary>
public sealed class TransportKeyInfo
{
    /// <summary>Creates the description.</summary>
    public TransportKeyInfo(string label, DateTimeOffset created, string checkValue, TransportKeyOrigin origin, string tokenLabel, string? ciphertext = null)
    {
        Ciphertext = ciphertext;
        Label = label;
        Created = created;
        CheckValue = checkValue;
        Origin = origin;
        TokenLabel = tokenLabel;
    }

    /// <summary>Label of the transport key object.</summary>
    public string Label { get; }
    /// <summary>When it was provisioned.</summary>
    public DateTimeOffset Created { get; }
    /// <summary>Key check value (3 bytes, hex): the same on every node that shares the key.</summary>
    public string CheckValue { get; }
    /// <summary>How it was provisioned.</summary>
    public TransportKeyOrigin Origin { get; }
    /// <summary>Token that holds it.</summary>
    public string TokenLabel { get; }
    /// <summary>
    /// Only on the sending node of an ML-KEM transfer: the ciphertext (Base64) to give to the receiving
    /// node's Set-TransportKey -Ciphertext. Public: it reveals nothing of the key.
    /// </summary>
    public string? Ciphertext { get; }

    /// <summary>The same description carrying the ciphertext of an ML-KEM transfer.</summary>
    public TransportKeyInfo WithCiphertext(string ciphertext) => new(Label, Created, CheckValue, Origin, TokenLabel, ciphertext);

    /// <inheritdoc />
    public override string ToString() => $"{Label} (KCV {CheckValue})";
}
