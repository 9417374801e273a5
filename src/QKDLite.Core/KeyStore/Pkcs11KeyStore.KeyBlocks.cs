using System;
using System.Collections.Generic;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using QKDLite.Core.Crypto;
using QKDLite.Core.Errors;
using QKDLite.Core.KeyBlocks;
using QKDLite.Core.Keys;
using QKDLite.Core.Pkcs11;

namespace QKDLite.Core.KeyStore;

/// <summary>
/// Export and import of key blocks: keys leave and enter the token only wrapped under the transport
/// key (RFC 5649, inside the HSM), with a header authenticated by the transport key's HMAC key.
/// </summary>
public sealed partial class Pkcs11KeyStore
{
    private bool? _wrapPadCompliant;

    /// <summary>Whether the token wraps keys of any byte length as RFC 5649 says (probed once).</summary>
    internal bool WrapPadIsCompliant
    {
        get
        {
            lock (_gate)
            {
                var session = WorkSession();
                return _wrapPadCompliant ??= WrapPadCompliance.Probe(session);
            }
        }
    }

    /// <summary>Wraps the active key <paramref name="label"/> into a key block.</summary>
    public KeyBlock Export(string label)
    {
        lock (_gate) return OnFreshIndex((session, index) => Export(session, index, label));
    }

    private KeyBlock Export(ISession session, KeyIndex index, string label) =>
        WrapIntoBlock(session, index, ActiveEntry(index, label), label);

    /// <summary>Wraps the key of <paramref name="entry"/> under the transport key into an authenticated key block.</summary>
    private KeyBlock WrapIntoBlock(ISession session, KeyIndex index, KeyIndex.Entry entry, string label)
    {
        var transport = RequireTransportKey(session, index);
        var key = entry.Key!;
        if (key.SizeBits % 64 != 0 && !(_wrapPadCompliant ??= WrapPadCompliance.Probe(session)))
            throw new QKDLiteException(ErrorIds.KeySizeNotExportable, QKDLiteErrorCategory.InvalidOperation,
                $"Key '{label}' is {key.SizeBits} bits. This token's RFC 5649 wrapping is not standard for keys that are not a multiple of 64 bits, so its key block could not be imported on other HSMs. Nothing was exported.", label);
        // The header's check value is what importers and administrators compare: prove it is this key's.
        if (CheckValueInToken(session, entry.Handle, label, key.SizeBits, KeyCheckValue.IsAesSize(key.SizeBits)) != key.CheckValue)
            throw new QKDLiteException(ErrorIds.KeyCheckValueMismatch, QKDLiteErrorCategory.InvalidData,
                $"Key '{label}' does not match the check value recorded with it ({key.CheckValue}); its metadata is damaged. Nothing was exported.", label);
        var f = Pkcs11Libraries.Factory.MechanismFactory;
        using var wrapMechanism = f.Create(CKM.CKM_AES_KEY_WRAP_PAD);
        var wrapped = Pkcs11Errors.Call("wrap a key under the transport key", label, () => session.WrapKey(wrapMechanism, transport.Wrap, entry.Handle));
        var header = new KeyBlockHeader(key.Label, key.KeyId, key.SizeBits, key.Source, key.Created, key.CheckValue, transport.Info.CheckValue);
        var signed = KeyBlockCodec.SignedPart(header, wrapped);
        using var macMechanism = f.Create(CKM.CKM_SHA256_HMAC);
        var mac = Pkcs11Errors.Call("authenticate a key block", label, () => session.Sign(macMechanism, transport.Mac, signed));
        return new KeyBlock(header, KeyBlockCodec.Text(signed, mac));
    }

    /// <summary>
    /// Verifies a key block completely, then stores its key under the original label and keyID.
    /// Importing a block whose key is already here (same label, same check value) changes nothing and
    /// returns the existing key with <c>Created = false</c>; a different key under that label is refused.
    /// </summary>
    public (QuantumKeyInfo Key, bool Created) Import(string blockText)
    {
        var (key, created) = Import(blockText, _ => true);
        return (key!, created);
    }

    /// <summary>
    /// As <see cref="Import(string)"/>, asking <paramref name="confirm"/> once the block is fully
    /// verified and before anything is written; a declined block returns a null key.
    /// </summary>
    public (QuantumKeyInfo? Key, bool Created) Import(string blockText, Func<KeyBlock, bool> confirm)
    {
        var block = KeyBlockCodec.Parse(blockText);
        lock (_gate) return OnFreshIndex((session, index) => Import(session, index, block, blockText, confirm));
    }

    private (QuantumKeyInfo? Key, bool Created) Import(ISession session, KeyIndex index, KeyBlockCodec.Parsed block, string blockText, Func<KeyBlock, bool> confirm)
    {
        var header = block.Header;
        var transport = Verify(session, index, block, out var present);
        if (present is not null) return (present, false);
        if (!confirm(new KeyBlock(header, blockText.Trim()))) return (null, false);
        var record = new KeyRecord(header.KeyId, header.Source, header.Created, KeyState.Active, header.SizeBits, header.CheckValue);
        var handle = UnwrapBlock(session, transport, block, record);
        // No second check of the key here: the exporter checked the header's check value against
        // the key itself, the MAC binds that header to the wrapped key, and RFC 5649's integrity
        // check proves the unwrapped bytes are the wrapped ones. (Touching the new token object
        // again would cost more than the unwrap on SoftHSM2.)
        var key = new QuantumKeyInfo(header.Label, header.KeyId, header.SizeBits, header.Source, header.Created, KeyState.Active, header.CheckValue, Settings.TokenLabel);
        index.Add(header.Label, new KeyIndex.Entry(handle, key, record));
        MarkChanged(session);
        return (key, true);
    }

