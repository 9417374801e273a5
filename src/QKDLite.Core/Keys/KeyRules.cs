using System;
using System.Text.RegularExpressions;
using QKDLite.Core.Errors;

namespace QKDLite.Core.Keys;

/// <summary>The limits every key request is checked against before the store is touched.</summary>
public static class KeyRules
{
    /// <summary>Smallest key size in bits.</summary>
    public const int MinSizeBits = 64;
    /// <summary>Largest key size in bits.</summary>
    public const int MaxSizeBits = 8192;
    /// <summary>Default key size in bits.</summary>
    public const int DefaultSizeBits = 256;
    /// <summary>Most keys one request may create.</summary>
    public const int MaxCount = 100_000;
    /// <summary>Labels starting with this name QKDLite's own token objects and are refused for keys.</summary>
    public const string ReservedLabelPrefix = "QKDLite ";
    /// <summary>Longest keyLabel.</summary>
    public const int MaxLabelLength = 128;

    private static readonly Regex KeyIdPattern = new("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", RegexOptions.CultureInvariant);

    /// <summary>Throws unless the size is a whole number of bytes within range.</summary>
    public static void CheckSize(int sizeBits)
    {
        if (sizeBits % 8 != 0)
            throw new QKDLiteException(ErrorIds.KeySizeNotMultipleOf8, QKDLiteErrorCategory.InvalidArgument,
                $"Key size {sizeBits} is not a multiple of 8 bits.", sizeBits);
        if (sizeBits < MinSizeBits || sizeBits > MaxSizeBits)
            throw new QKDLiteException(ErrorIds.KeySizeOutOfRange, QKDLiteErrorCategory.InvalidArgument,
                $"Key size {sizeBits} bits is out of range; use {MinSizeBits} to {MaxSizeBits} bits.", sizeBits);
    }

    /// <summary>Throws unless 1 &lt;= count &lt;= <see cref="MaxCount"/>.</summary>
    public static void CheckCount(int count)
    {
        if (count < 1 || count > MaxCount)
            throw new QKDLiteException(ErrorIds.KeyCountOutOfRange, QKDLiteErrorCategory.InvalidArgument,
                $"Key count {count} is out of range; use 1 to {MaxCount}.", count);
    }

    /// <summary>Throws unless the keyID is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.</summary>
    public static void CheckKeyId(string? keyId)
    {
        if (keyId is null || !KeyIdPattern.IsMatch(keyId))
            throw new QKDLiteException(ErrorIds.KeyIdInvalid, QKDLiteErrorCategory.InvalidArgument,
                $"KeyId '{keyId}' is not valid: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.", keyId);
    }

    /// <summary>Throws unless the label is 1-128 characters without control characters or surrounding spaces.</summary>
    public static void CheckLabel(string? label)
    {
        var valid = !string.IsNullOrEmpty(label) && label!.Length <= MaxLabelLength && label.Trim().Length == label.Length;
        if (valid)
        {
            foreach (var c in label!)
            {
                if (char.IsControl(c)) { valid = false; break; }
            }
        }
        if (!valid)
            throw new QKDLiteException(ErrorIds.KeyLabelInvalid, QKDLiteErrorCategory.InvalidArgument,
                $"Key label '{label}' is not valid: use 1 to {MaxLabelLength} printable characters without leading or trailing spaces.", label);
        // QKDLite's own objects (transport key, its request, the change marker) are named "QKDLite ...":
        // a key under such a label could be taken for one of them.
        if (label!.StartsWith(ReservedLabelPrefix, StringComparison.OrdinalIgnoreCase))
            throw new QKDLiteException(ErrorIds.KeyLabelInvalid, QKDLiteErrorCategory.InvalidArgument,
                $"Key label '{label}' is reserved: labels starting with '{ReservedLabelPrefix}' name QKDLite's own objects.", label);
    }

    /// <summary>A new unique label: a lower-case UUID, the form ETSI GS QKD 014 uses for key_ID.</summary>
    public static string NewLabel() => Guid.NewGuid().ToString("D");
}
