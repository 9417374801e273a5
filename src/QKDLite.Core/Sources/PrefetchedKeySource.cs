using System;
using System.Collections.Generic;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;
using QKDLite.Core.Kme;

namespace QKDLite.Core.Sources;

/// <summary>Hands out keys already received from a KME, in order, one per stored key; clears each as it goes.</summary>
public sealed class PrefetchedKeySource : IKeyMaterialSource
{
    private readonly IReadOnlyList<KmeKey> _keys;
    private int _next;

    /// <summary>Creates the source over received keys.</summary>
    public PrefetchedKeySource(IReadOnlyList<KmeKey> keys) => _keys = keys;

    /// <inheritdoc />
    public KeySource Kind => KeySource.Kme;

    /// <inheritdoc />
    public void Fill(byte[] buffer)
    {
        if (_next >= _keys.Count) throw new InvalidOperationException("More keys were asked for than the KME delivered.");
        var key = _keys[_next++];
        if (key.Key.Length != buffer.Length)
            throw new QKDLiteException(ErrorIds.KmeAnswerInvalid, QKDLiteErrorCategory.InvalidData,
                $"KME key '{key.KeyId}' is {key.Key.Length * 8} bits, not {buffer.Length * 8}.", key.KeyId);
        Buffer.BlockCopy(key.Key, 0, buffer, 0, buffer.Length);
        key.Clear();
    }

    /// <summary>Clears the keys not handed out (after a failure).</summary>
    public void ClearRemaining()
    {
        for (var i = _next; i < _keys.Count; i++) _keys[i].Clear();
    }
}