    /// <summary>Unwraps a verified block's key into a token object described by <paramref name="record"/>.</summary>
    private static IObjectHandle UnwrapBlock(ISession session, TransportKeyHandles transport, KeyBlockCodec.Parsed block, KeyRecord record)
    {
        var label = block.Header.Label;
        var template = UnwrapTemplate(label, record, KeyCheckValue.IsAesSize(block.Header.SizeBits));
        using (var unwrapMechanism = Pkcs11Libraries.Factory.MechanismFactory.Create(CKM.CKM_AES_KEY_WRAP_PAD))
        {
            try
            {
                return session.UnwrapKey(unwrapMechanism, transport.Wrap, block.Wrapped, template);
            }
            catch (Pkcs11Exception e) when (e.RV is CKR.CKR_WRAPPED_KEY_INVALID or CKR.CKR_ENCRYPTED_DATA_INVALID or CKR.CKR_WRAPPED_KEY_LEN_RANGE)
            {
                throw Tampered(label);
            }
            catch (Pkcs11Exception e)
            {
                throw Pkcs11Errors.Translate(e, "unwrap a key", label);
            }
            finally
            {
                foreach (var attribute in template) attribute.Dispose();
            }
        }
    }

    // The same attributes as a key created here, less CKA_VALUE (it comes from the block); no
    // CKA_VALUE_LEN either, which SoftHSM2 refuses in an unwrap template.
    /// <summary>
    /// A key's check value: for AES by encrypting the zero block inside the token (the key may encrypt),
    /// otherwise from a wrapped copy of its bytes.
    /// </summary>
    private static string CheckValueInToken(ISession session, IObjectHandle handle, string label, int sizeBits, bool isAes)
    {
        if (isAes)
        {
            using var ecb = Pkcs11Libraries.Factory.MechanismFactory.Create(CKM.CKM_AES_ECB);
            var block = Pkcs11Errors.Call("compute a check value", label, () => session.Encrypt(ecb, handle, new byte[16]));
            return KeyCheckValue.ToHex(block, 3);
        }
        var material = ReadMaterial(session, handle, label, sizeBits / 8);
        try
        {
            return KeyCheckValue.Compute(material, isAes: false);
        }
        finally
        {
            Array.Clear(material, 0, material.Length);
        }
    }

    /// <summary>Everything short of writing; returns the transport key, and the existing key when the block's key is already here.</summary>
    private TransportKeyHandles Verify(ISession session, KeyIndex index, KeyBlockCodec.Parsed block, out QuantumKeyInfo? alreadyPresent)
    {
        var header = block.Header;
        var transport = RequireTransportKey(session, index);
        if (header.TransportKeyCheckValue != transport.Info.CheckValue)
            throw new QKDLiteException(ErrorIds.KeyBlockWrongTransportKey, QKDLiteErrorCategory.SecurityError,
                $"Key block '{header.Label}' was made under the transport key with check value {header.TransportKeyCheckValue}; this node's has {transport.Info.CheckValue}. Nothing was imported.", header.Label);
        using (var macMechanism = Pkcs11Libraries.Factory.MechanismFactory.Create(CKM.CKM_SHA256_HMAC))
        {
            session.Verify(macMechanism, transport.Mac, block.SignedPart, block.Mac, out var authentic);
            if (!authentic) throw Tampered(header.Label);
        }
        try
        {
            KeyRules.CheckLabel(header.Label);
            KeyRules.CheckKeyId(header.KeyId);
            KeyRules.CheckSize(header.SizeBits);
        }
        catch (QKDLiteException e)
        {
            throw new QKDLiteException(ErrorIds.KeyBlockMalformed, QKDLiteErrorCategory.InvalidData,
                $"Key block '{header.Label}' is authentic but its header breaks QKDLite's rules: {e.Message} Nothing was imported.", header.Label, e);
        }
        alreadyPresent = null;
        var existing = index.Get(header.Label);
        if (existing is not null)
        {
            if (existing.Key is not null && existing.Key.State == KeyState.Active && existing.Key.CheckValue == header.CheckValue
                && existing.Key.KeyId == header.KeyId)
            {
                alreadyPresent = existing.Key;
                return transport;
            }
            throw new QKDLiteException(ErrorIds.KeyLabelConflict, QKDLiteErrorCategory.ResourceExists,
                $"Key store '{Settings.TokenLabel}' already holds a different key labelled '{header.Label}'. Nothing was imported.", header.Label);
        }
        if (header.SizeBits % 64 != 0 && !(_wrapPadCompliant ??= WrapPadCompliance.Probe(session)))
            throw new QKDLiteException(ErrorIds.KeySizeNotExportable, QKDLiteErrorCategory.InvalidOperation,
                $"Key block '{header.Label}' holds a {header.SizeBits}-bit key. This token's RFC 5649 unwrapping is not standard for keys that are not a multiple of 64 bits. Nothing was imported.", header.Label);
        return transport;
    }

    private static List<IObjectAttribute> UnwrapTemplate(string label, KeyRecord record, bool isAes) =>
        KeyTemplate(label, record, isAes, material: null);

    private static QKDLiteException Tampered(string label) =>
        new(ErrorIds.KeyBlockTampered, QKDLiteErrorCategory.SecurityError,
            $"Key block '{label}' failed authentication: its header or wrapped key was changed, or it was not made under this node's transport key. Nothing was imported.", label);
}
