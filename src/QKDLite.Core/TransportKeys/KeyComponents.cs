using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using QKDLite.Core.Crypto;
using QKDLite.Core.Errors;

namespace QKDLite.Core.TransportKeys;

/// <summary>
/// Custodian key components: the transport key is the XOR of two or more 256-bit components, so no
/// single custodian ever holds it. Each component carries its own check value (KCV), verified before use.
/// </summary>
public static class KeyComponents
{
    /// <summary>Size of the transport key and of each component, in bytes.</summary>
    public const int KeyBytes = 32;

    /// <summary>Fewest components a transport key is made of.</summary>
    public const int MinimumCount = 2;

    /// <summary>
    /// Checks each component against its check value and combines them. The caller owns and clears
    /// the components and the result.
    /// </summary>
    public static byte[] Combine(IReadOnlyList<byte[]> components, IReadOnlyList<string> checkValues)
    {
        if (components.Count < MinimumCount)
            throw new QKDLiteException(ErrorIds.TooFewComponents, QKDLiteErrorCategory.InvalidArgument,
                $"A transport key needs at least {MinimumCount} components; {components.Count} given.", components.Count);
        if (checkValues.Count != components.Count)
            throw new QKDLiteException(ErrorIds.ComponentCheckValueMismatch, QKDLiteErrorCategory.InvalidArgument,
                $"{checkValues.Count} check values were given for {components.Count} components; give one per component.", checkValues.Count);
        for (var i = 0; i < components.Count; i++)
        {
            if (components[i].Length != KeyBytes)
                throw new QKDLiteException(ErrorIds.ComponentMalformed, QKDLiteErrorCategory.InvalidArgument,
                    $"Component {i + 1} is not {KeyBytes * 2} hexadecimal characters.", i + 1);
            var expected = (checkValues[i] ?? string.Empty).Trim().ToUpperInvariant();
            if (KeyCheckValue.Compute(components[i], isAes: true) != expected)
                throw new QKDLiteException(ErrorIds.ComponentCheckValueMismatch, QKDLiteErrorCategory.InvalidData,
                    $"Component {i + 1} does not match its check value {expected}. Re-enter it; nothing was stored.", i + 1);
        }
        for (var i = 0; i < components.Count; i++)
        {
            for (var j = i + 1; j < components.Count; j++)
            {
                if (components[i].SequenceEqual(components[j]))
                    throw new QKDLiteException(ErrorIds.ComponentsNotIndependent, QKDLiteErrorCategory.InvalidData,
                        $"Components {i + 1} and {j + 1} are the same; each custodian's component must be independent. Nothing was stored.", j + 1);
            }
        }
        var key = new byte[KeyBytes];
        foreach (var component in components)
        {
            for (var b = 0; b < KeyBytes; b++) key[b] ^= component[b];
        }
        if (key.All(b => b == 0))
            throw new QKDLiteException(ErrorIds.ComponentsNotIndependent, QKDLiteErrorCategory.InvalidData,
                "The components cancel each other out (their combination is all zeros). Nothing was stored.", null);
        return key;
    }

    /// <summary>Splits a key into <paramref name="count"/> random components whose XOR is the key.</summary>
    public static List<byte[]> Split(byte[] key, int count)
    {
        if (count < MinimumCount)
            throw new QKDLiteException(ErrorIds.TooFewComponents, QKDLiteErrorCategory.InvalidArgument,
                $"A transport key needs at least {MinimumCount} components; {count} requested.", count);
        var components = new List<byte[]>();
        var last = (byte[])key.Clone();
        using var rng = RandomNumberGenerator.Create();
        for (var i = 0; i < count - 1; i++)
        {
            var component = new byte[KeyBytes];
            rng.GetBytes(component);
            for (var b = 0; b < KeyBytes; b++) last[b] ^= component[b];
            components.Add(component);
        }
        components.Add(last);
        return components;
    }

    /// <summary>Parses a component written as 64 hex digits (spaces and dashes between groups allowed).</summary>
    public static byte[] ParseHex(char[] text, int index)
    {
        var digits = new char[text.Length];
        var n = 0;
        try
        {
            foreach (var c in text)
            {
                if (c is ' ' or '-' or '\t') continue;
                digits[n++] = c;
            }
            if (n != KeyBytes * 2)
                throw new QKDLiteException(ErrorIds.ComponentMalformed, QKDLiteErrorCategory.InvalidArgument,
                    $"Component {index} is not {KeyBytes * 2} hexadecimal characters.", index);
            var bytes = new byte[KeyBytes];
            for (var i = 0; i < KeyBytes; i++)
            {
                var high = HexValue(digits[2 * i]);
                var low = HexValue(digits[2 * i + 1]);
                if (high < 0 || low < 0)
                {
                    Array.Clear(bytes, 0, bytes.Length);
                    throw new QKDLiteException(ErrorIds.ComponentMalformed, QKDLiteErrorCategory.InvalidArgument,
                        $"Component {index} contains characters that are not hexadecimal.", index);
                }
                bytes[i] = (byte)(high << 4 | low);
            }
            return bytes;
        }
        finally
        {
            Array.Clear(digits, 0, digits.Length);
        }
    }

    /// <summary>Formats a component as 16 groups of 4 hex digits, easy to read aloud and type.</summary>
    public static char[] FormatHex(byte[] component)
    {
        var chars = new List<char>(component.Length * 2 + component.Length / 2);
        for (var i = 0; i < component.Length; i++)
        {
            if (i > 0 && i % 2 == 0) chars.Add(' ');
            chars.Add("0123456789ABCDEF"[component[i] >> 4]);
            chars.Add("0123456789ABCDEF"[component[i] & 0xF]);
        }
        return chars.ToArray();
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
