using System;
using System.IO;
using System.Linq;
using QKDLite.Core.Errors;
using QKDLite.Core.Replication;
using Xunit;

namespace QKDLite.Core.Tests;

public sealed class ReplicationJournalTests : IDisposable
{
    private static readonly string[] Nodes = { ReplicationJournal.LocalNode, "node-b", "node-c" };
    private readonly string _directory;
    private readonly ReplicationJournal _journal;

    public ReplicationJournalTests()
    {
        var root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        _directory = Path.Combine(root, "qkdlite-journal-" + Guid.NewGuid().ToString("N")[..8]);
        _journal = ReplicationJournal.Open(ReplicationJournal.DefaultPath(_directory));
    }

    public void Dispose()
    {
        _journal.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private JournalEntry Begin(string? id = null) =>
        _journal.Begin(id ?? TransactionIds.NewId(), ReplicationOperation.Create, "NodeA", "VPN-A-B", new[] { "k1", "k2" }, Nodes);

    private void PrepareAll(string id)
    {
        foreach (var node in Nodes) _journal.SetPhase(id, node, TransactionPhase.Prepared);
    }

    [Fact]
    public void A_transaction_is_journalled_with_its_keys_and_nodes_and_survives_reopening()
    {
        var id = Begin().TransactionId;
        PrepareAll(id);
        _journal.Decide(id, TransactionPhase.Committed);
        _journal.SetPhase(id, "node-b", TransactionPhase.Committed);
        using var reopened = ReplicationJournal.Open(_journal.Path);
        var entry = reopened.Get(id)!;
        Assert.Equal(ReplicationOperation.Create, entry.Operation);
        Assert.Equal("NodeA", entry.TokenLabel);
        Assert.Equal("VPN-A-B", entry.KeyId);
        Assert.Equal(new[] { "k1", "k2" }, entry.Labels);
        Assert.Equal(TransactionPhase.Committed, entry.Decision);
        Assert.False(entry.Finished);
        Assert.Equal(Nodes, entry.Participants.Select(p => p.Node));
        Assert.Equal(new[] { TransactionPhase.Prepared, TransactionPhase.Committed, TransactionPhase.Prepared }, entry.Participants.Select(p => p.Phase));
        Assert.Contains(reopened.Unfinished(), e => e.TransactionId == id);
    }

    [Fact]
    public void Decisions_never_flip_and_repeating_one_changes_nothing()
    {
        var committed = Begin().TransactionId;
        PrepareAll(committed);
        _journal.Decide(committed, TransactionPhase.Committed);
        Assert.Equal(TransactionPhase.Committed, _journal.Decide(committed, TransactionPhase.Committed).Decision);
        Assert.Equal(ErrorIds.TransactionAlreadyDecided, Assert.Throws<QKDLiteException>(() => _journal.Decide(committed, TransactionPhase.Aborted)).ErrorId);

        var aborted = Begin().TransactionId;
        _journal.Decide(aborted, TransactionPhase.Aborted);
        Assert.Equal(ErrorIds.TransactionAlreadyDecided, Assert.Throws<QKDLiteException>(() => _journal.Decide(aborted, TransactionPhase.Committed)).ErrorId);
        Assert.Equal(TransactionPhase.Aborted, _journal.Get(aborted)!.Decision);
    }

    [Fact]
    public void Commit_needs_every_node_prepared_and_nodes_follow_the_decision()
    {
        var id = Begin().TransactionId;
        _journal.SetPhase(id, "local", TransactionPhase.Prepared);
        _journal.SetPhase(id, "node-b", TransactionPhase.Prepared);
        Assert.Equal(ErrorIds.TransactionStateInvalid, Assert.Throws<QKDLiteException>(() => _journal.Decide(id, TransactionPhase.Committed)).ErrorId);
        Assert.Null(_journal.Get(id)!.Decision);
        Assert.Equal(ErrorIds.TransactionStateInvalid, Assert.Throws<QKDLiteException>(() => _journal.SetPhase(id, "node-b", TransactionPhase.Committed)).ErrorId);
        Assert.Equal(ErrorIds.TransactionStateInvalid, Assert.Throws<QKDLiteException>(() => _journal.SetPhase(id, "node-b", TransactionPhase.Aborted)).ErrorId);
        _journal.Decide(id, TransactionPhase.Aborted);
        _journal.SetPhase(id, "node-b", TransactionPhase.Aborted, "refused: KeyBlockTampered");
        Assert.Equal(ErrorIds.TransactionStateInvalid, Assert.Throws<QKDLiteException>(() => _journal.SetPhase(id, "node-b", TransactionPhase.Prepared)).ErrorId);
        Assert.Equal("refused: KeyBlockTampered", _journal.Get(id)!.Participants.Single(p => p.Node == "node-b").Error);
    }

    [Fact]
    public void Only_a_transaction_that_every_node_carried_out_is_finished()
    {
        var id = Begin().TransactionId;
        _journal.Decide(id, TransactionPhase.Aborted);
        _journal.SetPhase(id, "local", TransactionPhase.Aborted);
        Assert.Equal(ErrorIds.TransactionStateInvalid, Assert.Throws<QKDLiteException>(() => _journal.Finish(id)).ErrorId);
        _journal.SetPhase(id, "node-b", TransactionPhase.Aborted);
        _journal.SetPhase(id, "node-c", TransactionPhase.Aborted);
        Assert.True(_journal.Finish(id).Finished);
        Assert.DoesNotContain(_journal.Unfinished(), e => e.TransactionId == id);
        Assert.Contains(_journal.All(), e => e.TransactionId == id);
    }

    [Fact]
    public void Bad_input_is_refused_and_journals_nothing()
    {
        var id = Begin().TransactionId;
        Assert.Equal(ErrorIds.TransactionExists, Assert.Throws<QKDLiteException>(() => Begin(id)).ErrorId);
        Assert.Equal(ErrorIds.TransactionIdInvalid, Assert.Throws<QKDLiteException>(() => Begin("no spaces")).ErrorId);
        Assert.Throws<ArgumentException>(() => _journal.Begin(TransactionIds.NewId(), ReplicationOperation.Delete, "NodeA", null, new[] { "k" }, new[] { "local", "local" }));
        Assert.Equal(ErrorIds.TransactionNotFound, Assert.Throws<QKDLiteException>(() => _journal.Decide(TransactionIds.NewId(), TransactionPhase.Aborted)).ErrorId);
        Assert.Single(_journal.All());
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_journal.Path));
    }

    [Fact]
    public void A_create_of_kme_keys_journals_its_key_ids_once_the_kme_gave_them_and_not_after_the_decision()
    {
        var id = TransactionIds.NewId();
        Assert.Empty(_journal.Begin(id, ReplicationOperation.Create, "NodeA", "LINK", Array.Empty<string>(), Nodes).Labels);
        Assert.Empty(_journal.Get(id)!.Labels);
        Assert.Equal(new[] { "id-1", "id-2" }, _journal.AddLabels(id, new[] { "id-1", "id-2" }).Labels);
        Assert.Equal(new[] { "id-1", "id-2", "id-3" }, _journal.AddLabels(id, new[] { "id-2", "id-3" }).Labels);
        _journal.Decide(id, TransactionPhase.Aborted);
        Assert.Equal(ErrorIds.TransactionStateInvalid, Assert.Throws<QKDLiteException>(() => _journal.AddLabels(id, new[] { "id-4" })).ErrorId);
        using var reopened = ReplicationJournal.Open(_journal.Path);
        Assert.Equal(new[] { "id-1", "id-2", "id-3" }, reopened.Get(id)!.Labels);
        // Only a create may start without labels: an import or a delete names its keys up front.
        Assert.Throws<ArgumentException>(() => _journal.Begin(TransactionIds.NewId(), ReplicationOperation.Import, "NodeA", null, Array.Empty<string>(), Nodes));
    }
}
