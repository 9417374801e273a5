using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using QKDLite.Core.ServerControl;
using Xunit;

namespace QKDLite.Core.Tests;

/// <summary>The pieces Start-, Get- and Stop-EtsiServer are built from, without a server.</summary>
public sealed class ServerControlTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qkdlite-server-control-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    public static TheoryData<string[]> ArgumentLists => new()
    {
        new[] { "plain", "two words", "" },
        new[] { "quote\"inside", "trailing\\", "back\\\\slashes\\\"quote", "tab\there" },
        new[] { "/dev/shm/a b/node.json", "--pin-stdin", "ümlaut €", "\\\\" },
    };

    [Theory]
    [MemberData(nameof(ArgumentLists))]
    public void Joined_arguments_reach_a_child_process_unchanged(string[] arguments)
    {
        if (OperatingSystem.IsWindows()) return; // the round trip below uses /bin/sh
        // The shell prints each argument it received, NUL-terminated.
        var info = new ProcessStartInfo("/bin/sh", CommandLineQuoting.Join(new[] { "-c", "printf '%s\\0' \"$@\"", "sh" }.Concat(arguments)))
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(arguments, output.Split('\0')[..^1]);
    }

    [Fact]
    public void Quoting_everything_keeps_simple_arguments_intact()
    {
        Assert.Equal("\"a\" \"b c\" \"\"", CommandLineQuoting.Join(new[] { "a", "b c", "" }, quoteAll: true));
        Assert.Equal("a \"b c\" \"\"", CommandLineQuoting.Join(new[] { "a", "b c", "" }));
    }

    [Fact]
    public void A_state_file_is_read_with_property_names_in_any_case()
    {
        var path = Path.Combine(_dir, "etsi-server.json");
        File.WriteAllText(path, """{ "processid": 4242, "URLS": ["https://127.0.0.1:8443"], "Port": 8443, "StartedUtc": "2026-03-02T09:14:07.1234567Z", "Configuration": "/x/node.json" }""");
        var state = EtsiServerStateFile.TryRead(path);
        Assert.NotNull(state);
        Assert.Equal(4242, state!.ProcessId);
        Assert.Equal(new[] { "https://127.0.0.1:8443" }, state.Urls);
        Assert.Equal(8443, state.Port);
        Assert.Equal(new DateTime(2026, 3, 2, 9, 14, 7, DateTimeKind.Utc).AddTicks(1234567), state.StartedUtc);
        Assert.Equal(DateTimeKind.Utc, state.StartedUtc.Kind);
        Assert.Equal("/x/node.json", state.Configuration);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{ \"ProcessId\": 42, \"Port\": 8")]
    [InlineData("[1, 2]")]
    [InlineData("{ \"Port\": 8443 }")]
    [InlineData("{ \"ProcessId\": 42, \"Port\": 0 }")]
    [InlineData("{ \"ProcessId\": \"42\", \"Port\": 8443 }")]
    public void A_state_file_without_a_process_and_a_port_is_no_state(string content)
    {
        var path = Path.Combine(_dir, "etsi-server.json");
        File.WriteAllText(path, content);
        Assert.Null(EtsiServerStateFile.TryRead(path));
    }

    [Fact]
    public void A_missing_state_file_is_no_state() => Assert.Null(EtsiServerStateFile.TryRead(Path.Combine(_dir, "none.json")));

    [Theory]
    [InlineData("https://127.0.0.1:8443", "127.0.0.1")]
    [InlineData("https://0.0.0.0:8443", "127.0.0.1")]
    [InlineData("https://[::]:8443", "::1")]
    [InlineData("https://[::1]:8443/", "::1")]
    [InlineData("https://+:8443", "127.0.0.1")]
    [InlineData("https://*:8443", "127.0.0.1")]
    [InlineData("https://localhost:8443", "localhost")]
    [InlineData("", "127.0.0.1")]
    public void Wildcard_listening_addresses_are_reached_through_loopback(string url, string host) =>
        Assert.Equal(host, TcpProbe.ConnectHost(url));

    [Fact]
    public void The_log_tail_holds_only_what_this_run_wrote()
    {
        var path = Path.Combine(_dir, "etsi-server.log");
        File.WriteAllText(path, "old run\nold failure\n");
        var start = new FileInfo(path).Length;
        File.AppendAllText(path, "line 1\r\n\nline 2\nline 3\n");
        Assert.Equal(new[] { "line 2", "line 3" }, LogTail.Read(path, start, 2));
        Assert.Equal(new[] { "line 1", "line 2", "line 3" }, LogTail.Read(path, start, 10));
        Assert.Empty(LogTail.Read(Path.Combine(_dir, "none.log"), 0, 10));
    }

    [Fact]
    public void A_process_that_started_after_the_state_file_says_is_not_the_server()
    {
        using var current = Process.GetCurrentProcess();
        var started = current.StartTime.ToUniversalTime();
        Assert.True(ProcessLiveness.IsRunning(current.Id, started));
        Assert.True(ProcessLiveness.IsRunning(current.Id, DateTime.MinValue));
        Assert.False(ProcessLiveness.IsRunning(current.Id, started.AddMinutes(-10)), "a reused process id must not count");
        Assert.False(ProcessLiveness.IsRunning(int.MaxValue - 1, DateTime.UtcNow));
    }

    [Fact]
    public void Server_files_live_next_to_the_node_configuration()
    {
        var configuration = Path.Combine(_dir, "node-a", "node.json");
        Assert.Equal(Path.Combine(_dir, "node-a", "etsi-server.json"), EtsiServerFiles.StateFile(configuration));
        Assert.Equal(Path.Combine(_dir, "node-a", "etsi-server.log"), EtsiServerFiles.LogFile(configuration));
    }
}
