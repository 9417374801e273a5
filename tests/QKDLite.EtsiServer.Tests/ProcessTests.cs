using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using QKDLite.Core.Configuration;
using QKDLite.Core.KeyStore;
using QKDLite.Core.Sources;
using QKDLite.EtsiServer.Hosting;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>The real QKDLite_ETSI executable: command line, PIN input, state file, signals, exit codes.</summary>
public sealed class ProcessTests : IClassFixture<TestToken>, IDisposable
{
    private const int SigInt = 2;
    private const int SigTerm = 15;
    // How long a stopping server may take to exit before the test gives up: a bound for a hung
    // process, generous because other test classes load the machine meanwhile (200 TLS connections).
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(60);
    private readonly TestToken _token;
    private readonly string _dir = Directory.CreateTempSubdirectory("qkdlite-etsi-process-").FullName;

    public ProcessTests(TestToken token) => _token = token;

    public void Dispose() => Directory.Delete(_dir, true);

    private string ConfigurationFile => Path.Combine(_dir, "node.json");

    private string DefaultStateFile => Path.Combine(_dir, "etsi-server.json");

    /// <summary>A node.json as the cmdlets write it, with a key store and (unless told otherwise) an EtsiServer section.</summary>
    private void WriteConfiguration(bool withServer = true, string? pinFile = null)
    {
        var server = Pki.Server.WriteFiles(_dir, "server");
        var configuration = new NodeConfiguration
        {
            KeyStore = new KeyStoreConfiguration
            {
                Library = _token.Settings.LibraryPath,
                TokenLabel = _token.TokenLabel,
                SoftHsmConfig = _token.Settings.SoftHsmConfig,
                PinFile = pinFile,
            },
            EtsiServer = !withServer ? null : new EtsiServerSettings
            {
                Port = 0,
                ServerCertificate = server.CertificatePem,
                ServerCertificateKey = server.PrivateKeyPem,
                ClientCaCertificate = Pki.Ca.WriteCaPem(_dir),
                KmeId = "KME-A",
                ShutdownTimeoutSeconds = 5,
                Pairs = [new EtsiSaePair { MasterSaeId = Pki.MasterId, SlaveSaeId = Pki.SlaveId, KeyId = "pool-process", PeerKmeId = "KME-B" }],
            },
        };
        configuration.Save(ConfigurationFile);
    }

    private static Process Start(params string[] arguments) => StartWithOpenSsl(null, arguments);

    private static Process StartWithOpenSsl(string? openSslConfiguration, params string[] arguments) =>
        StartProcess(openSslConfiguration, defaultSigInt: false, arguments);

    /// <summary>
    /// As a terminal starts it: with Ctrl+C's SIGINT at its default. A process started in the
    /// background (a CI job, "cmd &amp;") inherits SIGINT ignored, and .NET then rightly leaves it
    /// ignored, so the server would never see the Ctrl+C this test sends; env resets it before exec.
    /// </summary>
    private static Process StartAsFromTerminal(params string[] arguments) => StartProcess(null, defaultSigInt: true, arguments);

