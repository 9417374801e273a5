namespace QKDLite.Core.TransportKeys;

/// <summary>How a node's transport key was provisioned.</summary>
public enum TransportKeyOrigin
{
    /// <summary>Combined from custodians' key components.</summary>
    Components,
    /// <summary>Generated on this node and split into components.</summary>
    Generated,
    /// <summary>Derived by encapsulating to a peer node's ML-KEM encapsulation key (the sending node).</summary>
    MlKemEncapsulation,
    /// <summary>Derived by decapsulating a peer node's ML-KEM ciphertext (the receiving node).</summary>
    MlKemDecapsulation,
}
