using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Net.Pkcs11Interop.Common;
using QKDLite.Core.Errors;
using QKDLite.Core.KeyBlocks;
using QKDLite.Core.Keys;
using QKDLite.Core.KeyStore;
using QKDLite.Core.Pkcs11;
using QKDLite.Core.Replication;
using QKDLite.Core.Sources;
using Xunit;

namespace QKDLite.Core.Tests;

/// <summary>
/// Two-phase replication on real tokens: node A makes and exports keys, node B is the participant
/// (its key store plus its durable record in a ParticipantLedger).
/// </summary>
public sealed class ReplicationTests : IClassFixture<TwoStores>, IDisposable
{
    private readonly TwoStores _stores;
    private readonly Pkcs11KeyStore _a;
    private readonly Pkcs11KeyStore _b;
    private readonly string _ledgerDirectory;
    private readonly ParticipantLedger _ledger;
    private readonly ReplicationParticipant _participant;

    public ReplicationTests(TwoStores stores)
    {
        _stores = stores;
        _a = stores.A.Store;
        _b = stores.B.Store;
        _ledgerDirectory = Path.Combine(stores.B.DataDirectory, "ledger-" + Guid.NewGuid().ToString("N")[..8]);
        _ledger = ParticipantLedger.Open(ParticipantLedger.DefaultPath(_ledgerDirectory));
        _participant = new ReplicationParticipant(_b, _ledger);
    }

    public void Dispose() => _ledger.Dispose();

    private static string NewKeyId() => "R" + Guid.NewGuid().ToString("N")[..10];

    private KeyBlock NewBlock(string? keyId = null, int sizeBits = 256) =>
        _a.Export(_a.CreateKeys(new NewKeysRequest(keyId ?? NewKeyId(), 1, sizeBits), new SystemRandomSource()).Single().Label);

    /// <summary>The token objects labelled <paramref name="label"/> in store B, counted by PKCS#11 itself.</summary>
    private int ObjectsOnB(string label)
    {
        var settings = _stores.B.Settings;
        var library = Pkcs11Libraries.Get(settings.LibraryPath, settings.SoftHsmConfig);
        using var session = Pkcs11KeyStore.FindSlot(library, settings.TokenLabel).OpenSession(SessionType.ReadOnly);
        var f = Pkcs11Libraries.Factory.ObjectAttributeFactory;
        return session.FindAllObjects(new() { f.Create(CKA.CKA_LABEL, label) }).Count;
    }

    /// <summary>Store B as another process sees it (an index built from the token alone).</summary>
    private IKeyStore OtherProcessViewOfB() => Pkcs11KeyStore.OpenUncached(_stores.B.Settings, TestStore.Pin());

    private static void AssertInvisible(IKeyStore store, KeyBlock block)
    {
        Assert.Null(store.Find(block.Label));
        Assert.DoesNotContain(store.List(), k => k.Label == block.Label);
        Assert.False(store.CountByKeyId().ContainsKey(block.KeyId));
        Assert.Equal(0, store.CountActiveKeys(block.KeyId, block.SizeBits));
        Assert.Equal(ErrorIds.KeyNotFound, Assert.Throws<QKDLiteException>(() => store.Export(block.Label)).ErrorId);
        Assert.Equal(ErrorIds.KeyNotFound, Assert.Throws<QKDLiteException>(() => store.ReadKeyMaterial(block.Label)).ErrorId);
        Assert.Equal(ErrorIds.KeyNotFound, Assert.Throws<QKDLiteException>(() => store.TakeKeys(block.KeyId, new[] { block.Label })).ErrorId);
        Assert.Equal(ErrorIds.KeyNotFound, Assert.Throws<QKDLiteException>(() => store.Remove(block.Label)).ErrorId);
    }

