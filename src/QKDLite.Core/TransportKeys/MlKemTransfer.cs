using System;
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Kems;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using QKDLite.Core.Errors;

namespace QKDLite.Core.TransportKeys;

/// <summary>
/// Transport key transfer by ML-KEM-1024 (FIPS 203), through BouncyCastle: the receiving node
/// publishes an encapsulation key, the sending node encapsulates a shared secret to it, and both
/// derive the same transport key from that secret. Only the ciphertext travels.
/// </summary>
public static class MlKemTransfer
{
    private static readonly MLKemParameters Parameters = MLKemParameters.ml_kem_1024;
    private static readonly byte[] TransportKeyContext = System.Text.Encoding.ASCII.GetBytes("QKDLite transport key from ML-KEM-1024 v1");

    /// <summary>A new key pair: the 64-byte seed of the decapsulation key, and the encapsulation key.</summary>
    public static (byte[] Seed, byte[] EncapsulationKey) NewKeyPair()
    {
        var generator = new MLKemKeyPairGenerator();
        generator.Init(new MLKemKeyGenerationParameters(new SecureRandom(), Parameters));
        var pair = generator.GenerateKeyPair();
        var privateKey = (MLKemPrivateKeyParameters)pair.Private;
        return (privateKey.GetSeed(), ((MLKemPublicKeyParameters)pair.Public).GetEncoded());
    }

    private const string CiphertextPrefix = "QKDLTK1";

    /// <summary>
    /// Encapsulates to <paramref name="encapsulationKey"/>; returns the ciphertext as text and the derived
    /// transport key. The text names the fingerprint of the encapsulation key it was made for
    /// (<c>QKDLTK1.{fingerprint}.{Base64 ciphertext}.{confirmation}</c>), so the receiving node can refuse a
    /// ciphertext made for another (older, or substituted) request instead of silently deriving a
    /// different key. The confirmation is an HMAC under the new transport key over the fingerprint and the
    /// ciphertext: the receiving node stores the key only if it derives the same one (key confirmation),
    /// so an edited fingerprint or ciphertext is caught too.
    /// </summary>
    public static (string Ciphertext, byte[] TransportKey) Encapsulate(byte[] encapsulationKey)
    {
        var (ciphertext, transportKey) = EncapsulateRaw(encapsulationKey);
        var fingerprint = Fingerprint(encapsulationKey);
        return ($"{CiphertextPrefix}.{fingerprint}.{Convert.ToBase64String(ciphertext)}.{Confirmation(transportKey, fingerprint, ciphertext)}", transportKey);
    }

    /// <summary>The key confirmation tag: 16 bytes of HMAC-SHA256 under the transport key, hex.</summary>
    public static string Confirmation(byte[] transportKey, string fingerprint, byte[] ciphertext)
    {
        using var hmac = new HMACSHA256(transportKey);
        var context = System.Text.Encoding.ASCII.GetBytes("QKDLite transport key confirmation v1|" + fingerprint + "|");
        var input = new byte[context.Length + ciphertext.Length];
        Buffer.BlockCopy(context, 0, input, 0, context.Length);
        Buffer.BlockCopy(ciphertext, 0, input, context.Length, ciphertext.Length);
        return BitConverter.ToString(hmac.ComputeHash(input), 0, 16).Replace("-", string.Empty);
    }

    /// <summary>Reads a ciphertext text: the fingerprint of the request it answers, the ciphertext, and the confirmation tag.</summary>
    public static (string Fingerprint, byte[] Ciphertext, string Confirmation) ParseCiphertext(string text)
    {
        var parts = (text ?? string.Empty).Trim().Split('.');
        if (parts.Length != 4 || parts[0] != CiphertextPrefix || parts[1].Length != 16 || parts[3].Length != 32)
            throw new QKDLiteException(ErrorIds.CiphertextInvalid, QKDLiteErrorCategory.InvalidData,
                $"The ciphertext is not in the form {CiphertextPrefix}.<fingerprint>.<Base64>.<confirmation> that Set-TransportKey -EncapsulationKey returns.", null);
        try
        {
            return (parts[1], Convert.FromBase64String(parts[2]), parts[3]);
        }
        catch (FormatException e)
        {
            throw new QKDLiteException(ErrorIds.CiphertextInvalid, QKDLiteErrorCategory.InvalidData, "The ciphertext is not Base64.", null, e);
        }
    }

    /// <summary>The encapsulation key that belongs to a decapsulation key seed.</summary>
    public static byte[] EncapsulationKeyOf(byte[] seed) => MLKemPrivateKeyParameters.FromSeed(Parameters, seed).GetPublicKeyEncoded();

    internal static (byte[] Ciphertext, byte[] TransportKey) EncapsulateRaw(byte[] encapsulationKey)
    {
        MLKemPublicKeyParameters publicKey;
        try
        {
            publicKey = MLKemPublicKeyParameters.FromEncoding(Parameters, encapsulationKey);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new QKDLiteException(ErrorIds.EncapsulationKeyInvalid, QKDLiteErrorCategory.InvalidData,
                "The encapsulation key is not an ML-KEM-1024 encapsulation key.", null, e);
        }
        var encapsulator = new MLKemEncapsulator(Parameters);
        encapsulator.Init(publicKey);
        var ciphertext = new byte[encapsulator.EncapsulationLength];
        var secret = new byte[encapsulator.SecretLength];
        try
        {
            encapsulator.Encapsulate(ciphertext, 0, ciphertext.Length, secret, 0, secret.Length);
            return (ciphertext, DeriveTransportKey(secret));
        }
        finally
        {
            Array.Clear(secret, 0, secret.Length);
        }
    }

    /// <summary>Decapsulates <paramref name="ciphertext"/> with the key made from <paramref name="seed"/>; returns the transport key.</summary>
    public static byte[] Decapsulate(byte[] seed, byte[] ciphertext)
    {
        var decapsulator = new MLKemDecapsulator(Parameters);
        decapsulator.Init(MLKemPrivateKeyParameters.FromSeed(Parameters, seed));
        if (ciphertext.Length != decapsulator.EncapsulationLength)
            throw new QKDLiteException(ErrorIds.CiphertextInvalid, QKDLiteErrorCategory.InvalidData,
                $"The ciphertext is {ciphertext.Length} bytes; an ML-KEM-1024 ciphertext is {decapsulator.EncapsulationLength}.", null);
        var secret = new byte[decapsulator.SecretLength];
        try
        {
            decapsulator.Decapsulate(ciphertext, 0, ciphertext.Length, secret, 0, secret.Length);
            return DeriveTransportKey(secret);
        }
        finally
        {
            Array.Clear(secret, 0, secret.Length);
        }
    }

    /// <summary>A short fingerprint of an encapsulation key, for two administrators to compare by phone.</summary>
    public static string Fingerprint(byte[] encapsulationKey)
    {
        using var sha = SHA256.Create();
        var digest = sha.ComputeHash(encapsulationKey);
        return BitConverter.ToString(digest, 0, 8).Replace("-", string.Empty);
    }

    // The transport key is bound to its purpose rather than being the raw KEM secret.
    private static byte[] DeriveTransportKey(byte[] secret)
    {
        using var hmac = new HMACSHA256(secret);
        return hmac.ComputeHash(TransportKeyContext);
    }
}
