using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using QKDLite.Core.Configuration;
using QKDLite.Core.KeyStore;
using QKDLite.Core.Sources;
using QKDLite.Core.Tls;
using System.Security.Cryptography.X509Certificates;
using QKDLite.EtsiServer.Hosting;
using QKDLite.TestKme;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>
/// One token and one in-process QKDLite_ETSI (port 0, certificates from <see cref="Pki"/>) shared by
/// the test classes of the "server" collection, which run one after another. Each test refills the
/// pools it uses, so no test depends on another's leftovers. This one serves on the Classical
/// profile (the platform's TLS, SslStream clients); <see cref="HybridServerFixture"/> runs the same
/// suite over the Hybrid profile with BouncyCastle hybrid clients.
/// </summary>
public class ServerFixture : IAsyncLifetime
{
    /// <summary>keyID of the pair SAE-A (master) -> SAE-B (slave), 256-bit keys.</summary>
    public const string PoolAB = "pool-ab";

    /// <summary>keyID of the pair SAE-C (master) -> SAE-A (slave), 128-bit keys.</summary>
    public const string PoolCA = "pool-ca";

    public const int MaxKeysPerRequest = 16;
    public const int MaxBodyBytes = 4096;

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("qkdlite-etsi-").FullName;

    public TestToken Token { get; private set; } = null!;

    public Pkcs11KeyStore Store => Token.Store;

    public string ConfigurationFile => Path.Combine(Directory, "node.json");

    public string CaPem { get; private set; } = null!;

    public TestCertificateFiles ServerFiles { get; private set; } = null!;

    internal EtsiServerHost Server { get; private set; } = null!;

    public Uri BaseUri => new($"https://127.0.0.1:{Server.Port}/");

    public string AuditLogPath => Server.AuditLogPath;

    /// <summary>The TLS profile of this fixture's servers.</summary>
    public virtual TlsProfile Profile => TlsProfile.Classical;

    public async Task InitializeAsync()
    {
        Token = new TestToken();
        CaPem = Pki.Ca.WriteCaPem(Directory);
        ServerFiles = Pki.Server.WriteFiles(Directory, "server");
        Server = await StartServerAsync(_ => { });
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        System.IO.Directory.Delete(Directory, true);
    }

    /// <summary>The settings of the shared server; <paramref name="customize"/> may change a copy for a server of its own.</summary>
    public EtsiServerSettings NewSettings(Action<EtsiServerSettings>? customize = null)
    {
        var settings = new EtsiServerSettings
        {
            Address = "127.0.0.1",
            Port = 0,
            ServerCertificate = ServerFiles.CertificatePem,
            ServerCertificateKey = ServerFiles.PrivateKeyPem,
            ClientCaCertificate = CaPem,
            KmeId = "KME-A",
            MaxKeysPerRequest = MaxKeysPerRequest,
            MaxBodyBytes = MaxBodyBytes,
            // Relative: resolved against the folder of the node configuration.
            AuditLog = "audit.log",
            ShutdownTimeoutSeconds = 2,
            TlsProfile = Profile,
            Pairs = new List<EtsiSaePair>
            {
                new() { MasterSaeId = Pki.MasterId, SlaveSaeId = Pki.SlaveId, KeyId = PoolAB, PeerKmeId = "KME-B", KeySize = 256 },
                new() { MasterSaeId = Pki.OtherMasterId, SlaveSaeId = Pki.MasterId, KeyId = PoolCA, PeerKmeId = "KME-C", KeySize = 128 },
            },
        };
        customize?.Invoke(settings);
        return settings;
    }

    /// <summary>Starts another in-process server on the shared token.</summary>
    internal Task<EtsiServerHost> StartServerAsync(Action<EtsiServerSettings> customize, IKeyStore? store = null) =>
        EtsiServerHost.StartAsync(new EtsiServerHostOptions
        {
            Settings = NewSettings(customize),
            ConfigurationFile = ConfigurationFile,
            KeyStore = store ?? Store,
            ConsoleLogging = false,
            HandleSignals = false,
        });

    internal SaeClient Client(TestCertificate? certificate) => ClientAt(BaseUri, certificate?.Certificate);

    internal SaeClient Client(X509Certificate2? certificate) => ClientAt(BaseUri, certificate);

    /// <summary>A client of the fixture's kind for a server at <paramref name="baseUri"/> (another one this fixture started).</summary>
    internal virtual SaeClient ClientAt(Uri baseUri, X509Certificate2? certificate) => new(baseUri, certificate);

    internal SaeClient ClientAt(Uri baseUri, TestCertificate? certificate) => ClientAt(baseUri, certificate?.Certificate);

    /// <summary>Empties the keyID's pool, then stores <paramref name="count"/> new keys; returns their labels, oldest first.</summary>
    public IReadOnlyList<string> Refill(string keyId, int count, int sizeBits)
    {
        using (Store.DeferChangeNotification())
        {
            foreach (var key in Store.List(keyId)) Store.Remove(key.Label);
        }
        return count == 0
            ? Array.Empty<string>()
            : Store.CreateKeys(new NewKeysRequest(keyId, count, sizeBits), new SystemRandomSource()).Select(k => k.Label).ToList();
    }

    /// <summary>The bytes of stored keys, read through Core (for comparing with what the server delivers).</summary>
    public IReadOnlyDictionary<string, byte[]> Material(IEnumerable<string> labels) =>
        labels.ToDictionary(label => label, Store.ReadKeyMaterial);

    /// <summary>The audit log's lines so far, parsed.</summary>
    public IReadOnlyList<System.Text.Json.JsonElement> AuditLines() =>
        ReadShared(AuditLogPath).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement.Clone()).ToList();

    public static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>The suite again, over the Hybrid profile: BouncyCastle clients negotiating X25519MLKEM768.</summary>
public sealed class HybridServerFixture : ServerFixture
{
    public override TlsProfile Profile => TlsProfile.Hybrid;

    internal override SaeClient ClientAt(Uri baseUri, X509Certificate2? certificate) =>
        new(BcTls.CreateHttpClient(baseUri.Port, BcClientOffer.Hybrid(Org.BouncyCastle.Tls.NamedGroup.X25519MLKEM768, certificate)));
}

[CollectionDefinition(Name)]
public sealed class HybridServerCollection : ICollectionFixture<HybridServerFixture>
{
    public const string Name = "server-hybrid";
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}
