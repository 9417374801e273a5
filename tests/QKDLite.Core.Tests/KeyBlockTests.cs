using System;
using System.Linq;
using System.Text;
using QKDLite.Core.Errors;
using QKDLite.Core.KeyBlocks;
using QKDLite.Core.KeyStore;
using QKDLite.Core.Sources;
using QKDLite.Core.TransportKeys;
using Xunit;

namespace QKDLite.Core.Tests;

public sealed class KeyBlockTests : IClassFixture<TwoStores>
{
    private static readonly string[] RejectionIds =
    {
        ErrorIds.KeyBlockMalformed, ErrorIds.KeyBlockVersionUnsupported, ErrorIds.KeyBlockWrongTransportKey, ErrorIds.KeyBlockTampered,
    };

    private readonly IKeyStore _a;
    private readonly IKeyStore _b;

    public KeyBlockTests(TwoStores stores)
    {
        _a = stores.A.Store;
        _b = stores.B.Store;
    }

    private KeyBlock NewBlock(int sizeBits = 256) =>
        _a.Export(_a.CreateKeys(new NewKeysRequest("Blocks", 1, sizeBits), new SystemRandomSource()).Single().Label);

    private int CountB() => _b.List().Count;

    [Theory]
    [InlineData(256)]
    [InlineData(128)]
    [InlineData(512)]
    public void A_key_moves_between_stores_with_its_label_keyID_source_time_and_check_value(int sizeBits)
    {
        var block = NewBlock(sizeBits);
        var original = _a.Find(block.Label)!;
        var (imported, created) = _b.Import(block.Text);
        Assert.True(created);
        Assert.Equal(original.Label, imported.Label);
        Assert.Equal(original.KeyId, imported.KeyId);
        Assert.Equal(original.Source, imported.Source);
        Assert.Equal(original.Created, imported.Created);
        Assert.Equal(original.CheckValue, imported.CheckValue);
        Assert.Equal(original.CheckValue, Pkcs11KeyStore.OpenUncached(((Pkcs11KeyStore)_b).Settings, TestStore.Pin()).Find(block.Label)!.CheckValue);
        Assert.Equal(block.Text, block.ToString());
        Assert.DoesNotContain('\n', block.Text);
    }

    [Fact]
    public void Importing_the_same_block_twice_leaves_one_key()
    {
        var block = NewBlock();
        Assert.True(_b.Import(block.Text).Created);
        var before = CountB();
        Assert.False(_b.Import(block.Text).Created);
        Assert.Equal(before, CountB());
    }

    [Fact]
    public void A_different_key_under_an_existing_label_is_refused()
    {
        var block = NewBlock();
        // Store B already has another key under the block's label.
        _b.CreateKeys(new NewKeysRequest("Blocks", 1, 256, new[] { block.Label }), new SystemRandomSource()).Single();
        var before = CountB();
        Assert.Equal(ErrorIds.KeyLabelConflict, Assert.Throws<QKDLiteException>(() => _b.Import(block.Text)).ErrorId);
        Assert.Equal(before, CountB());
    }

