using System;
using System.Collections.Generic;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace QKDLite.TestKme;

/// <summary>Configuration of a <see cref="TestKmePair"/>; the limits are reported by <c>status</c>.</summary>
public sealed class TestKmeOptions
{
    /// <summary>KME ID of KME A (the master SAEs' KME): <c>source_KME_ID</c> in its status.</summary>
    public string KmeAId { get; init; } = "KME-A";

    /// <summary>KME ID of KME B (the slave SAEs' KME).</summary>
    public string KmeBId { get; init; } = "KME-B";

    /// <summary><c>key_size</c>: default key size in bits (256).</summary>
    public int KeySize { get; init; } = 256;

    /// <summary><c>min_key_size</c> in bits (64).</summary>
    public int MinKeySize { get; init; } = 64;

    /// <summary><c>max_key_size</c> in bits (1024).</summary>
    public int MaxKeySize { get; init; } = 1024;

    /// <summary><c>max_key_per_request</c> (128).</summary>
    public int MaxKeyPerRequest { get; init; } = 128;

    /// <summary>Keys in the shared pool at start: the initial <c>stored_key_count</c> (10000).</summary>
    public int PoolSize { get; init; } = 10000;

    /// <summary><c>max_key_count</c>; default: <see cref="PoolSize"/>.</summary>
    public int? MaxKeyCount { get; init; }

    /// <summary><c>max_SAE_ID_count</c>: additional slave SAEs allowed per request (0 = no multicast).</summary>
    public int MaxSaeIdCount { get; init; }

    /// <summary>The PKI to use; null: the pair makes (and disposes) its own.</summary>
    public TestPki? Pki { get; init; }

    /// <summary>
    /// Also start the plain-HTTP control endpoint on 127.0.0.1 (switches, pool and request log; see
    /// README.md). The executable always starts it.
    /// </summary>
    public bool EnableControlEndpoint { get; init; }

    /// <summary>Maps a validated client certificate to its SAE ID; default: the subject CN (null: 401).</summary>
    public Func<X509Certificate2, string?>? SaeIdSelector { get; init; }

    /// <summary>TLS versions the KMEs accept (TLS 1.2 and 1.3).</summary>
    public SslProtocols SslProtocols { get; init; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>Kestrel's TLS (default), or BouncyCastle's hybrid TLS 1.3 (see <see cref="TestKmeTls"/>).</summary>
    public TestKmeTls Tls { get; init; } = TestKmeTls.Platform;

    /// <summary>DNS names of the server certificates instead of the shared default (localhost, 127.0.0.1, ::1); then they hold no IP address.</summary>
    public IReadOnlyList<string>? ServerDnsNames { get; init; }

    internal int EffectiveMaxKeyCount => MaxKeyCount ?? PoolSize;

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(KmeAId);
        ArgumentException.ThrowIfNullOrWhiteSpace(KmeBId);
        if (KmeAId == KmeBId)
        {
            throw new ArgumentException("the two KME IDs must differ");
        }

        if (MinKeySize <= 0 || KeySize <= 0 || MaxKeySize <= 0 || MinKeySize > MaxKeySize
            || MinKeySize % 8 != 0 || MaxKeySize % 8 != 0 || KeySize % 8 != 0)
        {
            throw new ArgumentException("key sizes must be positive multiples of 8 with min_key_size <= max_key_size");
        }

        if (MaxKeyPerRequest <= 0 || PoolSize < 0 || EffectiveMaxKeyCount < 0 || MaxSaeIdCount < 0)
        {
            throw new ArgumentException("max_key_per_request must be positive; pool size, max_key_count and max_SAE_ID_count non-negative");
        }
    }
}
