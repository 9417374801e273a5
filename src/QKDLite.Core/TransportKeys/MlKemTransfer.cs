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

    /// <summary>Encapsulates to <paramref name="encapsulationKey"/>; returns the ciphertext and the derived transport key.</summary>
    public static (byte[] Ciphertext, byte[] TransportKey) Encapsulate(byte[] encapsulationKey)
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
