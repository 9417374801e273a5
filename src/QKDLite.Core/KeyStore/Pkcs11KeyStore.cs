using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using QKDLite.Core.Crypto;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;
using QKDLite.Core.Pkcs11;
using QKDLite.Core.Sources;

namespace QKDLite.Core.KeyStore;

/// <summary>
/// A key store on any PKCS#11 token. One instance per token per process (see <see cref="Open"/>):
/// PKCS#11 login is per process, so the instance keeps one session open to hold the login, and
/// one more that its operations share one at a time (see <see cref="WorkSession"/>).
/// </summary>
public sealed partial class Pkcs11KeyStore : IKeyStore
{
    private static readonly object OpenGate = new();
    private static readonly Dictionary<string, Pkcs11KeyStore> OpenStores = new(StringComparer.Ordinal);

    private readonly object _gate = new();
    private readonly ISlot _slot;
    // Never used for operations: PKCS#11 keeps a login only while a session is open, so this one holds it.
    private readonly ISession _loginSession;
    private readonly byte[] _pinSalt;
    private readonly byte[] _pinDigest;
    private readonly StoreGeneration _generation = new();
    private KeyIndex? _index;
    private byte[] _indexGeneration = Array.Empty<byte>();

    private Pkcs11KeyStore(KeyStoreSettings settings, ISlot slot, ISession loginSession, byte[] pin)
    {
        Settings = settings;
        _slot = slot;
        _loginSession = loginSession;
        _pinSalt = new byte[16];
        using (var rng = RandomNumberGenerator.Create()) rng.GetBytes(_pinSalt);
        _pinDigest = PinDigest(_pinSalt, pin);
    }

    /// <inheritdoc />
    public KeyStoreSettings Settings { get; }

    /// <summary>
    /// Opens the token named in <paramref name="settings"/> and logs in with <paramref name="pin"/>.
    /// A token already open in this process is returned again once the PIN matches the one it
    /// was opened with. The caller keeps ownership of <paramref name="pin"/> and clears it.
    /// </summary>
    public static Pkcs11KeyStore Open(KeyStoreSettings settings, byte[] pin)
    {
        var library = Pkcs11Libraries.Get(settings.LibraryPath, settings.SoftHsmConfig);
        lock (OpenGate)
        {
            var slot = FindSlot(library, settings.TokenLabel);
            // Keyed by the token itself, not the path it was reached by: a second name for the same
            // library must not skip the PIN check (login is per process, so the token would say "already logged in").
            var tokenInfo = Pkcs11Errors.Call("read token information", settings.TokenLabel, slot.GetTokenInfo);
            var key = tokenInfo.ManufacturerId.Trim() + "\n" + tokenInfo.Model.Trim() + "\n" + tokenInfo.SerialNumber.Trim() + "\n" + settings.TokenLabel;
            if (OpenStores.TryGetValue(key, out var open))
            {
                if (!open.PinMatches(pin))
                    throw new QKDLiteException(ErrorIds.KeyStorePinIncorrect, QKDLiteErrorCategory.AuthenticationError,
                        "The key store refused the PIN. Check the PIN source; repeated failures may lock the token.", settings.TokenLabel);
                return open;
            }
            var session = Pkcs11Errors.Call("open a session", settings.TokenLabel, () => slot.OpenSession(SessionType.ReadWrite));
            try
            {
                session.Login(CKU.CKU_USER, pin);
            }
            catch (Pkcs11Exception e) when (e.RV == CKR.CKR_USER_ALREADY_LOGGED_IN)
            {
                // Another component of this process logged in to the same token: login is per process.
            }
            catch (Pkcs11Exception e)
            {
                session.Dispose();
                throw Pkcs11Errors.Translate(e, "log in", settings.TokenLabel);
            }
            var store = new Pkcs11KeyStore(settings, slot, session, pin);
            OpenStores.Add(key, store);
            return store;
        }
    }

