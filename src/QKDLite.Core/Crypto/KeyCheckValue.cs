using System;
using System.Security.Cryptography;

namespace QKDLite.Core.Crypto;

/// <summary>
/// Key check values as PKCS#11 v3.0 defines CKA_CHECK_VALUE: for AES the first 3 bytes of the
/// ECB encryption of a zero block; for generic secrets the first 3 bytes of SHA-1 of the value
/// (what SoftHSM2 and most HSMs compute). Safe to show: 3 bytes reveal nothing useful of a key.
/// </summary>
public static class KeyCheckValue
{
    /// <summary>Computes the check value of raw key bytes as upper-case hex.</summary>
    public static string Compute(byte[] key, bool isAes)
    {
        byte[] digest;
        if (isAes)
        {
            using var aes = Aes.Create();
            aes.Mode = CipherMode.ECB;
            aes.Padding = PaddingMode.None;
            aes.Key = key;
            using var encryptor = aes.CreateEncryptor();
            digest = encryptor.TransformFinalBlock(new byte[16], 0, 16);
        }
        else
        {
            using var sha1 = SHA1.Create();
            digest = sha1.ComputeHash(key);
        }
        try { return ToHex(digest, 3); }
        finally { Array.Clear(digest, 0, digest.Length); }
    }

    /// <summary>Formats the first <paramref name="count"/> bytes as upper-case hex.</summary>
    public static string ToHex(byte[] value, int count)
    {
        var chars = new char[count * 2];
        for (var i = 0; i < count && i < value.Length; i++)
        {
            chars[2 * i] = "0123456789ABCDEF"[value[i] >> 4];
            chars[2 * i + 1] = "0123456789ABCDEF"[value[i] & 0xF];
        }
        return new string(chars, 0, Math.Min(count, value.Length) * 2);
    }

    /// <summary>True when keys of this size are stored as AES keys (128, 192, 256 bits).</summary>
    public static bool IsAesSize(int sizeBits) => sizeBits is 128 or 192 or 256;
}