    private static Process StartProcess(string? openSslConfiguration, bool defaultSigInt, string[] arguments)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var start = new ProcessStartInfo(defaultSigInt ? "env" : dotnet)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (defaultSigInt)
        {
            start.ArgumentList.Add("--default-signal=INT");
            start.ArgumentList.Add(dotnet);
        }
        if (openSslConfiguration is not null) start.Environment["OPENSSL_CONF"] = openSslConfiguration;
        start.ArgumentList.Add(typeof(EtsiServerHost).Assembly.Location);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        return Process.Start(start)!;
    }

    [Fact]
    public async Task With_the_PIN_on_stdin_it_serves_writes_its_state_and_stops_cleanly_on_SIGTERM()
    {
        WriteConfiguration();
        var labels = _token.Store.CreateKeys(new NewKeysRequest("pool-process", 3, 256), new SystemRandomSource()).Select(k => k.Label).ToList();
        var stored = labels.ToDictionary(l => l, _token.Store.ReadKeyMaterial);
        using var process = Start("--config", ConfigurationFile, "--pin-stdin");
        try
        {
            await process.StandardInput.WriteAsync(TestToken.PinText + "\n");
            process.StandardInput.Close();
            var stderr = process.StandardError.ReadToEndAsync();

            var line = await ReadLineAsync(process, stderr);
            Assert.StartsWith("QKDLite_ETSI listening on https://127.0.0.1:", line);
            var url = line["QKDLite_ETSI listening on ".Length..];

            using var state = JsonDocument.Parse(await File.ReadAllTextAsync(DefaultStateFile));
            var root = state.RootElement;
            Assert.Equal(process.Id, root.GetProperty("ProcessId").GetInt32());
            Assert.Equal([url], root.GetProperty("Urls").EnumerateArray().Select(u => u.GetString()));
            var port = root.GetProperty("Port").GetInt32();
            Assert.Equal(url, $"https://127.0.0.1:{port}");
            Assert.Equal(ConfigurationFile, root.GetProperty("Configuration").GetString());
            Assert.True(DateTime.UtcNow - root.GetProperty("StartedUtc").GetDateTime().ToUniversalTime() < TimeSpan.FromMinutes(1));

            using var master = new SaeClient(new Uri(url + "/"), Pki.Master);
            Assert.Equal(3, (await master.StatusAsync(Pki.SlaveId)).Json.GetProperty("stored_key_count").GetInt32());
            var keys = (await master.EncKeysAsync(Pki.SlaveId, """{"number":2}""")).Keys;
            Assert.Equal(labels.Take(2), keys.Select(k => k.Id));
            Assert.All(keys, k => Assert.Equal(stored[k.Id], k.Key));
            // The server's deletion reaches this process's view of the token.
            Assert.Equal([labels[2]], _token.Store.List("pool-process").Select(k => k.Label));

            Assert.Equal(0, Kill(process.Id, SigTerm));
            using var exit = new CancellationTokenSource(ExitBound);
            await process.WaitForExitAsync(exit.Token);

            Assert.Equal(0, process.ExitCode);
            Assert.False(File.Exists(DefaultStateFile));
            var errors = await stderr;
            Assert.DoesNotContain(TestToken.PinText, errors);
            Assert.Equal(2, ServerFixture.ReadShared(Path.Combine(_dir, "etsi-audit.log")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task With_the_PIN_in_a_file_it_writes_the_named_state_file_and_stops_on_Ctrl_C()
    {
        var pinFile = Path.Combine(_dir, "node.pin");
        PinSources.WriteNewFile(pinFile, TestToken.Pin());
        WriteConfiguration(pinFile: pinFile);
        var stateFile = Path.Combine(_dir, "run", "my-state.json");
        using var process = StartAsFromTerminal("--config", ConfigurationFile, "--state-file", stateFile);
        try
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var line = await ReadLineAsync(process, stderr);
            Assert.StartsWith("QKDLite_ETSI listening on https://127.0.0.1:", line);
            Assert.True(File.Exists(stateFile));
            Assert.False(File.Exists(DefaultStateFile));

            Assert.Equal(0, Kill(process.Id, SigInt));
            using var exit = new CancellationTokenSource(ExitBound);
            await process.WaitForExitAsync(exit.Token);

            Assert.Equal(0, process.ExitCode);
            Assert.False(File.Exists(stateFile));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>
    /// Under systemd with Type=notify the server tells the service manager when it is ready and when
    /// it stops, over the real sd_notify datagram socket. No systemd runs here, so the test plays its
    /// part: the server's parent is named "systemd" (how .NET recognises a systemd service) and
    /// NOTIFY_SOCKET names a socket the test reads.
    /// </summary>
    [Fact]
    public async Task Under_systemd_it_notifies_ready_once_listening_and_stopping_on_SIGTERM()
    {
        if (!OperatingSystem.IsLinux()) return;
        var pinFile = Path.Combine(_dir, "node.pin");
        PinSources.WriteNewFile(pinFile, TestToken.Pin());
        WriteConfiguration(pinFile: pinFile);
        var notifySocketPath = Path.Combine(_dir, "notify");
        using var notifySocket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notifySocket.Bind(new UnixDomainSocketEndPoint(notifySocketPath));
        // A copy of the shell named "systemd" stays the server's parent: '; exit' keeps it from exec'ing.
        var fakeManager = Path.Combine(_dir, "systemd");
        File.Copy("/bin/bash", fakeManager);
        var start = new ProcessStartInfo(fakeManager) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-c", "\"$0\" \"$@\"; exit $?", Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
                     typeof(EtsiServerHost).Assembly.Location, "--config", ConfigurationFile })
            start.ArgumentList.Add(argument);
        start.Environment["NOTIFY_SOCKET"] = notifySocketPath;
        using var manager = Process.Start(start)!;
        var output = manager.StandardOutput.ReadToEndAsync();
        var errors = manager.StandardError.ReadToEndAsync();
        try
        {
            Assert.Equal("READY=1", await ReceiveNotificationAsync(notifySocket, manager, errors));
            // The state file (for Get-EtsiServer) is written just after the host has started.
            for (var wait = 0; wait < 100 && !File.Exists(DefaultStateFile); wait++) await Task.Delay(100);
            using (var state = JsonDocument.Parse(await File.ReadAllTextAsync(DefaultStateFile)))
            {
                var serverProcess = state.RootElement.GetProperty("ProcessId").GetInt32();
                Assert.NotEqual(manager.Id, serverProcess);
                Assert.Equal(0, Kill(serverProcess, SigTerm));
            }

            Assert.Equal("STOPPING=1", await ReceiveNotificationAsync(notifySocket, manager, errors));
            using var exit = new CancellationTokenSource(ExitBound);
            await manager.WaitForExitAsync(exit.Token);
            Assert.Equal(0, manager.ExitCode);
            Assert.False(File.Exists(DefaultStateFile));
            Assert.Contains("listening on https://127.0.0.1:", await output);
        }
        finally
        {
            if (!manager.HasExited) manager.Kill(entireProcessTree: true);
        }
    }

    /// <summary>The next sd_notify message, or a failure carrying the server's error output if none comes.</summary>
    private static async Task<string> ReceiveNotificationAsync(Socket socket, Process manager, Task<string> errors)
    {
        var buffer = new byte[512];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            var received = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            return Encoding.UTF8.GetString(buffer, 0, received).Trim();
        }
        catch (OperationCanceledException)
        {
            if (!manager.HasExited) manager.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException("No notification within 60 s; server errors: " + await errors);
        }
    }

    [Fact]
    public async Task Even_where_OpenSSL_would_allow_TLS_1_0_and_1_1_the_server_refuses_them()
    {
        // This machine's OpenSSL refuses TLS 1.0/1.1 at its default security level anyway; a
        // permissive configuration shows that the server's own setting is what refuses them.
        var permissive = Path.Combine(_dir, "permissive-openssl.cnf");
        await File.WriteAllTextAsync(permissive, """
            openssl_conf = openssl_init
            [openssl_init]
            ssl_conf = ssl_sect
            [ssl_sect]
            system_default = system_default_sect
            [system_default_sect]
            MinProtocol = TLSv1
            CipherString = DEFAULT@SECLEVEL=0
            """);
        WriteConfiguration();
        using var process = StartWithOpenSsl(permissive, "--config", ConfigurationFile, "--pin-stdin");
        try
        {
            await process.StandardInput.WriteAsync(TestToken.PinText + "\n");
            process.StandardInput.Close();
            var stderr = process.StandardError.ReadToEndAsync();
            var line = await ReadLineAsync(process, stderr);
            var port = new Uri(line["QKDLite_ETSI listening on ".Length..]).Port;

            Assert.True((await RawTls.HelloAsync(port, RawTls.Tls12)).IsServerHello);
            Assert.False((await RawTls.HelloAsync(port, RawTls.Tls10)).IsServerHello);
            Assert.False((await RawTls.HelloAsync(port, RawTls.Tls11)).IsServerHello);

            Assert.Equal(0, Kill(process.Id, SigTerm));
            using var exit = new CancellationTokenSource(ExitBound);
            await process.WaitForExitAsync(exit.Token);
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [Theory]
    [InlineData("noServer", "(EtsiServerNotConfigured)")]
    [InlineData("wrongPin", "(KeyStorePinIncorrect)")]
    [InlineData("noConfig", "(NodeConfigurationNotFound)")]
    [InlineData("badArgument", "argument 1 is not an option QKDLite_ETSI knows")]
    public async Task Configuration_and_start_errors_exit_1_with_one_message_and_no_state_file(string problem, string expected)
    {
        WriteConfiguration(withServer: problem != "noServer");
        const string wrongPin = "wrong-pin-9876";
        using var process = problem switch
        {
            "noConfig" => Start("--config", Path.Combine(_dir, "missing.json"), "--pin-stdin"),
            "badArgument" => Start("--pin", wrongPin),
            _ => Start("--config", ConfigurationFile, "--pin-stdin"),
        };
        try
        {
            await process.StandardInput.WriteAsync((problem == "wrongPin" ? wrongPin : TestToken.PinText) + "\n");
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(exit.Token);

            Assert.Equal(1, process.ExitCode);
            var errors = await stderr;
            Assert.Contains(expected, errors);
            Assert.DoesNotContain(wrongPin, errors);
            Assert.DoesNotContain(TestToken.PinText, errors);
            Assert.Equal(string.Empty, await stdout);
            Assert.False(File.Exists(DefaultStateFile));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    private static async Task<string> ReadLineAsync(Process process, Task<string> stderr)
    {
        using var ready = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var line = await process.StandardOutput.ReadLineAsync(ready.Token);
        if (line is null)
        {
            await process.WaitForExitAsync(CancellationToken.None);
            Assert.Fail($"no output; exit code {process.ExitCode}: {await stderr}");
        }
        return line!;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
