using System;
using System.Collections.Generic;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using QKDLite.Core.Crypto;
using QKDLite.Core.Errors;
using QKDLite.Core.Pkcs11;
using QKDLite.Core.TransportKeys;

namespace QKDLite.Core.KeyStore;

/// <summary>
/// The transport key (TK) part of the store. The TK is an AES-256 token object that can only wrap
/// and unwrap: sensitive, not extractable, not modifiable. Key blocks are also authenticated, which a
/// wrap-only key cannot do, so a second object holds an HMAC key derived one-way from the TK
/// (sign/verify only). Both are created together from the same TK bytes and replaced together.
/// </summary>
public sealed partial class Pkcs11KeyStore
{
    internal const string TransportKeyLabel = "QKDLite transport key";
    internal const string TransportMacKeyLabel = "QKDLite transport key (authentication)";
    internal const string TransportKeyRequestLabel = "QKDLite transport key request";
    private const string TransportRecordPrefix = "QKDLite-TK\u001F1|";
    private static readonly byte[] MacKeyContext = Encoding.ASCII.GetBytes("QKDLite key block authentication v1");

    /// <summary>The transport key's description, or null when none is set.</summary>
    public TransportKeyInfo? GetTransportKey()
    {
        lock (_gate)
        {
            using var session = OpenSession();
            return FindTransportKey(session, Fresh(session))?.Info;
        }
    }

    /// <summary>
    /// Stores <paramref name="transportKey"/> (32 bytes) as this node's transport key. An existing one is
    /// replaced only with <paramref name="replace"/>. The caller owns and clears the bytes.
    /// </summary>
    public TransportKeyInfo SetTransportKey(byte[] transportKey, TransportKeyOrigin origin, bool replace)
    {
        lock (_gate)
        {
            using var session = OpenSession();
            return StoreTransportKey(session, transportKey, origin, replace);
        }
    }

    /// <summary>
    /// Starts an ML-KEM transfer on the receiving node: a new ML-KEM-1024 key pair whose decapsulation
    /// key (its seed) is kept in the token as a sensitive object, replacing any earlier request.
    /// </summary>
    public TransportKeyRequest CreateTransportKeyRequest()
    {
        var (seed, encapsulationKey) = MlKemTransfer.NewKeyPair();
        try
        {
            lock (_gate)
            {
                using var session = OpenSession();
                var index = Fresh(session);
                var existing = index.Get(TransportKeyRequestLabel);
                if (existing is not null)
                {
                    Pkcs11Errors.Call("destroy the earlier transport key request", TransportKeyRequestLabel, () => session.DestroyObject(existing.Handle));
                    index.Remove(TransportKeyRequestLabel);
                }
                var created = NextCreationTime();
                var f = Pkcs11Libraries.Factory.ObjectAttributeFactory;
                var template = new List<IObjectAttribute>
                {
                    f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
                    f.Create(CKA.CKA_KEY_TYPE, CKK.CKK_GENERIC_SECRET),
                    f.Create(CKA.CKA_TOKEN, true),
                    f.Create(CKA.CKA_PRIVATE, true),
                    f.Create(CKA.CKA_SENSITIVE, true),
                    // Extractable only so that QKDLite can read it back wrapped under a one-time key to decapsulate.
                    f.Create(CKA.CKA_EXTRACTABLE, true),
                    f.Create(CKA.CKA_MODIFIABLE, false),
                    f.Create(CKA.CKA_SIGN, false),
                    f.Create(CKA.CKA_VERIFY, false),
                    f.Create(CKA.CKA_DERIVE, false),
                    f.Create(CKA.CKA_WRAP, false),
                    f.Create(CKA.CKA_UNWRAP, false),
                    f.Create(CKA.CKA_LABEL, TransportKeyRequestLabel),
                    f.Create(CKA.CKA_ID, Encoding.ASCII.GetBytes("QKDLite-TKR\u001F1|" + KeyRecord.ToUnixMicroseconds(created).ToString(CultureInfo.InvariantCulture))),
                    f.Create(CKA.CKA_VALUE, seed),
                };
                IObjectHandle handle;
                try
                {
                    handle = Pkcs11Errors.Call("store the transport key request", TransportKeyRequestLabel, () => session.CreateObject(template));
                }
                finally
                {
                    foreach (var attribute in template) attribute.Dispose();
                }
                index.Add(TransportKeyRequestLabel, new KeyIndex.Entry(handle, null));
                MarkChanged(session);
                return new TransportKeyRequest(Convert.ToBase64String(encapsulationKey), MlKemTransfer.Fingerprint(encapsulationKey), created, Settings.TokenLabel);
            }
        }
        finally
        {
            Array.Clear(seed, 0, seed.Length);
        }
    }

