using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Org.BouncyCastle.Tls;

namespace QKDLite.Core.Tls;

/// <summary>Display names of BouncyCastle's TLS codes: protocol versions and cipher suites.</summary>
internal static class TlsNames
{
    // BouncyCastle's CipherSuite class holds the IANA names as constants: read them once.
    private static readonly Lazy<Dictionary<int, string>> CipherSuites = new(() =>
        typeof(CipherSuite).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(int))
            .GroupBy(f => (int)f.GetRawConstantValue()!)
            .ToDictionary(g => g.Key, g => g.First().Name));

    public static string CipherSuiteName(int code) =>
        CipherSuites.Value.TryGetValue(code, out var name) ? name : "0x" + code.ToString("X4");

    public static string ProtocolName(ProtocolVersion? version) =>
        version is null ? "unknown" : version.Name.Replace("TLSv1.", "TLS 1.").Replace("TLSv1", "TLS 1.0");
}
