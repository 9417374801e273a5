using System;
using System.Linq;
using System.Net;
using System.Reflection;
using System.Threading.Tasks;
using QKDLite.Core.Errors;
using QKDLite.Core.KeyStore;
using QKDLite.EtsiServer.Protocol;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>A key store that fails (token removed, device error): 503 with a fixed text, details only in the server's own log.</summary>
[Collection(ServerCollection.Name)]
public sealed class FailingStoreTests
{
    private const string InternalDetail = "slot 7 of /opt/hsm/secret-path";
    private readonly ServerFixture _server;

    public FailingStoreTests(ServerFixture server) => _server = server;

    /// <summary>Every call on this store fails as an unplugged token would.</summary>
    public class UnpluggedStore : DispatchProxy
    {
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            throw new QKDLiteException(ErrorIds.KeyStoreUnavailable, QKDLiteErrorCategory.ResourceUnavailable,
                $"The key store became unavailable ({InternalDetail}).");
    }

    [Fact]
    public async Task Store_failures_answer_503_with_a_fixed_text_and_leave_an_audit_record()
    {
        var store = DispatchProxy.Create<IKeyStore, UnpluggedStore>();
        await using var host = await _server.StartServerAsync(s => s.AuditLog = "audit-failing.log", store);
        using var master = new SaeClient(new Uri($"https://127.0.0.1:{host.Port}/"), Pki.Master);
        using var slave = new SaeClient(new Uri($"https://127.0.0.1:{host.Port}/"), Pki.Slave);

        var answers = new[]
        {
            await master.StatusAsync(Pki.SlaveId),
            await master.EncKeysAsync(Pki.SlaveId, """{"number":2}"""),
            await slave.DecKeysAsync(Pki.MasterId, Guid.NewGuid().ToString()),
        };

        Assert.All(answers, a =>
        {
            a.AssertStatus(HttpStatusCode.ServiceUnavailable);
            Assert.Equal(EtsiMessages.KeyStoreUnavailable, a.Message);
            Assert.DoesNotContain(InternalDetail, a.Body);
        });
        var audit = ServerFixture.ReadShared(host.AuditLogPath).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(3, audit.Count);
        Assert.All(audit, l => Assert.Equal("failed: KeyStoreUnavailable", l.GetProperty("outcome").GetString()));
        Assert.All(audit, l => Assert.Equal(503, l.GetProperty("status").GetInt32()));
    }
}