    private void AssertSameMaterialOnBothNodes(string label)
    {
        var onA = _a.ReadKeyMaterial(label);
        var onB = _b.ReadKeyMaterial(label);
        try
        {
            Assert.Equal(onA, onB);
        }
        finally
        {
            Array.Clear(onA);
            Array.Clear(onB);
        }
    }

    [Fact]
    public void A_prepared_key_is_invisible_to_listing_counting_lookup_export_and_delivery_also_in_another_process()
    {
        var block = NewBlock();
        var txn = TransactionIds.NewId();
        var (key, created) = _b.PrepareImport(txn, block.Text);
        Assert.True(created);
        Assert.Equal(KeyState.Pending, key.State);
        AssertInvisible(_b, block);
        AssertInvisible(OtherProcessViewOfB(), block);
        Assert.Equal(1, ObjectsOnB(block.Label));
        var held = Assert.Single(_b.TransactionKeys(txn));
        Assert.Equal(block.CheckValue, held.CheckValue);
        Assert.Contains(txn, _b.PreparedTransactionIds());
    }

    [Fact]
    public void Commit_makes_the_key_visible_with_the_same_material_and_a_repeated_commit_changes_nothing()
    {
        var block = NewBlock();
        var txn = TransactionIds.NewId();
        _b.PrepareImport(txn, block.Text);
        Assert.Equal(1, _b.CommitPrepared(txn));
        var visible = _b.Find(block.Label);
        Assert.NotNull(visible);
        Assert.Equal(KeyState.Active, visible!.State);
        Assert.Equal(block.CheckValue, visible.CheckValue);
        Assert.Equal(block.CheckValue, OtherProcessViewOfB().Find(block.Label)!.CheckValue);
        AssertSameMaterialOnBothNodes(block.Label);
        Assert.Equal(0, _b.CommitPrepared(txn));
        Assert.Equal(0, _b.AbortPrepared(txn));
        Assert.Equal(1, ObjectsOnB(block.Label));
        Assert.Empty(_b.TransactionKeys(txn));
    }

    [Fact]
    public void Abort_leaves_nothing_on_the_token_and_a_repeated_abort_changes_nothing()
    {
        var block = NewBlock();
        var txn = TransactionIds.NewId();
        _b.PrepareImport(txn, block.Text);
        Assert.Equal(1, _b.AbortPrepared(txn));
        Assert.Equal(0, ObjectsOnB(block.Label));
        Assert.Null(OtherProcessViewOfB().Find(block.Label));
        Assert.Equal(0, _b.AbortPrepared(txn));
        Assert.Equal(0, _b.CommitPrepared(txn));
        Assert.Equal(0, ObjectsOnB(block.Label));
    }

    [Fact]
    public void A_repeated_prepare_stores_one_object_and_another_transaction_cannot_take_the_label()
    {
        var block = NewBlock();
        var txn = TransactionIds.NewId();
        Assert.True(_b.PrepareImport(txn, block.Text).Created);
        Assert.False(_b.PrepareImport(txn, block.Text).Created);
        Assert.Equal(1, ObjectsOnB(block.Label));
        var other = TransactionIds.NewId();
        Assert.Equal(ErrorIds.KeyInTransaction, Assert.Throws<QKDLiteException>(() => _b.PrepareImport(other, block.Text)).ErrorId);
        Assert.Equal(ErrorIds.KeyInTransaction, Assert.Throws<QKDLiteException>(() => _b.PrepareDelete(other, new[] { block.Label })).ErrorId);
        Assert.Equal(ErrorIds.DuplicateKeyLabel, Assert.Throws<QKDLiteException>(() => _b.CheckNewKeys(new NewKeysRequest(block.KeyId, 1, 256, new[] { block.Label }))).ErrorId);
        Assert.Equal(1, ObjectsOnB(block.Label));
        Assert.Single(_b.TransactionKeys(txn));
    }

