using System;

namespace QKDLite.Core.TransportKeys;

/// <summary>
/// A pending ML-KEM transport key request: the encapsulation key to send to the peer node. The
/// matching decapsulation key stays in this node's key store.
/// </summary>
public sealed class TransportKeyRequest
{
    /// <summary>Creates the request.</summary>
    public TransportKeyRequest(string encapsulationKey, string fingerprint, DateTimeOffset created, string tokenLabel)
    {
        EncapsulationKey = encapsulationKey;
        Fingerprint = fingerprint;
        Created = created;
        TokenLabel = tokenLabel;
    }

    /// <summary>The ML-KEM-1024 encapsulation key, Base64. Public: safe to send over any channel.</summary>
    public string EncapsulationKey { get; }
    /// <summary>First 8 bytes of SHA-256 of the encapsulation key, to confirm by phone that the peer got this one.</summary>
    public string Fingerprint { get; }
    /// <summary>When the request was made.</summary>
    public DateTimeOffset Created { get; }
    /// <summary>Token that holds the decapsulation key.</summary>
    public string TokenLabel { get; }

    /// <inheritdoc />
    public override string ToString() => EncapsulationKey;
}
