using System;
using QKDLite.TestKme;

namespace QKDLite.EtsiServer.Tests;

/// <summary>
/// One test PKI and the usual SAE certificates for the whole run (ECDSA: quick to make). SAE IDs
/// are the certificates' common names.
/// </summary>
internal static class Pki
{
    public const string MasterId = "SAE-A";
    public const string SlaveId = "SAE-B";
    public const string OtherMasterId = "SAE-C";
    public const string UnrelatedId = "SAE-X";

    private static readonly Lazy<TestPki> LazyPki = new(() => TestPki.Create(algorithm: TestKeyAlgorithm.EcdsaP256));
    private static readonly Lazy<TestCertificate> LazyServer = new(() => Ca.CreateServerCertificate("qkdlite-etsi-test"));
    private static readonly Lazy<TestCertificate> LazyMaster = new(() => Ca.CreateClientCertificate(MasterId));
    private static readonly Lazy<TestCertificate> LazySlave = new(() => Ca.CreateClientCertificate(SlaveId));
    private static readonly Lazy<TestCertificate> LazyOtherMaster = new(() => Ca.CreateClientCertificate(OtherMasterId));
    private static readonly Lazy<TestCertificate> LazyUnrelated = new(() => Ca.CreateClientCertificate(UnrelatedId));
    private static readonly Lazy<TestCertificate> LazyWrongCa = new(() => Ca.Unrelated.CreateClientCertificate(MasterId));

    public static TestPki Ca => LazyPki.Value;

    /// <summary>The server's TLS certificate (SAN localhost, 127.0.0.1, ::1).</summary>
    public static TestCertificate Server => LazyServer.Value;

    /// <summary>Master of the pair SAE-A -> SAE-B.</summary>
    public static TestCertificate Master => LazyMaster.Value;

    /// <summary>Slave of the pair SAE-A -> SAE-B.</summary>
    public static TestCertificate Slave => LazySlave.Value;

    /// <summary>Master of the pair SAE-C -> SAE-A (so SAE-A is also a slave).</summary>
    public static TestCertificate OtherMaster => LazyOtherMaster.Value;

    /// <summary>A certificate of the right CA for an SAE in no pair.</summary>
    public static TestCertificate Unrelated => LazyUnrelated.Value;

    /// <summary>CN SAE-A, issued by an unrelated CA.</summary>
    public static TestCertificate WrongCa => LazyWrongCa.Value;
}
