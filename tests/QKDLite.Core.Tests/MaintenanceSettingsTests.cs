using System;
using System.IO;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;
using Xunit;

namespace QKDLite.Core.Tests;

public sealed class MaintenanceSettingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qkdlite-maintenance-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private NodeConfiguration Load(string maintenance)
    {
        var path = Path.Combine(_dir, "node.json");
        File.WriteAllText(path, "{ \"Qrngs\": [ { \"Name\": \"lab-qrng\", \"Device\": \"q.bin\" } ], \"Maintenance\": " + maintenance + " }");
        return NodeConfiguration.Load(path);
    }

    [Fact]
    public void A_maintenance_section_reads_with_its_defaults()
    {
        var configuration = Load("{ \"KeyIds\": [ { \"KeyId\": \"VPN-A-B\", \"Minimum\": 100, \"Remotes\": [\"siteB\"] }, { \"KeyId\": \"Q\", \"Minimum\": 5, \"Size\": 512, \"Source\": \"Qrng\", \"Qrng\": \"LAB-qrng\", \"Remotes\": [\"siteB\", \"siteC\"] } ] }");
        var first = configuration.Maintenance!.KeyIds[0];
        Assert.Equal(("VPN-A-B", 100, 256, KeySource.Classical), (first.KeyId, first.Minimum, first.Size, first.Source));
        Assert.Null(first.Qrng);
        Assert.Equal(new[] { "siteB" }, first.Remotes);
        var second = configuration.Maintenance.KeyIds[1];
        Assert.Equal((512, KeySource.Qrng, "LAB-qrng"), (second.Size, second.Source, second.Qrng));
    }

    [Theory]
    [InlineData("{ \"KeyIds\": [ { \"KeyId\": \"bad id!\", \"Minimum\": 1, \"Remotes\": [\"b\"] } ] }", "KeyId 'bad id!' is not valid")]
    [InlineData("{ \"KeyIds\": [ { \"KeyId\": \"A\", \"Minimum\": 0, \"Remotes\": [\"b\"] } ] }", "Minimum 0 is out of range")]
    [InlineData("{ \"KeyIds\": [ { \"KeyId\": \"A\", \"Minimum\": 100001, \"Remotes\": [\"b\"] } ] }", "Minimum 100001 is out of range")]
    [InlineData("{ \"KeyIds\": [ { \"KeyId\": \"A\", \"Minimum\": 1, \"Size\": 100, \"Remotes\": [\"b\"] } ] }", "Size 100 must be a multiple of 8")]
    [InlineData("{ \"KeyIds\": [ { \"KeyId\": \"A\", \"Minimum\": 1, \"Source\": \"Kme\", \"Remotes\": [\"b\"] } ] }", "Source Kme cannot be maintained")]
    [InlineData("{ \"KeyIds\": [ { \"KeyId\": \"A\", \"Minimum\": 1, \"Source\": \"Qrng\", \"Remotes\": [\"b\"] } ] }", "names no Qrng")]
    [InlineData("{ \"KeyIds\": [ { \"KeyId\": \"A\", \"Minimum\": 1, \"Source\": \"Qrng\", \"Qrng\": \"other\", \"Remotes\": [\"b\"] } ] }", "Qrng 'other', which the Qrngs section does not list")]
    [InlineData("{ \"KeyIds\": [ { \"KeyId\": \"A\", \"Minimum\": 1, \"Qrng\": \"lab-qrng\", \"Remotes\": [\"b\"] } ] }", "but its Source is Classical")]
    [InlineData("{ \"KeyIds\": [ { \"KeyId\": \"A\", \"Minimum\": 1 } ] }", "names no Remotes")]
    [InlineData("{ \"KeyIds\": [ { \"KeyId\": \"A\", \"Minimum\": 1, \"Remotes\": [\"b\", \" \"] } ] }", "empty name in Remotes")]
    [InlineData("{ \"KeyIds\": [ { \"KeyId\": \"A\", \"Minimum\": 1, \"Remotes\": [\"b\", \"B\"] } ] }", "names remote site 'b' twice")]
    [InlineData("{ \"KeyIds\": [ { \"KeyId\": \"A\", \"Minimum\": 1, \"Remotes\": [\"b\"] }, { \"KeyId\": \"a\", \"Minimum\": 2, \"Remotes\": [\"b\"] } ] }", "repeats a keyID")]
    [InlineData("{ \"KeyIds\": [ null ] }", "KeyIds[0] is empty")]
    [InlineData("{ \"KeyIds\": null }", "KeyIds must be a list")]
    public void A_bad_entry_is_MaintenanceConfigurationInvalid_naming_the_problem(string maintenance, string problem)
    {
        var e = Assert.Throws<QKDLiteException>(() => Load(maintenance));
        Assert.Equal(ErrorIds.MaintenanceConfigurationInvalid, e.ErrorId);
        Assert.Contains("Maintenance section", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void The_section_survives_a_save()
    {
        var path = Path.Combine(_dir, "saved.json");
        var configuration = Load("{ \"KeyIds\": [ { \"KeyId\": \"VPN-A-B\", \"Minimum\": 7, \"Remotes\": [\"siteB\"] } ] }");
        configuration.Save(path);
        var again = NodeConfiguration.Load(path);
        Assert.Equal(7, again.Maintenance!.KeyIds[0].Minimum);
        Assert.Equal("siteB", again.Maintenance.KeyIds[0].Remotes[0]);
    }
}
