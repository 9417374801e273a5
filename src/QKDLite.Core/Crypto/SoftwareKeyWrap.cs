using System;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Parameters;
using QKDLite.Core.Errors;

namespace QKDLite.Core.Crypto;

/// <summary>AES key wrap with padding (RFC 5649) in software, through BouncyCastle.</summary>
public static class SoftwareKeyWrap
{
    /// <summary>Wraps <paramref name="key"/> under <paramref name="kek"/>.</summary>
    public static byte[] WrapPadded(byte[] kek, byte[] key)
    {
        var engine = new AesWrapPadEngine();
        engine.Init(true, new KeyParameter(kek));
        return engine.Wrap(key, 0, key.Length);
    }

    /// <summary>Unwraps and checks the integrity of <paramref name="wrapped"/>.</summary>
    public static byte[] UnwrapPadded(byte[] kek, byte[] wrapped)
    {
        var engine = new AesWrapPadEngine();
        engine.Init(false, new KeyParameter(kek));
        try
        {
            return engine.Unwrap(wrapped, 0, wrapped.Length);
        }
        catch (Org.BouncyCastle.Crypto.InvalidCipherTextException e)
        {
            throw new QKDLiteException(ErrorIds.KeyStoreOperationFailed, QKDLiteErrorCategory.InvalidData,
                "A wrapped key failed its integrity check.", null, e);
        }
    }
}
