using System;
using System.IO;
using System.Linq;
using System.Text;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using Xunit;

namespace QKDLite.Core.Tests;

public sealed class ConfigurationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qkdlite-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void A_new_pin_file_is_owner_only_from_the_start_and_reads_back_without_the_line_break()
    {
        var path = Path.Combine(_dir, "node.pin");
        PinSources.WriteNewFile(path, Encoding.UTF8.GetBytes("s3cret-pin"));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        File.AppendAllText(path, "\n");
        Assert.Equal("s3cret-pin", Encoding.UTF8.GetString(PinSources.FromFile(path)));
    }

    [Fact]
    public void An_existing_pin_file_is_never_overwritten()
    {
        var path = Path.Combine(_dir, "node.pin");
        File.WriteAllText(path, "old");
        var e = Assert.Throws<QKDLiteException>(() => PinSources.WriteNewFile(path, Encoding.UTF8.GetBytes("new-pin")));
        Assert.Equal(ErrorIds.PinFileExists, e.ErrorId);
        Assert.Equal("old", File.ReadAllText(path));
    }

    [Fact]
    public void A_pin_file_others_can_read_is_refused()
    {
        if (OperatingSystem.IsWindows()) return;
        var path = Path.Combine(_dir, "open.pin");
        File.WriteAllText(path, "1234");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        Assert.Equal(ErrorIds.PinFileNotOwnerOnly, Assert.Throws<QKDLiteException>(() => PinSources.FromFile(path)).ErrorId);
        Assert.Equal(ErrorIds.PinFileNotFound, Assert.Throws<QKDLiteException>(() => PinSources.FromFile(path + ".missing")).ErrorId);
    }

    [Fact]
    public void A_pin_from_an_unset_variable_is_a_specific_error()
    {
        var name = "QKDLITE_TEST_UNSET_" + Guid.NewGuid().ToString("N");
        Assert.Equal(ErrorIds.PinEnvironmentVariableNotSet, Assert.Throws<QKDLiteException>(() => PinSources.FromEnvironment(name)).ErrorId);
    }

    [Fact]
    public void Generated_pins_are_24_unambiguous_characters_and_differ()
    {
        var a = Encoding.ASCII.GetString(PinSources.Generate());
        var b = Encoding.ASCII.GetString(PinSources.Generate());
        Assert.Equal(24, a.Length);
        Assert.NotEqual(a, b);
        Assert.DoesNotContain(a, c => "0O1lI".IndexOf(c) >= 0);
    }

    [Fact]
    public void The_configuration_round_trips_and_records_no_pin()
    {
        var path = Path.Combine(_dir, "node.json");
        new NodeConfiguration
        {
            KeyStore = new KeyStoreConfiguration { Library = "/lib/p11.so", TokenLabel = "Node", PinFile = "/secret/node.pin" },
        }.Save(path);
        var loaded = NodeConfiguration.Load(path);
        Assert.Equal("/lib/p11.so", loaded.KeyStore!.Library);
        Assert.Equal("Node", loaded.KeyStore.TokenLabel);
        Assert.Equal("/secret/node.pin", loaded.KeyStore.PinFile);
        Assert.Null(loaded.KeyStore.PinEnvironmentVariable);
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("{ \"KeyStore\": { \"Library\": \"\" } }")]
    [InlineData("null")]
    public void A_malformed_configuration_is_NodeConfigurationInvalid(string content)
    {
        var path = Path.Combine(_dir, "node.json");
        File.WriteAllText(path, content);
        Assert.Equal(ErrorIds.NodeConfigurationInvalid, Assert.Throws<QKDLiteException>(() => NodeConfiguration.Load(path)).ErrorId);
    }

    [Fact]
    public void A_missing_configuration_is_NodeConfigurationNotFound()
    {
        Assert.Equal(ErrorIds.NodeConfigurationNotFound,
            Assert.Throws<QKDLiteException>(() => NodeConfiguration.Load(Path.Combine(_dir, "none.json"))).ErrorId);
    }

    private string WriteNodeJson(string replication)
    {
        var path = Path.Combine(_dir, "node.json");
        File.WriteAllText(path, "{ \"Replication\": " + replication + " }");
        return path;
    }

    [Fact]
    public void The_replication_section_names_sites_with_their_nodes_or_one_node_at_top_level()
    {
        var configuration = NodeConfiguration.Load(WriteNodeJson(@"{ ""Remotes"": [
            { ""Name"": ""siteB"", ""Nodes"": [ { ""HostName"": ""b1"", ""UserName"": ""q"", ""Kme"": ""LinkB"" }, { ""HostName"": ""b2"", ""Port"": 2222 } ] },
            { ""Name"": ""siteC"", ""HostName"": ""c"", ""Port"": 2200, ""KeyFilePath"": ""ssh/key"", ""Kme"": ""LinkC"", ""ConnectTimeoutSeconds"": 5 } ] }"));
        var remotes = configuration.Replication!.Remotes;
        Assert.Equal(new[] { "siteB", "siteC" }, remotes.Select(r => r.Name));
        Assert.Equal(new[] { "q@b1:22", "b2:2222" }, remotes[0].EffectiveNodes().Select(n => n.DisplayName));
        Assert.Equal("LinkB", remotes[0].EffectiveNodes()[0].Kme);
        var c = Assert.Single(remotes[1].EffectiveNodes());
        Assert.Equal(("c", 2200, "ssh/key", "LinkC", (int?)5), (c.HostName, c.Port, c.KeyFilePath, c.Kme, c.ConnectTimeoutSeconds));
        Assert.Same(remotes[1], configuration.Replication.Find("SITEC"));
        Assert.Null(configuration.Replication.Find("siteD"));
        Assert.Null(remotes[0].Via);
    }

    [Fact]
    public void A_site_may_be_reached_through_another_and_chains_of_relays_are_allowed()
    {
        var configuration = NodeConfiguration.Load(WriteNodeJson(@"{ ""Remotes"": [
            { ""Name"": ""siteB"", ""HostName"": ""b"" },
            { ""Name"": ""siteC"", ""HostName"": ""c"", ""Via"": ""SITEB"" },
            { ""Name"": ""siteD"", ""HostName"": ""d"", ""Via"": ""siteC"" } ] }"));
        var remotes = configuration.Replication!.Remotes;
        Assert.Equal(new string?[] { null, "SITEB", "siteC" }, remotes.Select(r => r.Via));
    }

    [Theory]
    [InlineData(@"{ ""Remotes"": [ { ""Name"": ""x"", ""HostName"": ""a"" }, { ""Name"": ""X"", ""HostName"": ""b"" } ] }", "used twice")]
    [InlineData(@"{ ""Remotes"": [ { ""HostName"": ""a"" } ] }", "has no Name")]
    [InlineData(@"{ ""Remotes"": [ { ""Name"": ""x"" } ] }", "has no node")]
    [InlineData(@"{ ""Remotes"": [ { ""Name"": ""x"", ""Nodes"": [] } ] }", "has no node")]
    [InlineData(@"{ ""Remotes"": [ { ""Name"": ""x"", ""HostName"": ""a"", ""Nodes"": [ { ""HostName"": ""b"" } ] } ] }", "both Nodes and a top-level HostName")]
    [InlineData(@"{ ""Remotes"": [ { ""Name"": ""x"", ""Nodes"": [ { ""Port"": 22 } ] } ] }", "has no HostName")]
    [InlineData(@"{ ""Remotes"": [ { ""Name"": ""x"", ""Nodes"": [ { ""HostName"": ""a"", ""Port"": 0 } ] } ] }", "port 0")]
    [InlineData(@"{ ""Remotes"": [ { ""Name"": ""x"", ""HostName"": ""a"", ""ConnectTimeoutSeconds"": 0 } ] }", "ConnectTimeoutSeconds 0")]
    [InlineData(@"{ ""Remotes"": [ { ""Name"": ""x"", ""Nodes"": [ { ""HostName"": ""a"" }, { ""HostName"": ""A"" } ] } ] }", "names node A:22 twice")]
    [InlineData(@"{ ""Remotes"": [ null ] }", "remote 1 is empty")]
    [InlineData(@"{ ""Remotes"": [ { ""Name"": ""x"", ""HostName"": ""a"", ""Via"": ""X"" } ] }", "remote 'x' is reached Via itself")]
    [InlineData(@"{ ""Remotes"": [ { ""Name"": ""x"", ""HostName"": ""a"", ""Via"": ""y"" } ] }", "reached Via 'y', which is not a remote")]
    [InlineData(@"{ ""Remotes"": [ { ""Name"": ""x"", ""HostName"": ""a"", ""Via"": "" "" } ] }", "remote 'x' has an empty Via")]
    [InlineData(@"{ ""Remotes"": [ { ""Name"": ""b"", ""HostName"": ""a"", ""Via"": ""c"" }, { ""Name"": ""c"", ""HostName"": ""a"", ""Via"": ""d"" }, { ""Name"": ""d"", ""HostName"": ""a"", ""Via"": ""c"" } ] }", "'b' -> 'c' -> 'd' -> 'c' are reached Via each other in a cycle")]
    public void A_replication_section_that_is_not_valid_is_refused_naming_the_problem(string section, string problem)
    {
        var path = WriteNodeJson(section);
        var e = Assert.Throws<QKDLiteException>(() => NodeConfiguration.Load(path));
        Assert.Equal(ErrorIds.ReplicationConfigurationInvalid, e.ErrorId);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.Contains("Replication section", e.Message, StringComparison.Ordinal);
    }
}
