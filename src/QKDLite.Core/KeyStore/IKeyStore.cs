using System;
using System.Collections.Generic;
using System.Threading;
using QKDLite.Core.KeyBlocks;
using QKDLite.Core.Keys;
using QKDLite.Core.Sources;
using QKDLite.Core.TransportKeys;

namespace QKDLite.Core.KeyStore;

/// <summary>
/// A store of quantum keys. Listing, counting and lookup see only active keys; pending
/// (prepared, not committed) keys stay invisible.
/// </summary>
public interface IKeyStore
{
    /// <summary>The settings the store was opened with.</summary>
    KeyStoreSettings Settings { get; }

    /// <summary>Describes the store and its token.</summary>
    KeyStoreInfo Describe();

    /// <summary>Checks a creation request against the rules and the store; throws and changes nothing when it is bad.</summary>
    void CheckNewKeys(NewKeysRequest request);

    /// <summary>
    /// Creates the requested keys from <paramref name="source"/>, yielding each once it is stored.
    /// The request is checked before the first key is created.
    /// </summary>
    IEnumerable<QuantumKeyInfo> CreateKeys(NewKeysRequest request, IKeyMaterialSource source, CancellationToken cancellation = default);

    /// <summary>The active key with this label, or null.</summary>
    QuantumKeyInfo? Find(string label);

    /// <summary>Active keys, optionally of one keyID, oldest first.</summary>
    IReadOnlyList<QuantumKeyInfo> List(string? keyId = null);

    /// <summary>Number of active keys per keyID.</summary>
    IReadOnlyDictionary<string, int> CountByKeyId();

    /// <summary>Destroys the active key with this label; throws KeyNotFound when there is none.</summary>
    void Remove(string label);

    /// <summary>
    /// Returns a copy of the key bytes, taken out of the token by wrapping under a one-time session key.
    /// The caller owns the array and must clear it.
    /// </summary>
    byte[] ReadKeyMaterial(string label);

    /// <summary>Holds back the cross-process change marker until the scope ends (one write per pipeline, not per key).</summary>
    IDisposable DeferChangeNotification();

    /// <summary>The transport key's description, or null.</summary>
    TransportKeyInfo? GetTransportKey();

    /// <summary>Stores a 256-bit transport key; replaces an existing one only with <paramref name="replace"/>.</summary>
    TransportKeyInfo SetTransportKey(byte[] transportKey, TransportKeyOrigin origin, bool replace);

    /// <summary>Starts an ML-KEM transport key transfer on the receiving node.</summary>
    TransportKeyRequest CreateTransportKeyRequest();

    /// <summary>Finishes an ML-KEM transport key transfer on the receiving node.</summary>
    TransportKeyInfo CompleteTransportKeyRequest(string ciphertext, bool replace);

    /// <summary>Wraps an active key into a key block under the transport key.</summary>
    KeyBlock Export(string label);

    /// <summary>Verifies a key block and stores its key; idempotent for the same key.</summary>
    (QuantumKeyInfo Key, bool Created) Import(string blockText);

    /// <summary>As Import, asking <paramref name="confirm"/> after verification and before writing; a declined block returns a null key.</summary>
    (QuantumKeyInfo? Key, bool Created) Import(string blockText, Func<KeyBlock, bool> confirm);
}