    [Fact]
    public void A_tampered_or_foreign_block_prepares_nothing()
    {
        var block = NewBlock();
        var parts = block.Text.Split('.');
        var wrapped = parts[2].ToCharArray();
        wrapped[5] = wrapped[5] == 'A' ? 'B' : 'A';
        parts[2] = new string(wrapped);
        var txn = TransactionIds.NewId();
        Assert.Equal(ErrorIds.KeyBlockTampered, Assert.Throws<QKDLiteException>(() => _b.PrepareImport(txn, string.Join(".", parts))).ErrorId);
        Assert.Equal(ErrorIds.KeyBlockMalformed, Assert.Throws<QKDLiteException>(() => _b.PrepareImport(txn, "QKDLKB1.x")).ErrorId);
        Assert.Equal(ErrorIds.TransactionIdInvalid, Assert.Throws<QKDLiteException>(() => _b.PrepareImport("bad id|x", block.Text)).ErrorId);
        Assert.Equal(0, ObjectsOnB(block.Label));
        Assert.Empty(_b.TransactionKeys(txn));
    }

    [Fact]
    public void Prepare_delete_hides_the_key_abort_brings_it_back_and_commit_destroys_it()
    {
        var block = NewBlock();
        _b.Import(block.Text);
        var aborted = TransactionIds.NewId();
        var absent = "absent-" + Guid.NewGuid();
        Assert.Equal(new[] { block.Label }, _b.PrepareDelete(aborted, new[] { block.Label, absent }));
        AssertInvisible(_b, block);
        AssertInvisible(OtherProcessViewOfB(), block);
        Assert.Equal(KeyState.Deleting, Assert.Single(_b.TransactionKeys(aborted)).State);
        Assert.Equal(1, _b.AbortPrepared(aborted));
        Assert.Equal(block.CheckValue, _b.Find(block.Label)!.CheckValue);
        AssertSameMaterialOnBothNodes(block.Label);

        var committed = TransactionIds.NewId();
        _b.PrepareDelete(committed, new[] { block.Label });
        _b.PrepareDelete(committed, new[] { block.Label });
        Assert.Equal(1, _b.CommitPrepared(committed));
        Assert.Equal(0, ObjectsOnB(block.Label));
        Assert.Equal(0, _b.AbortPrepared(committed));
        Assert.Equal(0, ObjectsOnB(block.Label));
    }

    [Fact]
    public void Keys_created_prepared_on_the_main_node_travel_as_blocks_and_commit_identically_on_both()
    {
        var txn = TransactionIds.NewId();
        var labels = new[] { Guid.NewGuid().ToString(), Guid.NewGuid().ToString() };
        var request = new NewKeysRequest(NewKeyId(), 2, 256, labels);
        var made = _a.PrepareCreate(txn, request, new SystemRandomSource());
        Assert.All(made, k => Assert.Equal(KeyState.Pending, k.State));
        Assert.Equal(made.Select(k => k.CheckValue), _a.PrepareCreate(txn, request, new SystemRandomSource()).Select(k => k.CheckValue));
        Assert.Empty(_a.List(request.KeyId));
        Assert.Equal(ErrorIds.KeyNotFound, Assert.Throws<QKDLiteException>(() => _a.Export(labels[0])).ErrorId);
        Assert.Equal(ErrorIds.KeyNotFound, Assert.Throws<QKDLiteException>(() => _a.ExportPrepared(TransactionIds.NewId(), labels[0])).ErrorId);
        foreach (var label in labels) _b.PrepareImport(txn, _a.ExportPrepared(txn, label).Text);
        Assert.Equal(2, _b.CommitPrepared(txn));
        Assert.Equal(2, _a.CommitPrepared(txn));
        Assert.Equal(labels.OrderBy(l => l), _a.List(request.KeyId).Select(k => k.Label).OrderBy(l => l));
        foreach (var label in labels) AssertSameMaterialOnBothNodes(label);
    }

