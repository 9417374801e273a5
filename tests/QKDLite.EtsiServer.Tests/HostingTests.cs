using System;
using System.Linq;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using QKDLite.EtsiServer.Hosting;
using QKDLite.Core.Tls;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>Starting the server: certificate files, bad paths, a busy port; and the command line, PIN and state file pieces.</summary>
[Collection(ServerCollection.Name)]
public sealed class HostingTests
{
    private readonly ServerFixture _server;

    public HostingTests(ServerFixture server) => _server = server;

    [Fact]
    public async Task A_PFX_or_a_PEM_file_holding_its_key_serves_as_well_as_PEM_and_key()
    {
        var files = Pki.Server.WriteFiles(_server.Directory, "server-" + Guid.NewGuid().ToString("N")[..6]);
        var combined = Path.Combine(_server.Directory, "combined-" + Guid.NewGuid().ToString("N")[..6] + ".pem");
        await File.WriteAllTextAsync(combined, "Bag Attributes\n" + Pki.Server.CertificatePem + Pki.Server.PrivateKeyPem);
        _server.Refill(ServerFixture.PoolAB, 1, 256);

        foreach (var (certificate, key) in new[] { (files.Pfx, (string?)null), (combined, null), (files.CertificatePem, files.PrivateKeyPem) })
        {
            await using var host = await _server.StartServerAsync(s =>
            {
                s.ServerCertificate = certificate;
                s.ServerCertificateKey = key;
                s.AuditLog = "audit-pfx.log";
            });
            using var client = new SaeClient(new Uri($"https://127.0.0.1:{host.Port}/"), Pki.Master);
            (await client.StatusAsync(Pki.SlaveId)).AssertStatus(HttpStatusCode.OK);
        }
    }

    [Theory]
    [InlineData("missingCertificate", "ServerCertificate '")]
    [InlineData("certificateWithoutKey", "could not be loaded")]
    [InlineData("missingKey", "ServerCertificateKey '")]
    [InlineData("missingCa", "ClientCaCertificate '")]
    [InlineData("emptyCa", "holds no PEM certificate")]
    public async Task Unusable_certificate_files_stop_the_start_with_EtsiServerCertificateInvalid(string problem, string expected)
    {
        var empty = Path.Combine(_server.Directory, "empty.pem");
        await File.WriteAllTextAsync(empty, "no certificate here\n");
        var certificateOnly = Path.Combine(_server.Directory, "certificate-only.pem");
        await File.WriteAllTextAsync(certificateOnly, Pki.Server.CertificatePem);

        var e = await Assert.ThrowsAsync<QKDLiteException>(() => _server.StartServerAsync(s =>
        {
            switch (problem)
            {
                case "missingCertificate": s.ServerCertificate = "nowhere.pem"; break;
                case "certificateWithoutKey": s.ServerCertificate = certificateOnly; s.ServerCertificateKey = null; break;
                case "missingKey": s.ServerCertificateKey = "nowhere.key"; break;
                case "missingCa": s.ClientCaCertificate = "nowhere-ca.pem"; break;
                case "emptyCa": s.ClientCaCertificate = empty; break;
            }
        }));

        Assert.Equal(ErrorIds.EtsiServerCertificateInvalid, e.ErrorId);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public async Task A_busy_port_is_EtsiServerStartFailed()
    {
        using var blocker = new TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        var port = ((IPEndPoint)blocker.LocalEndpoint).Port;

        var e = await Assert.ThrowsAsync<QKDLiteException>(() => _server.StartServerAsync(s => { s.Port = port; s.AuditLog = "audit-busy.log"; }));

        Assert.Equal(ErrorIds.EtsiServerStartFailed, e.ErrorId);
        Assert.Contains(port.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
    }

    [Fact]
    public async Task A_localhost_or_wildcard_address_is_served_too()
    {
        await using var local = await _server.StartServerAsync(s => { s.Address = "localhost"; s.AuditLog = "audit-local.log"; });
        using var client = new SaeClient(new Uri($"https://127.0.0.1:{local.Port}/"), Pki.Master);
        (await client.StatusAsync(Pki.SlaveId)).AssertStatus(HttpStatusCode.OK);
        Assert.StartsWith("https://", Assert.Single(local.Urls));
    }

    [Fact]
    public void The_command_line_takes_a_config_a_stdin_switch_and_a_state_file_and_nothing_else()
    {
        Assert.Equal(new CommandLine("n.json", true, "s.json", false), CommandLine.Parse(["--config", "n.json", "--pin-stdin", "--state-file", "s.json"]));
        Assert.Equal(new CommandLine("n.json", false, null, false), CommandLine.Parse(["--config", "n.json"]));
        Assert.True(CommandLine.Parse(["--help"]).Help);
        Assert.Contains("--config is required", Assert.Throws<ArgumentException>(() => CommandLine.Parse([])).Message);
        Assert.Contains("needs a value", Assert.Throws<ArgumentException>(() => CommandLine.Parse(["--config"])).Message);
        Assert.Contains("given twice", Assert.Throws<ArgumentException>(() => CommandLine.Parse(["--config", "a", "--config", "b"])).Message);
        var pin = Assert.Throws<ArgumentException>(() => CommandLine.Parse(["--config", "a", "--pin", "s3cret-pin"]));
        Assert.DoesNotContain("s3cret-pin", pin.Message);
        Assert.DoesNotContain("--pin ", pin.Message);
    }

    [Theory]
    [InlineData("1234\n", "1234")]
    [InlineData("1234\r\nmore", "1234")]
    [InlineData("12 34", "12 34")]
    [InlineData("pin\u00e9", "pin\u00e9")]
    public void The_PIN_on_standard_input_is_read_as_bytes_up_to_the_line_break(string input, string pin)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(input));
        Assert.Equal(Encoding.UTF8.GetBytes(pin), PinInput.FromStream(stream));
    }

