using System;
using System.Linq;
using System.Text;
using System.Text.Json;
using QKDLite.EtsiServer.Audit;
using Xunit;

namespace QKDLite.EtsiServer.Tests;

/// <summary>Audit records stay one parseable line whatever callers put in paths and key_IDs.</summary>
public sealed class AuditLogTests
{
    [Fact]
    public void Caller_supplied_text_is_cut_escaped_and_kept_on_one_line()
    {
        var record = new AuditRecord
        {
            Remote = "127.0.0.1:1234",
            Method = "POST",
            Endpoint = "dec_keys",
            PathSaeId = "SAE\n\"A\"\ud800" + new string('x', 1000),
            KeyIds = ["line\nbreak", "\udc00lone"],
            Status = 400,
            Outcome = "refused",
        };

        var bytes = AuditLog.Serialize(record);
        var line = Encoding.UTF8.GetString(bytes);

        Assert.EndsWith("\n", line);
        Assert.Single(line.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var json = JsonDocument.Parse(bytes).RootElement;
        var path = json.GetProperty("pathSae").GetString()!;
        Assert.StartsWith("SAE\n\"A\"\uFFFD", path);
        Assert.Equal(AuditRecord.MaxTextLength + 3, path.Length);
        Assert.Equal(["line\nbreak", "\uFFFDlone"], json.GetProperty("keyIds").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(JsonValueKind.Null, json.GetProperty("sae").ValueKind);
        Assert.Equal(400, json.GetProperty("status").GetInt32());
    }
}
