using System;
using System.Linq;
using QKDLite.Core.TransportKeys;

namespace QKDLite.Core.Tests;

/// <summary>Two nodes' key stores (two tokens) that share one transport key, made from two components.</summary>
public sealed class TwoStores : IDisposable
{
    public TwoStores()
    {
        A = new TestStore();
        B = new TestStore();
        var tk = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var components = KeyComponents.Split(tk, 2);
        var checkValues = components.Select(c => QKDLite.Core.Crypto.KeyCheckValue.Compute(c, true)).ToList();
        A.Store.SetTransportKey(KeyComponents.Combine(components, checkValues), TransportKeyOrigin.Components, replace: false);
        B.Store.SetTransportKey(KeyComponents.Combine(components, checkValues), TransportKeyOrigin.Components, replace: false);
        Array.Clear(tk);
    }

    public TestStore A { get; }
    public TestStore B { get; }

    public void Dispose()
    {
    }
}
