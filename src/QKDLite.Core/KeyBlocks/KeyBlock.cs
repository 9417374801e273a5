using System;
using QKDLite.Core.Keys;

namespace QKDLite.Core.KeyBlocks;

/// <summary>
/// A key wrapped under the transport key, with an authenticated header, as one line of text
/// (<see cref="Text"/>). It carries no key bytes in clear; <see cref="ToString"/> returns the text,
/// so blocks can be written to files and sent through remoting as they are.
/// </summary>
public sealed class KeyBlock
{
    internal KeyBlock(KeyBlockHeader header, string text)
    {
        Label = header.Label;
        KeyId = header.KeyId;
        SizeBits = header.SizeBits;
        Source = header.Source;
        Created = header.Created;
        CheckValue = header.CheckValue;
        TransportKeyCheckValue = header.TransportKeyCheckValue;
        Text = text;
    }

    /// <summary>Label of the wrapped key.</summary>
    public string Label { get; }
    /// <summary>keyID of the wrapped key.</summary>
    public string KeyId { get; }
    /// <summary>Size of the wrapped key in bits.</summary>
    public int SizeBits { get; }
    /// <summary>Source of the wrapped key.</summary>
    public KeySource Source { get; }
    /// <summary>Creation time of the wrapped key.</summary>
    public DateTimeOffset Created { get; }
    /// <summary>Check value of the wrapped key.</summary>
    public string CheckValue { get; }
    /// <summary>Check value of the transport key the block was made under.</summary>
    public string TransportKeyCheckValue { get; }
    /// <summary>The block as one line of text.</summary>
    public string Text { get; }

    /// <summary>
    /// Reads a block's text into its header fields without verifying it (that needs the transport
    /// key, on import): enough to name its key, for example in a replication journal.
    /// Throws KeyBlockMalformed or KeyBlockVersionUnsupported for text that is not a key block.
    /// </summary>
    public static KeyBlock Parse(string text) => new(KeyBlockCodec.Parse(text).Header, text.Trim());

    /// <inheritdoc />
    public override string ToString() => Text;
}