    [Fact]
    public void A_prepare_for_a_committed_or_aborted_transaction_is_refused_and_changes_nothing()
    {
        var block = NewBlock();
        var committed = TransactionIds.NewId();
        _participant.PrepareImport(committed, new[] { block.Text });
        Assert.Equal(TransactionPhase.Committed, _participant.Commit(committed).Phase);
        var e = Assert.Throws<QKDLiteException>(() => _participant.PrepareImport(committed, new[] { block.Text }));
        Assert.Equal(ErrorIds.TransactionAlreadyDecided, e.ErrorId);
        Assert.Equal(1, ObjectsOnB(block.Label));

        var late = NewBlock();
        var aborted = TransactionIds.NewId();
        _participant.PrepareImport(aborted, new[] { late.Text });
        Assert.Equal(TransactionPhase.Aborted, _participant.Abort(aborted).Phase);
        Assert.Equal(ErrorIds.TransactionAlreadyDecided,
            Assert.Throws<QKDLiteException>(() => _participant.PrepareImport(aborted, new[] { late.Text })).ErrorId);
        Assert.Equal(0, ObjectsOnB(late.Label));
    }

    [Fact]
    public void An_abort_that_arrives_before_its_prepare_makes_the_late_prepare_fail()
    {
        var block = NewBlock();
        var txn = TransactionIds.NewId();
        Assert.Equal(TransactionPhase.Aborted, _participant.Abort(txn).Phase);
        Assert.Equal(ErrorIds.TransactionAlreadyDecided,
            Assert.Throws<QKDLiteException>(() => _participant.PrepareImport(txn, new[] { block.Text })).ErrorId);
        Assert.Equal(0, ObjectsOnB(block.Label));
        Assert.Equal(ErrorIds.TransactionNotFound, Assert.Throws<QKDLiteException>(() => _participant.Commit(TransactionIds.NewId())).ErrorId);
    }

    [Fact]
    public void Decisions_never_flip()
    {
        var block = NewBlock();
        var committed = TransactionIds.NewId();
        _participant.PrepareImport(committed, new[] { block.Text });
        _participant.Commit(committed);
        Assert.Equal(ErrorIds.TransactionAlreadyDecided, Assert.Throws<QKDLiteException>(() => _participant.Abort(committed)).ErrorId);
        Assert.NotNull(_b.Find(block.Label));
        Assert.Equal(TransactionPhase.Committed, _participant.Commit(committed).Phase);

        var other = NewBlock();
        var aborted = TransactionIds.NewId();
        _participant.PrepareImport(aborted, new[] { other.Text });
        _participant.Abort(aborted);
        Assert.Equal(ErrorIds.TransactionAlreadyDecided, Assert.Throws<QKDLiteException>(() => _participant.Commit(aborted)).ErrorId);
        Assert.Equal(0, ObjectsOnB(other.Label));
        // The record survives the process: a new ledger on the same file knows both decisions.
        using var reopened = ParticipantLedger.Open(_ledger.Path);
        var again = new ReplicationParticipant(_b, reopened);
        Assert.Equal(TransactionPhase.Committed, again.Status(committed).Single().Phase);
        Assert.Equal(TransactionPhase.Aborted, again.Status(aborted).Single().Phase);
    }

    [Fact]
    public void A_key_that_an_undecided_import_holds_cannot_be_deleted_until_that_import_is_decided()
    {
        var block = NewBlock();
        var import = TransactionIds.NewId();
        _participant.PrepareImport(import, new[] { block.Text });
        var delete = TransactionIds.NewId();
        Assert.Equal(ErrorIds.KeyInTransaction, Assert.Throws<QKDLiteException>(() => _participant.PrepareDelete(delete, new[] { block.Label })).ErrorId);
        Assert.Equal(KeyState.Pending, Assert.Single(_b.TransactionKeys(import)).State);
        _participant.Commit(import);
        Assert.Equal(ErrorIds.TransactionAlreadyDecided, Assert.Throws<QKDLiteException>(() => _participant.PrepareDelete(delete, new[] { block.Label })).ErrorId);
        var retry = TransactionIds.NewId();
        Assert.Equal(TransactionPhase.Prepared, _participant.PrepareDelete(retry, new[] { block.Label }).Phase);
        Assert.Equal(1, _participant.Status(retry).Single().HeldKeys);
    }

