using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using QKDLite.Core.Crypto;
using QKDLite.Core.Pkcs11;

namespace QKDLite.Core.KeyStore;

/// <summary>
/// Whether the token's CKM_AES_KEY_WRAP_PAD is RFC 5649 for keys whose length is not a multiple of
/// 8 bytes. SoftHSM2 2.6.1 is not: it wraps such a key as if it were zero-padded to the next multiple
/// of 8 (the block's length indicator says 24 for a 20-byte key), and unwraps keeping the padding.
/// A key block made that way would not import correctly on a compliant HSM, so export of such key
/// sizes is refused on a token that fails this probe. The probe wraps a 9-byte session key under a
/// one-time session key and checks the result in software (BouncyCastle, which meets the RFC vectors).
/// </summary>
internal static class WrapPadCompliance
{
    public static bool Probe(ISession session)
    {
        var f = Pkcs11Libraries.Factory;
        var kek = new byte[32];
        var probe = new byte[9];
        using (var rng = RandomNumberGenerator.Create())
        {
            rng.GetBytes(kek);
            rng.GetBytes(probe);
        }
        IObjectHandle? kekHandle = null;
        IObjectHandle? probeHandle = null;
        try
        {
            kekHandle = session.CreateObject(new List<IObjectAttribute>
            {
                f.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY), f.ObjectAttributeFactory.Create(CKA.CKA_KEY_TYPE, CKK.CKK_AES),
                f.ObjectAttributeFactory.Create(CKA.CKA_TOKEN, false), f.ObjectAttributeFactory.Create(CKA.CKA_WRAP, true),
                f.ObjectAttributeFactory.Create(CKA.CKA_VALUE, kek),
            });
            probeHandle = session.CreateObject(new List<IObjectAttribute>
            {
                f.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY), f.ObjectAttributeFactory.Create(CKA.CKA_KEY_TYPE, CKK.CKK_GENERIC_SECRET),
                f.ObjectAttributeFactory.Create(CKA.CKA_TOKEN, false), f.ObjectAttributeFactory.Create(CKA.CKA_EXTRACTABLE, true),
                f.ObjectAttributeFactory.Create(CKA.CKA_VALUE, probe),
            });
            using var mechanism = f.MechanismFactory.Create(CKM.CKM_AES_KEY_WRAP_PAD);
            var wrapped = session.WrapKey(mechanism, kekHandle, probeHandle);
            var unwrapped = SoftwareKeyWrap.UnwrapPadded(kek, wrapped);
            var compliant = unwrapped.Length == probe.Length;
            for (var i = 0; compliant && i < probe.Length; i++) compliant = unwrapped[i] == probe[i];
            return compliant;
        }
        finally
        {
            if (probeHandle is not null) session.DestroyObject(probeHandle);
            if (kekHandle is not null) session.DestroyObject(kekHandle);
            Array.Clear(kek, 0, kek.Length);
            Array.Clear(probe, 0, probe.Length);
        }
    }
}