    [Fact]
    public void An_empty_or_overlong_PIN_on_standard_input_is_refused()
    {
        Assert.Equal(ErrorIds.KeyStorePinMissing, Assert.Throws<QKDLiteException>(() => PinInput.FromStream(new MemoryStream())).ErrorId);
        Assert.Equal(ErrorIds.KeyStorePinMissing, Assert.Throws<QKDLiteException>(() => PinInput.FromStream(new MemoryStream("\r\n"u8.ToArray()))).ErrorId);
        Assert.Equal(ErrorIds.PinLengthInvalid, Assert.Throws<QKDLiteException>(() => PinInput.FromStream(new MemoryStream(new byte[300]))).ErrorId);
    }

    [Fact]
    public void Without_stdin_the_PIN_comes_from_the_configured_file_or_variable()
    {
        var config = Path.Combine(_server.Directory, "node.json");
        var pinFile = "pin-" + Guid.NewGuid().ToString("N")[..6];
        PinSources.WriteNewFile(Path.Combine(_server.Directory, pinFile), "file-pin"u8.ToArray());
        Assert.Equal("file-pin"u8.ToArray(), PinInput.FromConfiguration(new KeyStoreConfiguration { PinFile = pinFile }, config));

        var variable = "QKDLITE_TEST_ETSI_PIN_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, "env-pin");
        try
        {
            Assert.Equal("env-pin"u8.ToArray(), PinInput.FromConfiguration(new KeyStoreConfiguration { PinEnvironmentVariable = variable }, config));
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
        var e = Assert.Throws<QKDLiteException>(() => PinInput.FromConfiguration(new KeyStoreConfiguration(), config));
        Assert.Equal(ErrorIds.KeyStorePinMissing, e.ErrorId);
        Assert.Contains("--pin-stdin", e.Message);
    }

    [Fact]
    public void The_state_file_is_written_whole_and_deleted_only_by_its_own_process()
    {
        var path = Path.Combine(_server.Directory, "state-" + Guid.NewGuid().ToString("N")[..6] + ".json");
        StateFile.Write(path, 4242,
            [new("https://127.0.0.1:8443", TlsProfile.Hybrid, ["X25519MLKEM768", "SecP384r1MLKEM1024"]), new("https://127.0.0.1:8444", TlsProfile.Classical, [])], 8443, new DateTime(2030, 1, 2, 3, 4, 5, DateTimeKind.Utc), "node.json");

        var state = QKDLite.Core.ServerControl.EtsiServerStateFile.TryRead(path);
        Assert.True(state is not null, File.ReadAllText(path));
        Assert.Equal(4242, state.ProcessId);
        Assert.Equal(8443, state.Port);
        Assert.Equal(["https://127.0.0.1:8443", "https://127.0.0.1:8444"], state.Urls);
        Assert.Equal(["https://127.0.0.1:8443 Hybrid (X25519MLKEM768, SecP384r1MLKEM1024)", "https://127.0.0.1:8444 Classical"],
            state.Listeners.Select(l => l.ToString()));
        Assert.Equal(new DateTime(2030, 1, 2, 3, 4, 5, DateTimeKind.Utc), state.StartedUtc);
        Assert.Equal(Path.GetFullPath("node.json"), state.Configuration);
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!, "*" + Path.GetFileName(path) + "*"));

        StateFile.DeleteIfOwn(path, 4343);
        Assert.True(File.Exists(path));
        StateFile.DeleteIfOwn(path, 4242);
        Assert.False(File.Exists(path));
        Assert.Equal(Path.Combine(_server.Directory, "etsi-server.json"), StateFile.DefaultPath(Path.Combine(_server.Directory, "node.json")));
    }
}