    /// <summary>
    /// A second, independent view of a token already open in this process, with its own index
    /// (tests use it to see the token as another process would).
    /// </summary>
    internal static Pkcs11KeyStore OpenUncached(KeyStoreSettings settings, byte[] pin)
    {
        var library = Pkcs11Libraries.Get(settings.LibraryPath, settings.SoftHsmConfig);
        var slot = FindSlot(library, settings.TokenLabel);
        var session = Pkcs11Errors.Call("open a session", settings.TokenLabel, () => slot.OpenSession(SessionType.ReadWrite));
        return new Pkcs11KeyStore(settings, slot, session, pin);
    }

    /// <summary>Labels of the initialised tokens that the library offers.</summary>
    public static IReadOnlyList<string> TokenLabels(string libraryPath, string? softHsmConfig)
    {
        var library = Pkcs11Libraries.Get(libraryPath, softHsmConfig);
        return Pkcs11Errors.Call("list tokens", libraryPath, () => library.GetSlotList(SlotsType.WithTokenPresent)
            .Select(s => s.GetTokenInfo())
            .Where(t => t.TokenFlags.TokenInitialized)
            .Select(t => t.Label.Trim())
            .ToList());
    }

    internal static ISlot FindSlot(IPkcs11Library library, string tokenLabel)
    {
        var slots = Pkcs11Errors.Call("list tokens", tokenLabel, () => library.GetSlotList(SlotsType.WithTokenPresent));
        var labels = new List<string>();
        foreach (var slot in slots)
        {
            var info = Pkcs11Errors.Call("read token information", tokenLabel, slot.GetTokenInfo);
            if (!info.TokenFlags.TokenInitialized) continue;
            var label = info.Label.Trim();
            if (label == tokenLabel) return slot;
            labels.Add(label);
        }
        var available = labels.Count == 0 ? "none" : string.Join(", ", labels.Select(l => $"'{l}'"));
        throw new QKDLiteException(ErrorIds.KeyStoreTokenNotFound, QKDLiteErrorCategory.ObjectNotFound,
            $"No token labelled '{tokenLabel}' is present. Tokens available: {available}.", tokenLabel);
    }

    /// <inheritdoc />
    public KeyStoreInfo Describe()
    {
        var info = Pkcs11Errors.Call("read token information", Settings.TokenLabel, _slot.GetTokenInfo);
        int count;
        lock (_gate)
        {
            var session = WorkSession();
            count = Fresh(session).ActiveCount;
        }
        return new KeyStoreInfo(info.Label.Trim(), info.SerialNumber.Trim(), info.ManufacturerId.Trim(), info.Model.Trim(),
            System.IO.Path.GetFullPath(Settings.LibraryPath), Settings.SoftHsmConfig, count);
    }

    /// <inheritdoc />
    public void CheckNewKeys(NewKeysRequest request)
    {
        KeyRules.CheckKeyId(request.KeyId);
        KeyRules.CheckSize(request.SizeBits);
        KeyRules.CheckCount(request.Count);
        if (request.Labels is null) return;
        if (request.Labels.Count != request.Count)
            throw new QKDLiteException(ErrorIds.KeyLabelCountMismatch, QKDLiteErrorCategory.InvalidArgument,
                $"{request.Labels.Count} labels were given for {request.Count} keys; give one label per key or none.", request.Labels.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var label in request.Labels)
        {
            KeyRules.CheckLabel(label);
            if (!seen.Add(label))
                throw DuplicateLabel(label, "appears twice in the request");
        }
        lock (_gate)
        {
            var session = WorkSession();
            var index = Fresh(session);
            foreach (var label in request.Labels)
            {
                if (index.ContainsLabel(label)) throw DuplicateLabel(label, "is already used by another key in this store");
            }
        }
    }

    /// <inheritdoc />
    public IEnumerable<QuantumKeyInfo> CreateKeys(NewKeysRequest request, IKeyMaterialSource source, CancellationToken cancellation = default)
    {
        CheckNewKeys(request);
        return CreateChecked(request, source, cancellation);
    }