    [Fact]
    public void A_replayed_block_of_a_deleted_key_is_refused_with_KeyLabelDeleted()
    {
        var block = NewBlock();
        var import = TransactionIds.NewId();
        _participant.PrepareImport(import, new[] { block.Text });
        _participant.Commit(import);
        var delete = TransactionIds.NewId();
        _participant.PrepareDelete(delete, new[] { block.Label });
        _participant.Commit(delete);
        Assert.Equal(0, ObjectsOnB(block.Label));
        var replay = Assert.Throws<QKDLiteException>(() => _participant.PrepareImport(TransactionIds.NewId(), new[] { block.Text }));
        Assert.Equal(ErrorIds.KeyLabelDeleted, replay.ErrorId);
        Assert.Equal(0, ObjectsOnB(block.Label));
    }

    [Fact]
    public void A_failed_prepare_of_a_new_transaction_leaves_nothing_behind()
    {
        var good = NewBlock();
        var bad = NewBlock().Text.Split('.');
        bad[3] = KeyBlockCodec.Base64Url(new byte[32]);
        var txn = TransactionIds.NewId();
        var e = Assert.Throws<QKDLiteException>(() => _participant.PrepareImport(txn, new[] { good.Text, string.Join(".", bad) }));
        Assert.Equal(ErrorIds.KeyBlockTampered, e.ErrorId);
        Assert.Equal(0, ObjectsOnB(good.Label));
        Assert.Equal(TransactionPhase.Aborted, _participant.Status(txn).Single().Phase);
    }

    [Fact]
    public void A_commit_interrupted_after_its_decision_was_recorded_is_finished_by_repeating_it()
    {
        var block = NewBlock();
        var txn = TransactionIds.NewId();
        _participant.PrepareImport(txn, new[] { block.Text });
        // The crash: the decision reached the record, the key store was not changed yet.
        _ledger.RecordDecision(_b.Settings.TokenLabel, txn, TransactionPhase.Committed);
        Assert.Null(_b.Find(block.Label));
        Assert.Equal(1, _participant.Status(txn).Single().HeldKeys);
        Assert.Equal(ErrorIds.TransactionAlreadyDecided, Assert.Throws<QKDLiteException>(() => _participant.Abort(txn)).ErrorId);
        Assert.Equal(0, _participant.Commit(txn).HeldKeys);
        Assert.NotNull(_b.Find(block.Label));
    }

    [Fact]
    public void The_ledger_holds_no_key_material_and_only_its_owner_can_read_it()
    {
        var block = NewBlock();
        var txn = TransactionIds.NewId();
        _participant.PrepareImport(txn, new[] { block.Text });
        _participant.Commit(txn);
        var material = _b.ReadKeyMaterial(block.Label);
        try
        {
            var bytes = File.ReadAllBytes(_ledger.Path).Concat(File.Exists(_ledger.Path + "-wal") ? File.ReadAllBytes(_ledger.Path + "-wal") : Array.Empty<byte>()).ToArray();
            Assert.False(Contains(bytes, material));
            Assert.False(Contains(bytes, System.Text.Encoding.ASCII.GetBytes(block.Text.Split('.')[2])));
        }
        finally
        {
            Array.Clear(material);
        }
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_ledger.Path));
    }

    private static bool Contains(byte[] haystack, byte[] needle)
    {
        for (var i = 0; i + needle.Length <= haystack.Length; i++)
        {
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle)) return true;
        }
        return false;
    }
}
