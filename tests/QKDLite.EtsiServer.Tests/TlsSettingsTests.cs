using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using QKDLite.Core.Tls;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>TlsProfile, TlsGroups and Listeners of the EtsiServer section: defaults, resolution and a specific error for each bad value.</summary>
public sealed class TlsSettingsTests
{
    private static EtsiServerSettings Valid() => new()
    {
        Port = 8443,
        ServerCertificate = "server.pfx",
        ClientCaCertificate = "ca.pem",
        KmeId = "KME-A",
        Pairs = [new EtsiSaePair { MasterSaeId = "SAE-A", SlaveSaeId = "SAE-B", KeyId = "VPN-A-B", PeerKmeId = "KME-B" }],
    };

    [Fact]
    public void The_default_listener_is_Hybrid_with_X25519MLKEM768()
    {
        var listener = Assert.Single(Valid().ResolveListeners());

        Assert.Equal(TlsProfile.Hybrid, listener.Profile);
        Assert.Equal(["X25519MLKEM768"], listener.Groups);
        Assert.Equal(("127.0.0.1", 8443), (listener.Address, listener.Port));
    }

    [Fact]
    public void Listeners_inherit_the_section_profile_and_groups_unless_they_set_their_own()
    {
        var settings = Valid();
        settings.TlsGroups = ["secp384r1mlkem1024", "X25519MLKEM768"];
        settings.Listeners =
        [
            new() { Address = "::1", Port = 8444 },
            new() { Port = 8445, TlsProfile = TlsProfile.PostQuantumOnly, TlsGroups = ["SecP256r1MLKEM768"] },
            new() { Port = 8446, TlsProfile = TlsProfile.Classical },
        ];
        settings.Validate("node.json");

        var listeners = settings.ResolveListeners();

        Assert.Equal(
            ["127.0.0.1:8443 Hybrid SecP384r1MLKEM1024,X25519MLKEM768", "::1:8444 Hybrid SecP384r1MLKEM1024,X25519MLKEM768",
             "127.0.0.1:8445 PostQuantumOnly SecP256r1MLKEM768", "127.0.0.1:8446 Classical "],
            listeners.Select(l => $"{l.Address}:{l.Port} {l.Profile} {string.Join(",", l.Groups)}"));
    }

    [Fact]
    public void Listeners_load_from_node_json()
    {
        var path = Path.Combine(Path.GetTempPath(), "qkdlite-tls-settings-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, """
            { "EtsiServer": { "TlsProfile": "PostQuantumOnly", "TlsGroups": ["X25519MLKEM768", "MLKEM1024"],
                              "Listeners": [ { "Address": "127.0.0.1", "Port": 9443, "TlsProfile": "Hybrid" } ] } }
            """);
        try
        {
            var settings = NodeConfiguration.Load(path).EtsiServer!;
            Assert.Equal(TlsProfile.PostQuantumOnly, settings.TlsProfile);
            Assert.Equal(TlsProfile.Hybrid, settings.Listeners![0].TlsProfile);
            Assert.Equal(["X25519MLKEM768", "MLKEM1024"], settings.ResolveListeners()[1].Groups);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static TheoryData<string, string> Mutations => new()
    {
        { "unknown-group", "TlsGroups names 'X448MLKEM', which is not a known group; use X25519MLKEM768" },
        { "classical-pq-only", "TlsGroups names the classical group x25519, which the PostQuantumOnly profile never offers" },
        { "classical-hybrid", "TlsGroups names the classical group secp256r1; list post-quantum groups only" },
        { "empty-groups", "TlsGroups is empty" },
        { "twice", "TlsGroups lists X25519MLKEM768 twice" },
        { "profile", "TlsProfile '7' is not one of Classical, Hybrid, PostQuantumOnly" },
        { "duplicate", "Listeners[1] listens on 127.0.0.1 port 8443, like Address and Port" },
        { "duplicate-extra", "Listeners[1] listens on 127.0.0.1 port 9000, like Listeners[0]" },
        { "listener-group", "Listeners[0] TlsGroups names the classical group x25519, which the PostQuantumOnly profile never offers" },
        { "listener-address", "Listeners[0] Address 'nowhere' is not an IP address" },
        { "listener-port", "Listeners[0] Port -1 is out of range" },
        { "listener-empty", "Listeners[0] is empty" },
    };

    [Theory]
    [MemberData(nameof(Mutations))]
    public void Each_bad_TLS_value_is_named(string mutation, string expected)
    {
        var settings = Valid();
        switch (mutation)
        {
            case "unknown-group": settings.TlsGroups = ["X448MLKEM"]; break;
            case "classical-pq-only": settings.TlsProfile = TlsProfile.PostQuantumOnly; settings.TlsGroups = ["X25519MLKEM768", "x25519"]; break;
            case "classical-hybrid": settings.TlsGroups = ["secp256r1"]; break;
            case "empty-groups": settings.TlsGroups = []; break;
            case "twice": settings.TlsGroups = ["X25519MLKEM768", "x25519mlkem768"]; break;
            case "profile": settings.TlsProfile = (TlsProfile)7; break;
            case "duplicate": settings.Listeners = [new() { Port = 9000 }, new() { Port = 8443 }]; break;
            case "duplicate-extra": settings.Listeners = [new() { Port = 9000 }, new() { Port = 9000, TlsProfile = TlsProfile.Classical }]; break;
            case "listener-group": settings.Listeners = [new() { Port = 9000, TlsProfile = TlsProfile.PostQuantumOnly, TlsGroups = ["x25519"] }]; break;
            case "listener-address": settings.Listeners = [new() { Address = "nowhere", Port = 9000 }]; break;
            case "listener-port": settings.Listeners = [new() { Port = -1 }]; break;
            case "listener-empty": settings.Listeners = [null!]; break;
        }

        var e = Assert.Throws<QKDLiteException>(() => settings.Validate("node.json"));

        Assert.Equal(ErrorIds.EtsiServerConfigurationInvalid, e.ErrorId);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Port_0_listeners_never_collide()
    {
        var settings = Valid();
        settings.Port = 0;
        settings.Listeners = [new() { Port = 0 }, new() { Port = 0 }];

        settings.Validate("node.json");

        Assert.Equal(3, settings.ResolveListeners().Count);
    }
}