    private IEnumerable<QuantumKeyInfo> CreateChecked(NewKeysRequest request, IKeyMaterialSource source, CancellationToken cancellation)
    {
        var isAes = KeyCheckValue.IsAesSize(request.SizeBits);
        var material = new byte[request.SizeBits / 8];
        var tokenLabel = Settings.TokenLabel;
        using var session = OpenSession();
        var changed = false;
        try
        {
            // One freshness check per batch, not per key: labels were checked up front and new UUIDs cannot collide.
            KeyIndex index;
            lock (_gate) index = Fresh(session);
            for (var i = 0; i < request.Count; i++)
            {
                cancellation.ThrowIfCancellationRequested();
                var label = request.Labels?[i] ?? KeyRules.NewLabel();
                QuantumKeyInfo key;
                lock (_gate)
                {
                    if (_index is not null) index = _index;
                    if (index.ContainsLabel(label)) throw DuplicateLabel(label, "is already used by another key in this store");
                    source.Fill(material);
                    var created = NextCreationTime();
                    var checkValue = KeyCheckValue.Compute(material, isAes);
                    var record = new KeyRecord(request.KeyId, source.Kind, created, KeyState.Active, request.SizeBits, checkValue);
                    key = new QuantumKeyInfo(label, request.KeyId, request.SizeBits, source.Kind, created, KeyState.Active, checkValue, tokenLabel);
                    var handle = StoreKey(session, label, record, isAes, material);
                    changed = true;
                    index.Add(label, new KeyIndex.Entry(handle, key, record));
                }
                yield return key;
            }
        }
        finally
        {
            Array.Clear(material, 0, material.Length);
            if (changed)
            {
                lock (_gate) MarkChanged(session);
            }
        }
    }