    [Fact]
    public void Every_single_bit_flip_of_a_block_is_rejected_and_nothing_is_created()
    {
        var text = NewBlock().Text;
        var before = CountB();
        var rejected = 0;
        for (var i = 0; i < text.Length; i++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var chars = text.ToCharArray();
                chars[i] = (char)(chars[i] ^ (1 << bit));
                var flipped = new string(chars);
                if (flipped.Trim() != flipped) continue; // leading or trailing white space is not a change of the block
                var e = Assert.Throws<QKDLiteException>(() => _b.Import(flipped));
                Assert.Contains(e.ErrorId, RejectionIds);
                rejected++;
            }
        }
        Assert.True(rejected > text.Length * 7);
        Assert.Equal(before, CountB());
    }

    [Fact]
    public void Swapping_any_part_between_two_valid_blocks_is_detected()
    {
        var one = NewBlock().Text.Split('.');
        var two = NewBlock().Text.Split('.');
        var before = CountB();
        for (var part = 1; part < 4; part++)
        {
            var mixed = (string[])one.Clone();
            mixed[part] = two[part];
            var e = Assert.Throws<QKDLiteException>(() => _b.Import(string.Join(".", mixed)));
            Assert.Equal(ErrorIds.KeyBlockTampered, e.ErrorId);
        }
        Assert.Equal(before, CountB());
    }

    [Fact]
    public void A_header_relabelled_onto_another_key_is_detected()
    {
        var parts = NewBlock().Text.Split('.');
        var header = Encoding.UTF8.GetString(Convert.FromBase64String(Pad(parts[1])));
        var relabelled = header.Replace("\"keyId\":\"Blocks\"", "\"keyId\":\"Other\"");
        Assert.NotEqual(header, relabelled);
        parts[1] = KeyBlockCodec.Base64Url(Encoding.UTF8.GetBytes(relabelled));
        Assert.Equal(ErrorIds.KeyBlockTampered, Assert.Throws<QKDLiteException>(() => _b.Import(string.Join(".", parts))).ErrorId);
    }

    [Fact]
    public void Every_truncation_is_rejected()
    {
        var text = NewBlock().Text;
        var before = CountB();
        for (var length = 0; length < text.Length; length++)
        {
            var e = Assert.Throws<QKDLiteException>(() => _b.Import(text.Substring(0, length)));
            Assert.Contains(e.ErrorId, RejectionIds);
        }
        Assert.Equal(before, CountB());
    }

    [Fact]
    public void A_block_made_under_another_transport_key_is_rejected_as_such()
    {
        var other = new TestStore();
        other.Store.SetTransportKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), TransportKeyOrigin.Generated, false);
        var key = other.Store.CreateKeys(new NewKeysRequest("Elsewhere", 1, 256), new SystemRandomSource()).Single();
        var block = other.Store.Export(key.Label);
        var before = CountB();
        Assert.Equal(ErrorIds.KeyBlockWrongTransportKey, Assert.Throws<QKDLiteException>(() => _b.Import(block.Text)).ErrorId);

        // Claiming this node's transport key in the header does not help: the MAC fails.
        var parts = block.Text.Split('.');
        var header = Encoding.UTF8.GetString(Convert.FromBase64String(Pad(parts[1])))
            .Replace($"\"tk\":\"{block.TransportKeyCheckValue}\"", $"\"tk\":\"{_b.GetTransportKey()!.CheckValue}\"");
        parts[1] = KeyBlockCodec.Base64Url(Encoding.UTF8.GetBytes(header));
        Assert.Equal(ErrorIds.KeyBlockTampered, Assert.Throws<QKDLiteException>(() => _b.Import(string.Join(".", parts))).ErrorId);
        Assert.Equal(before, CountB());
    }

    [Fact]
    public void An_unknown_format_version_is_named_as_such()
    {
        var text = NewBlock().Text;
        var e = Assert.Throws<QKDLiteException>(() => _b.Import("QKDLKB2" + text.Substring(7)));
        Assert.Equal(ErrorIds.KeyBlockVersionUnsupported, e.ErrorId);
        Assert.Equal(ErrorIds.KeyBlockMalformed, Assert.Throws<QKDLiteException>(() => _b.Import("not a key block")).ErrorId);
    }

    [Fact]
    public void A_key_whose_recorded_check_value_is_wrong_is_not_exported()
    {
        var key = _a.CreateKeys(new NewKeysRequest("Damaged", 1, 256), new SystemRandomSource()).Single();
        var store = (Pkcs11KeyStore)_a;
        var library = QKDLite.Core.Pkcs11.Pkcs11Libraries.Get(store.Settings.LibraryPath, store.Settings.SoftHsmConfig);
        using (var session = Pkcs11KeyStore.FindSlot(library, store.Settings.TokenLabel).OpenSession(Net.Pkcs11Interop.Common.SessionType.ReadWrite))
        {
            var f = QKDLite.Core.Pkcs11.Pkcs11Libraries.Factory.ObjectAttributeFactory;
            var handle = session.FindAllObjects(new() { f.Create(Net.Pkcs11Interop.Common.CKA.CKA_LABEL, key.Label) }).Single();
            var wrong = key.CheckValue == "000000" ? "000001" : "000000";
            var record = Encoding.UTF8.GetBytes($"Damaged\u001F1|C|{KeyRecord.ToUnixMicroseconds(key.Created)}|A|256|{wrong}");
            session.SetAttributeValue(handle, new() { f.Create(Net.Pkcs11Interop.Common.CKA.CKA_ID, record) });
        }
        // The damaged record is seen through a fresh view (as another process would see it).
        var view = Pkcs11KeyStore.OpenUncached(store.Settings, TestStore.Pin());
        Assert.Equal(ErrorIds.KeyCheckValueMismatch, Assert.Throws<QKDLiteException>(() => view.Export(key.Label)).ErrorId);
    }

    [Fact]
    public void Export_without_a_transport_key_is_TransportKeyNotSet()
    {
        var lone = new TestStore();
        var key = lone.Store.CreateKeys(new NewKeysRequest("Alone", 1, 256), new SystemRandomSource()).Single();
        Assert.Equal(ErrorIds.TransportKeyNotSet, Assert.Throws<QKDLiteException>(() => lone.Store.Export(key.Label)).ErrorId);
    }

    [Fact]
    public void Key_sizes_the_token_cannot_wrap_to_the_standard_are_refused_on_export()
    {
        var key = _a.CreateKeys(new NewKeysRequest("Odd", 1, 72), new SystemRandomSource()).Single();
        if (((Pkcs11KeyStore)_a).WrapPadIsCompliant)
        {
            Assert.True(_b.Import(_a.Export(key.Label).Text).Created);
            return;
        }
        Assert.Equal(ErrorIds.KeySizeNotExportable, Assert.Throws<QKDLiteException>(() => _a.Export(key.Label)).ErrorId);
    }

    [Fact]
    public void A_thousand_keys_round_trip_with_the_same_labels_keyIDs_and_check_values()
    {
        var keyId = "Bulk" + Guid.NewGuid().ToString("N")[..8];
        var created = _a.CreateKeys(new NewKeysRequest(keyId, 1000, 256), new SystemRandomSource()).ToList();
        using (_b.DeferChangeNotification())
        {
            foreach (var key in created) Assert.True(_b.Import(_a.Export(key.Label).Text).Created);
        }
        var arrived = Pkcs11KeyStore.OpenUncached(((Pkcs11KeyStore)_b).Settings, TestStore.Pin()).List(keyId);
        Assert.Equal(created.Select(k => (k.Label, k.KeyId, k.CheckValue)), arrived.Select(k => (k.Label, k.KeyId, k.CheckValue)));
    }

    [Fact]
    public void In_a_batch_a_key_another_process_destroyed_is_KeyNotFound()
    {
        var keys = _a.CreateKeys(new NewKeysRequest("Batch", 2, 256), new SystemRandomSource()).ToList();
        var otherProcess = Pkcs11KeyStore.OpenUncached(((Pkcs11KeyStore)_a).Settings, TestStore.Pin());
        using (_a.DeferChangeNotification())
        {
            _a.Export(keys[0].Label);
            otherProcess.Remove(keys[1].Label);
            var error = Assert.Throws<QKDLiteException>(() => _a.Export(keys[1].Label));
            Assert.Equal(ErrorIds.KeyNotFound, error.ErrorId);
        }
    }

    [Fact]
    public void The_next_batch_sees_what_another_process_created_meanwhile()
    {
        var key = _a.CreateKeys(new NewKeysRequest("Batch", 1, 256), new SystemRandomSource()).Single();
        var otherProcess = Pkcs11KeyStore.OpenUncached(((Pkcs11KeyStore)_a).Settings, TestStore.Pin());
        QKDLite.Core.Keys.QuantumKeyInfo created;
        using (_a.DeferChangeNotification())
        {
            _a.Export(key.Label);
            created = otherProcess.CreateKeys(new NewKeysRequest("Batch", 1, 256), new SystemRandomSource()).Single();
        }
        // The next batch (the next pipeline) starts from the token as it is now.
        using (_a.DeferChangeNotification())
        {
            Assert.Equal(created.CheckValue, _a.Export(created.Label).CheckValue);
        }
    }

    private static string Pad(string base64Url)
    {
        var s = base64Url.Replace('-', '+').Replace('_', '/');
        return s + new string('=', (4 - s.Length % 4) % 4);
    }
}
