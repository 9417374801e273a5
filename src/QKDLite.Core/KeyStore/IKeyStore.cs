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

    /// <summary>Number of active keys of <paramref name="keyId"/> that are <paramref name="sizeBits"/> bits long: what key delivery can serve.</summary>
    int CountActiveKeys(string keyId, int sizeBits);

    /// <summary>
    /// Like <see cref="CountActiveKeys(string, int)"/>, but may answer from what this process last
    /// read of the token, when that is at most <paramref name="maxAge"/> old: other processes' changes
    /// of that last moment may be missing, this process's own never are. For frequent, advisory
    /// counts (ETSI status), where reading the token each time would cost more than the answer is worth.
    /// </summary>
    int CountActiveKeys(string keyId, int sizeBits, TimeSpan maxAge);

    /// <summary>
    /// Takes the <paramref name="count"/> oldest active keys of <paramref name="keyId"/> and size
    /// <paramref name="sizeBits"/> out of the store, atomically: reads their bytes, destroys them, and
    /// returns them oldest first. Throws KeyPoolExhausted and changes nothing when fewer are stored.
    /// Concurrent callers never receive the same key. Dispose every returned key once sent.
    /// </summary>
    IReadOnlyList<DeliveredKey> TakeOldestKeys(string keyId, int sizeBits, int count);

    /// <summary>
    /// Takes the keys labelled <paramref name="labels"/> out of the store, atomically, in the order
    /// given: each must be an active key of <paramref name="keyId"/>, else KeyNotFound and nothing
    /// changes. A key is taken at most once, also by concurrent callers. Dispose every returned key once sent.
    /// </summary>
    IReadOnlyList<DeliveredKey> TakeKeys(string keyId, IReadOnlyList<string> labels);

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

    /// <summary>
    /// Replication, prepare: verifies a key block exactly as Import does and stores its key as pending
    /// under <paramref name="transactionId"/> (invisible until committed). Repeating it for the same
    /// transaction and key changes nothing and returns <c>Created = false</c>.
    /// </summary>
    (QuantumKeyInfo Key, bool Created) PrepareImport(string transactionId, string blockText);

    /// <summary>
    /// Replication, prepare: creates the keys of <paramref name="request"/> (labels required) as pending
    /// under <paramref name="transactionId"/>. Labels already pending in this transaction are kept, not made again.
    /// </summary>
    IReadOnlyList<QuantumKeyInfo> PrepareCreate(string transactionId, NewKeysRequest request, IKeyMaterialSource source);

    /// <summary>Wraps a key that <paramref name="transactionId"/> prepared (pending) into a key block, for the other nodes' prepare.</summary>
    KeyBlock ExportPrepared(string transactionId, string label);

    /// <summary>
    /// Replication, prepare: hides the active keys <paramref name="labels"/> as being deleted by
    /// <paramref name="transactionId"/>. Labels not in the store are skipped; a key held by another
    /// transaction refuses the whole request. Returns the labels present here.
    /// </summary>
    IReadOnlyList<string> PrepareDelete(string transactionId, IReadOnlyList<string> labels);

    /// <summary>Replication, commit: the transaction's pending keys become active, its deleting keys are destroyed. Returns the number changed; 0 when repeated.</summary>
    int CommitPrepared(string transactionId);

    /// <summary>Replication, abort: the transaction's pending keys are destroyed, its deleting keys become active again. Returns the number changed; 0 when repeated.</summary>
    int AbortPrepared(string transactionId);

    /// <summary>The keys a transaction holds prepared (pending or deleting) in this store.</summary>
    IReadOnlyList<QuantumKeyInfo> TransactionKeys(string transactionId);

    /// <summary>Ids of the transactions that hold prepared keys in this store.</summary>
    IReadOnlyList<string> PreparedTransactionIds();
}