    /// <inheritdoc />
    public QuantumKeyInfo? Find(string label)
    {
        lock (_gate)
        {
            var session = WorkSession();
            var key = Fresh(session).Get(label)?.Key;
            return key?.State == KeyState.Active ? key : null;
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<QuantumKeyInfo> List(string? keyId = null)
    {
        lock (_gate)
        {
            var session = WorkSession();
            return Fresh(session).List(keyId);
        }
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, int> CountByKeyId()
    {
        lock (_gate)
        {
            var session = WorkSession();
            return Fresh(session).CountByKeyId();
        }
    }

    /// <inheritdoc />
    public void Remove(string label)
    {
        lock (_gate)
        {
            OnFreshIndex((session, index) =>
            {
                var entry = ActiveEntry(index, label);
                Pkcs11Errors.Call("destroy a key", label, () => session.DestroyObject(entry.Handle));
                index.Remove(label);
                MarkChanged(session);
                return true;
            });
        }
    }

    /// <inheritdoc />
    public byte[] ReadKeyMaterial(string label)
    {
        lock (_gate)
        {
            return OnFreshIndex((session, index) =>
            {
                var entry = ActiveEntry(index, label);
                return ReadMaterial(session, entry.Handle, label, entry.Key!.SizeBits / 8);
            });
        }
    }

    /// <summary>
    /// A copy of a key's bytes, taken out of the token wrapped under a one-time, non-sensitive session
    /// key and unwrapped in software: the stored key itself leaves the token only wrapped.
    /// </summary>
    private static byte[] ReadMaterial(ISession session, IObjectHandle handle, string label, int length)
    {
        var f = Pkcs11Libraries.Factory;
        var ephemeralTemplate = new List<IObjectAttribute>
        {
            f.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
            f.ObjectAttributeFactory.Create(CKA.CKA_KEY_TYPE, CKK.CKK_AES),
            f.ObjectAttributeFactory.Create(CKA.CKA_VALUE_LEN, 32UL),
            f.ObjectAttributeFactory.Create(CKA.CKA_TOKEN, false),
            f.ObjectAttributeFactory.Create(CKA.CKA_SENSITIVE, false),
            f.ObjectAttributeFactory.Create(CKA.CKA_EXTRACTABLE, true),
            f.ObjectAttributeFactory.Create(CKA.CKA_WRAP, true),
        };
        var ephemeral = Pkcs11Errors.Call("create a session key", label,
            () => session.GenerateKey(f.MechanismFactory.Create(CKM.CKM_AES_KEY_GEN), ephemeralTemplate));
        byte[]? kek = null;
        byte[]? wrapped = null;
        try
        {
            using var mechanism = f.MechanismFactory.Create(CKM.CKM_AES_KEY_WRAP_PAD);
            wrapped = Pkcs11Errors.Call("wrap a key", label, () => session.WrapKey(mechanism, ephemeral, handle));
            kek = session.GetAttributeValue(ephemeral, new List<CKA> { CKA.CKA_VALUE })[0].GetValueAsByteArray();
            var padded = SoftwareKeyWrap.UnwrapPadded(kek, wrapped);
            // SoftHSM2 2.6.1 wraps a key whose length is not a multiple of 8 bytes as if it were
            // zero-padded to one (see WrapPadCompliance): cut back to the key's real length.
            if (padded.Length == length) return padded;
            var exact = new byte[length];
            Buffer.BlockCopy(padded, 0, exact, 0, Math.Min(length, padded.Length));
            Array.Clear(padded, 0, padded.Length);
            return exact;
        }
        finally
        {
            if (kek is not null) Array.Clear(kek, 0, kek.Length);
            if (wrapped is not null) Array.Clear(wrapped, 0, wrapped.Length);
            session.DestroyObject(ephemeral);
        }
    }

    private static long _lastCreatedMicros;

    /// <summary>Creation time at microsecond precision, strictly increasing within the process, so listings keep creation order.</summary>
    private static DateTimeOffset NextCreationTime()
    {
        long next;
        long last;
        do
        {
            last = Interlocked.Read(ref _lastCreatedMicros);
            next = Math.Max(KeyRecord.ToUnixMicroseconds(DateTimeOffset.UtcNow), last + 1);
        }
        while (Interlocked.CompareExchange(ref _lastCreatedMicros, next, last) != last);
        return KeyRecord.FromUnixMicroseconds(next);
    }

    private KeyIndex.Entry ActiveEntry(KeyIndex index, string label)
    {
        var entry = index.Get(label);
        if (entry?.Key is null || entry.Key.State != KeyState.Active)
            throw new QKDLiteException(ErrorIds.KeyNotFound, QKDLiteErrorCategory.ObjectNotFound,
                $"No key labelled '{label}' is in the key store '{Settings.TokenLabel}'.", label);
        return entry;
    }

    private ISession OpenSession() =>
        Pkcs11Errors.Call("open a session", Settings.TokenLabel, () => _slot.OpenSession(SessionType.ReadWrite));

    private ISession? _workSession;

    /// <summary>
    /// The session single operations share. Call under _gate. Closing a session costs SoftHSM2 a walk
    /// over every object handle it knows, so a session per operation would make each operation O(n)
    /// in the token's size; this one is kept and reopened only when the token has dropped it.
    /// </summary>
    private ISession WorkSession()
    {
        if (_workSession is not null)
        {
            try
            {
                _workSession.GetSessionInfo();
                return _workSession;
            }
            catch (Pkcs11Exception)
            {
                try { _workSession.Dispose(); } catch (Pkcs11Exception) { /* already gone */ }
                _workSession = null;
            }
        }
        return _workSession = OpenSession();
    }

    /// <summary>The index, rebuilt first if any process changed the token since it was built. Call under _gate.</summary>
    private KeyIndex Fresh(ISession session)
    {
        // Inside a batch scope (a pipeline), other processes' changes are read once, at its first
        // operation: reading the marker costs SoftHSM2 a file read per call, a large share of a
        // single export or import. A key another process destroys meanwhile is caught by
        // OnFreshIndex; a label another process creates meanwhile is seen by the next scope.
        if (_deferDepth > 0 && _freshInScope && _index is not null) return _index;
        var check = Interlocked.Increment(ref _checksStarted);
        var checkStartedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        var generation = Pkcs11Errors.Call("read the store generation", Settings.TokenLabel, () => _generation.Read(session));
        if (_index is null || !generation.SequenceEqual(_indexGeneration))
        {
            _index = Pkcs11Errors.Call("list keys", Settings.TokenLabel, () => BuildIndex(session));
            _indexGeneration = generation;
        }
        _indexCheckedBy = check;
        _indexCheckedAt = checkStartedAt;
        _freshInScope = _deferDepth > 0;
        return _index;
    }

    /// <summary>
    /// Like <see cref="Fresh"/> for a read that arrived when <paramref name="checksAtArrival"/> checks
    /// had begun: if a check that began after it arrived has completed, the index already shows every
    /// change made before the read arrived, and the marker is not read again. Concurrent reads (ETSI
    /// status under load) thus share one marker read, which costs SoftHSM2 a file check. Call under _gate.
    /// </summary>
    private KeyIndex FreshSince(ISession session, long checksAtArrival) =>
        _index is not null && _indexCheckedBy > checksAtArrival ? _index : Fresh(session);

    /// <summary>The number of index checks begun so far; pass it to <see cref="FreshSince"/>.</summary>
    private long ChecksStarted => Interlocked.Read(ref _checksStarted);

    /// <summary>
    /// The index if its last check began at most <paramref name="maxAge"/> ago, without touching the
    /// token; otherwise as <see cref="FreshSince"/>. Call under _gate.
    /// </summary>
    private KeyIndex Recent(TimeSpan maxAge, long checksAtArrival)
    {
        var age = System.Diagnostics.Stopwatch.GetTimestamp() - _indexCheckedAt;
        if (_index is not null && age >= 0 && age <= maxAge.TotalSeconds * System.Diagnostics.Stopwatch.Frequency) return _index;
        return FreshSince(WorkSession(), checksAtArrival);
    }

    private long _checksStarted;
    private long _indexCheckedBy;
    private long _indexCheckedAt;

    /// <summary>
    /// Runs <paramref name="operation"/> on the work session and the fresh index. Call under _gate.
    /// A handle that another process invalidated meanwhile (a destroyed key, a replaced transport
    /// key) rebuilds the index and runs the operation once more, so it reports what is there now.
    /// </summary>
    private T OnFreshIndex<T>(Func<ISession, KeyIndex, T> operation)
    {
        var session = WorkSession();
        try
        {
            return operation(session, Fresh(session));
        }
        catch (Exception e) when (HandleWasInvalidated(e))
        {
            _index = null;
            return operation(session, Fresh(session));
        }
    }

    private static bool HandleWasInvalidated(Exception e) =>
        (e as Pkcs11Exception ?? e.InnerException as Pkcs11Exception)?.RV is CKR.CKR_OBJECT_HANDLE_INVALID or CKR.CKR_KEY_HANDLE_INVALID;

    private int _deferDepth;
    private bool _changePending;
    private bool _freshInScope;

    /// <summary>
    /// A batch scope: holds back the change marker until the returned scope is disposed, so that a
    /// pipeline of many single-key operations writes it once rather than once per key, and reads
    /// other processes' changes once, at its first operation. Other processes see the changes when
    /// the scope ends.
    /// </summary>
    public IDisposable DeferChangeNotification()
    {
        lock (_gate) _deferDepth++;
        return new DeferScope(this);
    }

    private sealed class DeferScope : IDisposable
    {
        private Pkcs11KeyStore? _store;

        public DeferScope(Pkcs11KeyStore store) => _store = store;

        public void Dispose()
        {
            var store = Interlocked.Exchange(ref _store, null);
            if (store is null) return;
            lock (store._gate)
            {
                if (--store._deferDepth > 0) return;
                store._freshInScope = false;
                if (!store._changePending) return;
                store._changePending = false;
                var session = store.WorkSession();
                store.PublishChange(session);
            }
        }
    }

    /// <summary>Publishes a change to other processes (now, or when the deferral ends). Call under _gate, after the change.</summary>
    private void MarkChanged(ISession session)
    {
        if (_deferDepth > 0)
        {
            _changePending = true;
            return;
        }
        PublishChange(session);
    }

    private void PublishChange(ISession session)
    {
        var before = _generation.Read(session);
        var inStep = before.SequenceEqual(_indexGeneration);
        var after = Pkcs11Errors.Call("update the store generation", Settings.TokenLabel, () => _generation.Bump(session));
        // If someone else changed the token meanwhile, our index misses their change: rebuild next time.
        _indexGeneration = inStep ? after : Array.Empty<byte>();
        if (!inStep) _index = null;
    }

    private KeyIndex BuildIndex(ISession session)
    {
        var f = Pkcs11Libraries.Factory.ObjectAttributeFactory;
        var template = new List<IObjectAttribute>
        {
            f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
            f.Create(CKA.CKA_TOKEN, true),
        };
        var wanted = new List<CKA> { CKA.CKA_LABEL, CKA.CKA_ID };
        var index = new KeyIndex();
        foreach (var handle in session.FindAllObjects(template))
        {
            List<IObjectAttribute> attributes;
            try
            {
                attributes = session.GetAttributeValue(handle, wanted);
            }
            catch (Pkcs11Exception e) when (e.RV == CKR.CKR_OBJECT_HANDLE_INVALID)
            {
                continue; // destroyed by another process while we listed
            }
            var label = attributes[0].CannotBeRead ? null : attributes[0].GetValueAsString();
            if (string.IsNullOrEmpty(label)) continue;
            QuantumKeyInfo? key = null;
            KeyRecord? kept = null;
            if (!attributes[1].CannotBeRead && KeyRecord.TryDecode(attributes[1].GetValueAsByteArray(), out var record))
            {
                key = new QuantumKeyInfo(label!, record.KeyId, record.SizeBits, record.Source, record.Created, record.State, record.CheckValue, Settings.TokenLabel);
                kept = record;
            }
            index.Add(label!, new KeyIndex.Entry(handle, key, kept));
        }
        return index;
    }

    /// <summary>Creates the token key <paramref name="label"/> from <paramref name="material"/>, which is cleared either way.</summary>
    private static IObjectHandle StoreKey(ISession session, string label, KeyRecord record, bool isAes, byte[] material)
    {
        var template = KeyTemplate(label, record, isAes, material);
        try
        {
            return Pkcs11Errors.Call("store a key", label, () => session.CreateObject(template));
        }
        finally
        {
            Array.Clear(material, 0, material.Length);
            // The attribute objects hold their own copy of CKA_VALUE in unmanaged memory; free it now.
            foreach (var attribute in template) attribute.Dispose();
        }
    }

    private static List<IObjectAttribute> KeyTemplate(string label, KeyRecord record, bool isAes, byte[]? material)
    {
        var f = Pkcs11Libraries.Factory.ObjectAttributeFactory;
        var template = new List<IObjectAttribute>
        {
            f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
            f.Create(CKA.CKA_KEY_TYPE, isAes ? CKK.CKK_AES : CKK.CKK_GENERIC_SECRET),
            f.Create(CKA.CKA_TOKEN, true),
            f.Create(CKA.CKA_PRIVATE, true),
            // Sensitive but extractable: the bytes leave the token only wrapped under another key.
            f.Create(CKA.CKA_SENSITIVE, true),
            f.Create(CKA.CKA_EXTRACTABLE, true),
            // Modifiable so that replication can change the state held in CKA_ID.
            f.Create(CKA.CKA_MODIFIABLE, true),
            f.Create(CKA.CKA_LABEL, label),
            f.Create(CKA.CKA_ID, record.Encode()),
            f.Create(CKA.CKA_SIGN, true),
            f.Create(CKA.CKA_VERIFY, true),
            f.Create(CKA.CKA_DERIVE, true),
            // A business key must never wrap other keys out of the HSM.
            f.Create(CKA.CKA_WRAP, false),
            f.Create(CKA.CKA_UNWRAP, false),
        };
        if (material is not null) template.Add(f.Create(CKA.CKA_VALUE, material));
        if (isAes)
        {
            template.Add(f.Create(CKA.CKA_ENCRYPT, true));
            template.Add(f.Create(CKA.CKA_DECRYPT, true));
        }
        return template;
    }

    private bool PinMatches(byte[] pin)
    {
        var digest = PinDigest(_pinSalt, pin);
        var difference = 0;
        for (var i = 0; i < digest.Length; i++) difference |= digest[i] ^ _pinDigest[i];
        return difference == 0;
    }

    private static byte[] PinDigest(byte[] salt, byte[] pin)
    {
        using var hmac = new HMACSHA256(salt);
        return hmac.ComputeHash(pin);
    }

    private QKDLiteException DuplicateLabel(string label, string why) =>
        new(ErrorIds.DuplicateKeyLabel, QKDLiteErrorCategory.ResourceExists,
            $"Key label '{label}' {why}; labels must be unique. Nothing was created.", label);
}
