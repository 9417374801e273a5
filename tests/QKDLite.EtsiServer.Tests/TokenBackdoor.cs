using System;
using System.Collections.Generic;
using System.Linq;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using QKDLite.Core.Crypto;
using QKDLite.Core.Keys;
using QKDLite.Core.KeyStore;
using QKDLite.Core.Pkcs11;

namespace QKDLite.EtsiServer.Tests;

/// <summary>
/// Changes a token the way another process would, behind the back of this process's store: a
/// pending key as replication's prepare step leaves it, and a key destroyed without publishing the change.
/// </summary>
internal static class TokenBackdoor
{
    /// <summary>Stores a pending (prepared, not committed) key and publishes the change, as a replicating process does.</summary>
    public static string CreatePendingKey(KeyStoreSettings settings, string keyId, int sizeBits)
    {
        var label = KeyRules.NewLabel();
        var material = new byte[sizeBits / 8];
        System.Security.Cryptography.RandomNumberGenerator.Fill(material);
        var isAes = KeyCheckValue.IsAesSize(sizeBits);
        var record = new KeyRecord(keyId, KeySource.Qrng, DateTimeOffset.UtcNow.AddDays(-1), KeyState.Pending, sizeBits, KeyCheckValue.Compute(material, isAes));
        var f = Pkcs11Libraries.Factory.ObjectAttributeFactory;
        var template = new List<IObjectAttribute>
        {
            f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
            f.Create(CKA.CKA_KEY_TYPE, isAes ? CKK.CKK_AES : CKK.CKK_GENERIC_SECRET),
            f.Create(CKA.CKA_TOKEN, true),
            f.Create(CKA.CKA_PRIVATE, true),
            f.Create(CKA.CKA_SENSITIVE, true),
            f.Create(CKA.CKA_EXTRACTABLE, true),
            f.Create(CKA.CKA_MODIFIABLE, true),
            f.Create(CKA.CKA_LABEL, label),
            f.Create(CKA.CKA_ID, record.Encode()),
            f.Create(CKA.CKA_VALUE, material),
        };
        using var session = OpenSession(settings);
        session.CreateObject(template);
        new StoreGeneration().Bump(session);
        return label;
    }

    /// <summary>Destroys a key without touching the change marker: the store's index still holds its now invalid handle.</summary>
    public static void DestroySilently(KeyStoreSettings settings, string label)
    {
        var f = Pkcs11Libraries.Factory.ObjectAttributeFactory;
        using var session = OpenSession(settings);
        var handles = session.FindAllObjects(new List<IObjectAttribute> { f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY), f.Create(CKA.CKA_LABEL, label) });
        if (handles.Count == 0) throw new InvalidOperationException($"no object labelled {label}");
        foreach (var handle in handles) session.DestroyObject(handle);
    }

    /// <summary>True when an object with this label is on the token (active or pending).</summary>
    public static bool Exists(KeyStoreSettings settings, string label)
    {
        var f = Pkcs11Libraries.Factory.ObjectAttributeFactory;
        using var session = OpenSession(settings);
        return session.FindAllObjects(new List<IObjectAttribute> { f.Create(CKA.CKA_LABEL, label) }).Any();
    }

    private static ISession OpenSession(KeyStoreSettings settings)
    {
        var library = Pkcs11Libraries.Get(settings.LibraryPath, settings.SoftHsmConfig);
        // The store logged this process in already (login is per process).
        return Pkcs11KeyStore.FindSlot(library, settings.TokenLabel).OpenSession(SessionType.ReadWrite);
    }
}