    /// <summary>
    /// Finishes an ML-KEM transfer on the receiving node: decapsulates <paramref name="ciphertextText"/> (as Set-TransportKey -EncapsulationKey returns it)
    /// with the pending request's key, stores the derived transport key and destroys the request.
    /// </summary>
    public TransportKeyInfo CompleteTransportKeyRequest(string ciphertextText, bool replace)
    {
        var (fingerprint, ciphertext, confirmation) = MlKemTransfer.ParseCiphertext(ciphertextText);
        lock (_gate)
        {
            using var session = OpenSession();
            var index = Fresh(session);
            var request = index.Get(TransportKeyRequestLabel)
                ?? throw new QKDLiteException(ErrorIds.TransportKeyRequestNotFound, QKDLiteErrorCategory.ObjectNotFound,
                    $"Key store '{Settings.TokenLabel}' has no pending transport key request. Run New-TransportKeyRequest on this node first.", Settings.TokenLabel);
            if (!replace && FindTransportKey(session, index) is not null) throw TransportKeyExists();
            var seed = ReadMaterial(session, request.Handle, TransportKeyRequestLabel, 64);
            byte[]? transportKey = null;
            try
            {
                var pending = MlKemTransfer.Fingerprint(MlKemTransfer.EncapsulationKeyOf(seed));
                if (pending != fingerprint)
                    throw new QKDLiteException(ErrorIds.TransportKeyRequestMismatch, QKDLiteErrorCategory.InvalidData,
                        $"The ciphertext answers the request with fingerprint {fingerprint}, but this node's pending request has fingerprint {pending}. Send the current encapsulation key to the sending node again. Nothing was changed.", fingerprint);
                transportKey = MlKemTransfer.Decapsulate(seed, ciphertext);
                // ML-KEM decapsulation never fails: a wrong ciphertext just gives another key. The tag proves both sides derived the same one.
                if (MlKemTransfer.Confirmation(transportKey, fingerprint, ciphertext) != confirmation)
                    throw new QKDLiteException(ErrorIds.TransportKeyConfirmationFailed, QKDLiteErrorCategory.SecurityError,
                        "The ciphertext does not confirm the transport key: it was altered on the way, or made by a node that did not use this request. Nothing was changed.", fingerprint);
                var info = StoreTransportKey(session, transportKey, TransportKeyOrigin.MlKemDecapsulation, replace);
                Pkcs11Errors.Call("destroy the transport key request", TransportKeyRequestLabel, () => session.DestroyObject(request.Handle));
                _index?.Remove(TransportKeyRequestLabel);
                MarkChanged(session);
                return info;
            }
            finally
            {
                Array.Clear(seed, 0, seed.Length);
                if (transportKey is not null) Array.Clear(transportKey, 0, transportKey.Length);
            }
        }
    }

    /// <summary>Handles and description of the transport key pair, or null.</summary>
    internal sealed class TransportKeyHandles
    {
        public TransportKeyHandles(IObjectHandle wrap, IObjectHandle mac, TransportKeyInfo info)
        {
            Wrap = wrap;
            Mac = mac;
            Info = info;
        }

        public IObjectHandle Wrap { get; }
        public IObjectHandle Mac { get; }
        public TransportKeyInfo Info { get; }
    }

    private TransportKeyHandles RequireTransportKey(ISession session, KeyIndex index) =>
        FindTransportKey(session, index) ?? throw new QKDLiteException(ErrorIds.TransportKeyNotSet, QKDLiteErrorCategory.InvalidOperation,
            $"Key store '{Settings.TokenLabel}' has no transport key. Provision one with Set-TransportKey.", Settings.TokenLabel);

    private TransportKeyHandles? FindTransportKey(ISession session, KeyIndex index)
    {
        if (index.TransportKey is TransportKeyHandles cached) return cached;
        var found = ReadTransportKey(session, index);
        index.TransportKey = found;
        return found;
    }

