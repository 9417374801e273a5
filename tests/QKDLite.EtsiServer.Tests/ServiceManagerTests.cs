using System;
using System.Diagnostics;
using System.IO;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using QKDLite.Core.Configuration;
using QKDLite.EtsiServer.Hosting;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>
/// QKDLite_ETSI under systemd with <c>Type=notify</c>: it tells the service manager when it is
/// ready and when it stops, over the real sd_notify datagram socket. No systemd runs here, so the
/// test plays its part: the server's parent process is named "systemd" (how .NET recognises a
/// systemd service) and NOTIFY_SOCKET names a socket the test reads.
/// </summary>
public sealed class ServiceManagerTests : IClassFixture<TestToken>, IDisposable
{
    private const int SigTerm = 15;
    private readonly TestToken _token;
    private readonly string _dir = Directory.CreateTempSubdirectory("qkdlite-etsi-systemd-").FullName;

    public ServiceManagerTests(TestToken token) => _token = token;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public async Task Under_systemd_it_notifies_ready_once_listening_and_stopping_on_SIGTERM()
    {
        if (!OperatingSystem.IsLinux()) return;
        var configurationFile = WriteConfiguration();
        var notifySocketPath = Path.Combine(_dir, "notify");
        using var notifySocket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notifySocket.Bind(new UnixDomainSocketEndPoint(notifySocketPath));
        // A copy of the shell named "systemd" stays the server's parent: '; exit' keeps it from exec'ing.
        var fakeManager = Path.Combine(_dir, "systemd");
        File.Copy("/bin/bash", fakeManager);
        var start = new ProcessStartInfo(fakeManager)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("\"$0\" \"$@\"; exit $?");
        start.ArgumentList.Add(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet");
        start.ArgumentList.Add(typeof(EtsiServerHost).Assembly.Location);
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(configurationFile);
        start.Environment["NOTIFY_SOCKET"] = notifySocketPath;
        using var manager = Process.Start(start)!;
        var output = manager.StandardOutput.ReadToEndAsync();
        var errors = manager.StandardError.ReadToEndAsync();
        try
        {
            Assert.Equal("READY=1", await ReceiveAsync(notifySocket, manager, errors));
            var stateFile = Path.Combine(_dir, "etsi-server.json");
            // The state file (for Get-EtsiServer) is written just after the host has started.
            for (var wait = 0; wait < 100 && !File.Exists(stateFile); wait++) await Task.Delay(100);
            using (var state = JsonDocument.Parse(await File.ReadAllTextAsync(stateFile)))
            {
                var serverProcess = state.RootElement.GetProperty("ProcessId").GetInt32();
                Assert.NotEqual(manager.Id, serverProcess);
                Assert.Equal(0, Kill(serverProcess, SigTerm));
            }

            Assert.Equal("STOPPING=1", await ReceiveAsync(notifySocket, manager, errors));
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await manager.WaitForExitAsync(exit.Token);
            Assert.Equal(0, manager.ExitCode);
            Assert.False(File.Exists(stateFile));
            Assert.Contains("listening on https://127.0.0.1:", await output);
        }
        finally
        {
            if (!manager.HasExited) manager.Kill(entireProcessTree: true);
        }
    }

    private string WriteConfiguration()
    {
        var server = Pki.Server.WriteFiles(_dir, "server");
        var pinFile = Path.Combine(_dir, "store.pin");
        File.WriteAllBytes(pinFile, TestToken.Pin());
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(pinFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var configurationFile = Path.Combine(_dir, "node.json");
        new NodeConfiguration
        {
            KeyStore = new KeyStoreConfiguration
            {
                Library = _token.Settings.LibraryPath,
                TokenLabel = _token.TokenLabel,
                SoftHsmConfig = _token.Settings.SoftHsmConfig,
                PinFile = pinFile,
            },
            EtsiServer = new EtsiServerSettings
            {
                Port = 0,
                ServerCertificate = server.CertificatePem,
                ServerCertificateKey = server.PrivateKeyPem,
                ClientCaCertificate = Pki.Ca.WriteCaPem(_dir),
                KmeId = "KME-A",
                ShutdownTimeoutSeconds = 5,
                Pairs = [new EtsiSaePair { MasterSaeId = Pki.MasterId, SlaveSaeId = Pki.SlaveId, KeyId = "pool-systemd", PeerKmeId = "KME-B" }],
            },
        }.Save(configurationFile);
        return configurationFile;
    }

    /// <summary>The next notification, or a failure carrying the server's error output if none comes.</summary>
    private static async Task<string> ReceiveAsync(Socket socket, Process manager, Task<string> errors)
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

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
