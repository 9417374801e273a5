using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>Checks that text carries none of the given keys, in any of the forms a leak would take.</summary>
internal static class KeyBytes
{
    public static void AssertAbsent(string text, IEnumerable<byte[]> keys)
    {
        Assert.DoesNotContain("\"keys\"", text, StringComparison.Ordinal);
        foreach (var key in keys)
        {
            Assert.DoesNotContain(Convert.ToBase64String(key), text, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToHexString(key), text, StringComparison.OrdinalIgnoreCase);
        }
    }

    public static IReadOnlyList<byte[]> Of(IReadOnlyDictionary<string, byte[]> material) => material.Values.ToList();
}