    private TransportKeyHandles? ReadTransportKey(ISession session, KeyIndex index)
    {
        var wrap = index.Get(TransportKeyLabel);
        var mac = index.Get(TransportMacKeyLabel);
        if (wrap is null || mac is null) return null;
        var id = Pkcs11Errors.Call("read the transport key", TransportKeyLabel,
            () => session.GetAttributeValue(wrap.Handle, new List<CKA> { CKA.CKA_ID })[0].GetValueAsByteArray());
        var record = Encoding.ASCII.GetString(id ?? Array.Empty<byte>());
        if (!record.StartsWith(TransportRecordPrefix, StringComparison.Ordinal)) return null;
        var parts = record.Substring(TransportRecordPrefix.Length).Split('|');
        if (parts.Length != 3 || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var micros)) return null;
        var origin = parts[0] switch
        {
            "C" => TransportKeyOrigin.Components,
            "G" => TransportKeyOrigin.Generated,
            "E" => TransportKeyOrigin.MlKemEncapsulation,
            _ => TransportKeyOrigin.MlKemDecapsulation,
        };
        return new TransportKeyHandles(wrap.Handle, mac.Handle,
            new TransportKeyInfo(TransportKeyLabel, KeyRecord.FromUnixMicroseconds(micros), parts[2], origin, Settings.TokenLabel));
    }

    private TransportKeyInfo StoreTransportKey(ISession session, byte[] transportKey, TransportKeyOrigin origin, bool replace)
    {
        if (transportKey.Length != KeyComponents.KeyBytes)
            throw new QKDLiteException(ErrorIds.ComponentMalformed, QKDLiteErrorCategory.InvalidArgument, "A transport key is 256 bits.", null);
        var index = Fresh(session);
        var existingWrap = index.Get(TransportKeyLabel);
        var existingMac = index.Get(TransportMacKeyLabel);
        if ((existingWrap is not null || existingMac is not null) && !replace) throw TransportKeyExists();

        var checkValue = KeyCheckValue.Compute(transportKey, isAes: true);
        var created = NextCreationTime();
        var code = origin switch
        {
            TransportKeyOrigin.Components => "C",
            TransportKeyOrigin.Generated => "G",
            TransportKeyOrigin.MlKemEncapsulation => "E",
            _ => "D",
        };
        var record = Encoding.ASCII.GetBytes(TransportRecordPrefix + code + "|" + KeyRecord.ToUnixMicroseconds(created).ToString(CultureInfo.InvariantCulture) + "|" + checkValue);
        byte[] macKey;
        using (var hmac = new HMACSHA256(transportKey)) macKey = hmac.ComputeHash(MacKeyContext);
        var f = Pkcs11Libraries.Factory.ObjectAttributeFactory;
        var wrapTemplate = new List<IObjectAttribute>
        {
            f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY), f.Create(CKA.CKA_KEY_TYPE, CKK.CKK_AES),
            f.Create(CKA.CKA_TOKEN, true), f.Create(CKA.CKA_PRIVATE, true),
            f.Create(CKA.CKA_SENSITIVE, true), f.Create(CKA.CKA_EXTRACTABLE, false), f.Create(CKA.CKA_MODIFIABLE, false),
            f.Create(CKA.CKA_WRAP, true), f.Create(CKA.CKA_UNWRAP, true),
            f.Create(CKA.CKA_ENCRYPT, false), f.Create(CKA.CKA_DECRYPT, false),
            f.Create(CKA.CKA_SIGN, false), f.Create(CKA.CKA_VERIFY, false), f.Create(CKA.CKA_DERIVE, false),
            f.Create(CKA.CKA_LABEL, TransportKeyLabel), f.Create(CKA.CKA_ID, record),
            f.Create(CKA.CKA_VALUE, transportKey),
        };
        var macTemplate = new List<IObjectAttribute>
        {
            f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY), f.Create(CKA.CKA_KEY_TYPE, CKK.CKK_GENERIC_SECRET),
            f.Create(CKA.CKA_TOKEN, true), f.Create(CKA.CKA_PRIVATE, true),
            f.Create(CKA.CKA_SENSITIVE, true), f.Create(CKA.CKA_EXTRACTABLE, false), f.Create(CKA.CKA_MODIFIABLE, false),
            f.Create(CKA.CKA_SIGN, true), f.Create(CKA.CKA_VERIFY, true),
            f.Create(CKA.CKA_WRAP, false), f.Create(CKA.CKA_UNWRAP, false), f.Create(CKA.CKA_DERIVE, false),
            f.Create(CKA.CKA_LABEL, TransportMacKeyLabel), f.Create(CKA.CKA_ID, record),
            f.Create(CKA.CKA_VALUE, macKey),
        };
        try
        {
            foreach (var existing in new[] { existingWrap, existingMac })
            {
                if (existing is null) continue;
                Pkcs11Errors.Call("destroy the old transport key", TransportKeyLabel, () => session.DestroyObject(existing.Handle));
            }
            index.Remove(TransportKeyLabel);
            index.Remove(TransportMacKeyLabel);
            var wrapHandle = Pkcs11Errors.Call("store the transport key", TransportKeyLabel, () => session.CreateObject(wrapTemplate));
            IObjectHandle macHandle;
            try
            {
                macHandle = Pkcs11Errors.Call("store the transport key", TransportMacKeyLabel, () => session.CreateObject(macTemplate));
            }
            catch
            {
                // Never leave half a transport key behind.
                session.DestroyObject(wrapHandle);
                throw;
            }
            index.Add(TransportKeyLabel, new KeyIndex.Entry(wrapHandle, null));
            index.Add(TransportMacKeyLabel, new KeyIndex.Entry(macHandle, null));
            MarkChanged(session);
            return new TransportKeyInfo(TransportKeyLabel, created, checkValue, origin, Settings.TokenLabel);
        }
        finally
        {
            Array.Clear(macKey, 0, macKey.Length);
            foreach (var attribute in wrapTemplate) attribute.Dispose();
            foreach (var attribute in macTemplate) attribute.Dispose();
        }
    }

    private QKDLiteException TransportKeyExists() =>
        new(ErrorIds.TransportKeyExists, QKDLiteErrorCategory.ResourceExists,
            $"Key store '{Settings.TokenLabel}' already has a transport key. Replacing it needs -Force; keys exported under the old one can then no longer be imported here.", Settings.TokenLabel);
}
