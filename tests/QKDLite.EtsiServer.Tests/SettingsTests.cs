using System;
using System.Collections.Generic;
using System.IO;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>The EtsiServer section of node.json: defaults, round trip, and a specific error for each bad value.</summary>
public sealed class SettingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qkdlite-etsi-settings-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string File(string name) => Path.Combine(_dir, name);

    private static EtsiServerSettings Valid() => new()
    {
        ServerCertificate = "server.pfx",
        ClientCaCertificate = "ca.pem",
        KmeId = "KME-A",
        Pairs = [new EtsiSaePair { MasterSaeId = "SAE-A", SlaveSaeId = "SAE-B", KeyId = "VPN-A-B", PeerKmeId = "KME-B" }],
    };

    [Fact]
    public void Defaults_are_the_documented_ones()
    {
        var settings = new EtsiServerSettings();
        Assert.Equal("127.0.0.1", settings.Address);
        Assert.Equal(8443, settings.Port);
        Assert.Equal(SaeIdentitySource.SubjectCommonName, settings.SaeIdentity);
        Assert.Equal(128, settings.MaxKeysPerRequest);
        Assert.Equal(64, settings.MinKeySize);
        Assert.Equal(1024, settings.MaxKeySize);
        Assert.Equal(65536, settings.MaxBodyBytes);
        Assert.Equal(10, settings.ShutdownTimeoutSeconds);
        Assert.Empty(settings.Pairs);
        Assert.Equal(256, new EtsiSaePair().KeySize);
        Assert.Equal(File("etsi-audit.log"), settings.AuditLogPath(File("node.json")));
        settings.AuditLog = "logs/a.log";
        Assert.Equal(Path.Combine(_dir, "logs", "a.log"), settings.AuditLogPath(File("node.json")));
        settings.AuditLog = "/var/log/qkdlite-etsi.log";
        Assert.Equal("/var/log/qkdlite-etsi.log", settings.AuditLogPath(File("node.json")));
    }

    [Fact]
    public void The_section_loads_from_node_json_with_defaults_and_survives_a_save()
    {
        var path = File("node.json");
        System.IO.File.WriteAllText(path, """
            {
              "KeyStore": { "Library": "/usr/lib/softhsm/libsofthsm2.so", "TokenLabel": "node" },
              "EtsiServer": {
                "Port": 0,
                "ServerCertificate": "server.crt.pem", "ServerCertificateKey": "server.key.pem",
                "ClientCaCertificate": "ca.pem", "KmeId": "KME-A",
                "SaeIdentity": "Thumbprint",
                "SaeThumbprints": { "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD": "SAE-A" },
                "Pairs": [ { "MasterSaeId": "SAE-A", "SlaveSaeId": "SAE-B", "KeyId": "VPN-A-B", "PeerKmeId": "KME-B" } ]
              }
            }
            """);

        var settings = NodeConfiguration.Load(path).EtsiServer!;

        Assert.Equal(0, settings.Port);
        Assert.Equal(SaeIdentitySource.Thumbprint, settings.SaeIdentity);
        Assert.Equal(256, settings.Pairs[0].KeySize);
        Assert.Equal(128, settings.MaxKeysPerRequest);
        settings.ValidateForServing(path);

        var configuration = NodeConfiguration.Load(path);
        configuration.Save(path);
        var again = NodeConfiguration.Load(path).EtsiServer!;
        Assert.Equal("KME-B", again.Pairs[0].PeerKmeId);
        Assert.Equal("SAE-A", again.SaeThumbprints!["AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD"]);
        Assert.Contains("\"SaeIdentity\": \"Thumbprint\"", System.IO.File.ReadAllText(path));
    }

    [Fact]
    public void A_bad_section_fails_the_load_with_its_own_error()
    {
        var path = File("node.json");
        System.IO.File.WriteAllText(path, """{ "EtsiServer": { "Port": 70000 } }""");
        var e = Assert.Throws<QKDLiteException>(() => NodeConfiguration.Load(path));
        Assert.Equal(ErrorIds.EtsiServerConfigurationInvalid, e.ErrorId);
        Assert.Contains("Port 70000", e.Message);

        System.IO.File.WriteAllText(path, """{ "EtsiServer": { "SaeIdentity": "Serial" } }""");
        Assert.Equal(ErrorIds.NodeConfigurationInvalid, Assert.Throws<QKDLiteException>(() => NodeConfiguration.Load(path)).ErrorId);
    }

    public static TheoryData<string, string> Mutations => new()
    {
        { "address", "Address 'example.org'" },
        { "port", "Port -1" },
        { "maxKeys", "MaxKeysPerRequest 0" },
        { "minSize", "MinKeySize 60" },
        { "maxSize", "MaxKeySize 9000" },
        { "minAboveMax", "MinKeySize 512 is larger than MaxKeySize 256" },
        { "body", "MaxBodyBytes 100" },
        { "shutdown", "ShutdownTimeoutSeconds -1" },
        { "thumbprint", "SaeThumbprints key 'xyz'" },
        { "thumbprintTwice", "lists thumbprint" },
        { "noMaster", "Pairs[0] has no valid MasterSaeId" },
        { "slaveWithSpace", "Pairs[0] has no valid SlaveSaeId" },
        { "sameSae", "names SAE 'SAE-A' as both master and slave" },
        { "keyId", "Pairs[0]: KeyId 'VPN A'" },
        { "keySize", "Pairs[0] KeySize 100" },
        { "keySizeAboveMax", "Pairs[0] KeySize 2048" },
        { "pairTwice", "Pairs[1] repeats the pair" },
        { "keyIdTwice", "Pairs[1] uses keyID 'vpn-a-b'" },
    };

    [Theory]
    [MemberData(nameof(Mutations))]
    public void Each_bad_value_is_named(string mutation, string expected)
    {
        var settings = Valid();
        var second = new EtsiSaePair { MasterSaeId = "SAE-C", SlaveSaeId = "SAE-D", KeyId = "Other", PeerKmeId = "KME-C" };
        switch (mutation)
        {
            case "address": settings.Address = "example.org"; break;
            case "port": settings.Port = -1; break;
            case "maxKeys": settings.MaxKeysPerRequest = 0; break;
            case "minSize": settings.MinKeySize = 60; break;
            case "maxSize": settings.MaxKeySize = 9000; break;
            case "minAboveMax": settings.MinKeySize = 512; settings.MaxKeySize = 256; break;
            case "body": settings.MaxBodyBytes = 100; break;
            case "shutdown": settings.ShutdownTimeoutSeconds = -1; break;
            case "thumbprint": settings.SaeThumbprints = new() { ["xyz"] = "SAE-A" }; break;
            case "thumbprintTwice": settings.SaeThumbprints = new() { [new string('a', 40)] = "SAE-A", [new string('A', 40)] = "SAE-B" }; break;
            case "noMaster": settings.Pairs[0].MasterSaeId = ""; break;
            case "slaveWithSpace": settings.Pairs[0].SlaveSaeId = " SAE-B"; break;
            case "sameSae": settings.Pairs[0].SlaveSaeId = "SAE-A"; break;
            case "keyId": settings.Pairs[0].KeyId = "VPN A"; break;
            case "keySize": settings.Pairs[0].KeySize = 100; break;
            case "keySizeAboveMax": settings.Pairs[0].KeySize = 2048; break;
            case "pairTwice": second.MasterSaeId = "SAE-A"; second.SlaveSaeId = "SAE-B"; settings.Pairs.Add(second); break;
            case "keyIdTwice": second.KeyId = "vpn-a-b"; settings.Pairs.Add(second); break;
        }

        var e = Assert.Throws<QKDLiteException>(() => settings.Validate("node.json"));

        Assert.Equal(ErrorIds.EtsiServerConfigurationInvalid, e.ErrorId);
        Assert.Contains(expected, e.Message);
        Valid().Validate("node.json");
    }

    [Theory]
    [InlineData("cert", "ServerCertificate is not set")]
    [InlineData("ca", "ClientCaCertificate is not set")]
    [InlineData("kme", "KmeId is not set")]
    [InlineData("pairs", "Pairs is empty")]
    [InlineData("peer", "Pairs[0] has no PeerKmeId")]
    [InlineData("thumbprints", "SaeIdentity is Thumbprint but SaeThumbprints is empty")]
    public void Serving_needs_certificates_a_KME_ID_pairs_and_their_peers(string missing, string expected)
    {
        var settings = Valid();
        switch (missing)
        {
            case "cert": settings.ServerCertificate = null; break;
            case "ca": settings.ClientCaCertificate = " "; break;
            case "kme": settings.KmeId = null; break;
            case "pairs": settings.Pairs.Clear(); break;
            case "peer": settings.Pairs[0].PeerKmeId = ""; break;
            case "thumbprints": settings.SaeIdentity = SaeIdentitySource.Thumbprint; break;
        }
        settings.Validate("node.json");

        var e = Assert.Throws<QKDLiteException>(() => settings.ValidateForServing("node.json"));

        Assert.Equal(ErrorIds.EtsiServerConfigurationInvalid, e.ErrorId);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Thumbprints_are_compared_without_separators_or_case()
    {
        Assert.Equal("AABB01", EtsiServerSettings.NormalizeThumbprint("aa:bb 01"));
        Assert.Equal("AABB01", EtsiServerSettings.NormalizeThumbprint("aa-bb-01"));
    }
}
