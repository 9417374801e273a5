using System;
using System.Collections.Generic;
using System.Linq;
using Org.BouncyCastle.Tls;

namespace QKDLite.Core.Tls;

/// <summary>
/// The TLS 1.3 key-exchange groups QKDLite names in its configuration, mapped to BouncyCastle's
/// <see cref="NamedGroup"/> codes. Names are the IANA ones, compared without regard to case.
/// </summary>
public static class PostQuantumGroups
{
    /// <summary>The default hybrid group: X25519 with ML-KEM-768 (IANA 4588), the one browsers offer.</summary>
    public const string DefaultGroup = "X25519MLKEM768";

    private static readonly Dictionary<string, int> PostQuantum = new(StringComparer.OrdinalIgnoreCase)
    {
        ["X25519MLKEM768"] = NamedGroup.X25519MLKEM768,
        ["SecP256r1MLKEM768"] = NamedGroup.SecP256r1MLKEM768,
        ["SecP384r1MLKEM1024"] = NamedGroup.SecP384r1MLKEM1024,
        ["MLKEM768"] = NamedGroup.MLKEM768,
        ["MLKEM1024"] = NamedGroup.MLKEM1024,
    };

    private static readonly Dictionary<string, int> Classical = new(StringComparer.OrdinalIgnoreCase)
    {
        ["x25519"] = NamedGroup.x25519,
        ["secp256r1"] = NamedGroup.secp256r1,
        ["secp384r1"] = NamedGroup.secp384r1,
    };

    /// <summary>Post-quantum group names accepted in configuration, in their canonical spelling.</summary>
    public static IReadOnlyCollection<string> PostQuantumNames => PostQuantum.Keys;

    /// <summary>Classical groups accepted alongside the hybrid ones by <see cref="TlsProfile.Hybrid"/>, most preferred first.</summary>
    public static IReadOnlyList<int> ClassicalFallback { get; } = new[] { NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1 };

    /// <summary>The BouncyCastle code of a post-quantum group name, or false when the name is not one.</summary>
    public static bool TryGetPostQuantum(string name, out int code) => PostQuantum.TryGetValue(name ?? string.Empty, out code);

    /// <summary>True when <paramref name="code"/> is a hybrid or pure ML-KEM group.</summary>
    public static bool IsPostQuantum(int code) => PostQuantum.ContainsValue(code);

    /// <summary>The configuration name of a group code (post-quantum or classical), or BouncyCastle's own text for others.</summary>
    public static string NameOf(int code)
    {
        foreach (var pair in PostQuantum.Concat(Classical))
            if (pair.Value == code) return pair.Key;
        return NamedGroup.GetText(code);
    }
}
