using System;
using System.Linq;
using QKDLite.Core.Crypto;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;
using QKDLite.Core.KeyStore;
using QKDLite.Core.Sources;
using Xunit;

namespace QKDLite.Core.Tests;

public sealed class KeyStoreTests : IClassFixture<TestStore>
{
    private readonly TestStore _fixture;
    private readonly IKeyStore _store;

    public KeyStoreTests(TestStore fixture)
    {
        _fixture = fixture;
        _store = fixture.Store;
    }

    private static string NewKeyId() => "K" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public void Created_keys_are_listed_counted_and_found_with_their_metadata()
    {
        var keyId = NewKeyId();
        var created = _store.CreateKeys(new NewKeysRequest(keyId, 3, 256), new SystemRandomSource()).ToList();

        Assert.Equal(3, created.Count);
        Assert.All(created, k => Assert.True(Guid.TryParse(k.Label, out _)));
        Assert.All(created, k => Assert.Equal(KeySource.Classical, k.Source));
        Assert.Equal(3, _store.CountByKeyId()[keyId]);
        Assert.Equal(created.Select(k => k.Label).OrderBy(l => l), _store.List(keyId).Select(k => k.Label).OrderBy(l => l));
        var found = _store.Find(created[1].Label);
        Assert.NotNull(found);
        Assert.Equal(keyId, found!.KeyId);
        Assert.Equal(256, found.SizeBits);
        Assert.Equal(6, found.CheckValue.Length);
    }

    [Fact]
    public void Stored_keys_are_sensitive_and_their_value_cannot_be_read_directly()
    {
        var key = _store.CreateKeys(new NewKeysRequest(NewKeyId(), 1, 256), new SystemRandomSource()).Single();
        var library = QKDLite.Core.Pkcs11.Pkcs11Libraries.Get(_fixture.Settings.LibraryPath, _fixture.Settings.SoftHsmConfig);
        using var session = Pkcs11KeyStore.FindSlot(library, _fixture.TokenLabel).OpenSession(Net.Pkcs11Interop.Common.SessionType.ReadOnly);
        var f = QKDLite.Core.Pkcs11.Pkcs11Libraries.Factory.ObjectAttributeFactory;
        var handle = session.FindAllObjects(new() { f.Create(Net.Pkcs11Interop.Common.CKA.CKA_LABEL, key.Label) }).Single();
        var attributes = session.GetAttributeValue(handle, new System.Collections.Generic.List<Net.Pkcs11Interop.Common.CKA>
        {
            Net.Pkcs11Interop.Common.CKA.CKA_SENSITIVE, Net.Pkcs11Interop.Common.CKA.CKA_EXTRACTABLE,
            Net.Pkcs11Interop.Common.CKA.CKA_WRAP, Net.Pkcs11Interop.Common.CKA.CKA_VALUE,
        });
        Assert.True(attributes[0].GetValueAsBool());
        Assert.True(attributes[1].GetValueAsBool());
        Assert.False(attributes[2].GetValueAsBool());
        Assert.True(attributes[3].CannotBeRead);
    }

    [Fact]
    public void Listing_keeps_creation_order_within_a_batch()
    {
        var keyId = NewKeyId();
        var created = _store.CreateKeys(new NewKeysRequest(keyId, 20, 128), new SystemRandomSource()).Select(k => k.Label).ToList();
        Assert.Equal(created, ReopenedView().List(keyId).Select(k => k.Label));
    }

    [Theory]
    [InlineData(128)]
    [InlineData(192)]
    [InlineData(256)]
    [InlineData(64)]
    [InlineData(520)]
    public void Check_value_computed_on_create_matches_the_tokens_own(int sizeBits)
    {
        var key = _store.CreateKeys(new NewKeysRequest(NewKeyId(), 1, sizeBits), new SystemRandomSource()).Single();
        // A second process sees only what the token says: build an index from scratch.
        var fromToken = ReopenedView().Find(key.Label);
        Assert.NotNull(fromToken);
        Assert.Equal(key.CheckValue, fromToken!.CheckValue);
        Assert.Equal(sizeBits, fromToken.SizeBits);
        Assert.Equal(key.Created, fromToken.Created);
    }

    [Theory]
    [InlineData(256)]
    [InlineData(128)]
    [InlineData(520)]
    [InlineData(72)]
    public void Key_material_read_through_wrapping_has_the_right_length_and_check_value(int sizeBits)
    {
        var key = _store.CreateKeys(new NewKeysRequest(NewKeyId(), 1, sizeBits), new SystemRandomSource()).Single();
        var material = _store.ReadKeyMaterial(key.Label);
        try
        {
            Assert.Equal(sizeBits / 8, material.Length);
            Assert.Equal(key.CheckValue, KeyCheckValue.Compute(material, isAes: KeyCheckValue.IsAesSize(sizeBits)));
        }
        finally
        {
            Array.Clear(material);
        }
    }

    [Fact]
    public void Remove_destroys_the_key_and_a_second_remove_is_KeyNotFound()
    {
        var keyId = NewKeyId();
        var keys = _store.CreateKeys(new NewKeysRequest(keyId, 2, 256), new SystemRandomSource()).ToList();
        _store.Remove(keys[0].Label);
        Assert.Null(_store.Find(keys[0].Label));
        Assert.Equal(1, _store.CountByKeyId()[keyId]);
        Assert.Null(ReopenedView().Find(keys[0].Label));
        var e = Assert.Throws<QKDLiteException>(() => _store.Remove(keys[0].Label));
        Assert.Equal(ErrorIds.KeyNotFound, e.ErrorId);
    }

    [Theory]
    [InlineData(255, 1, ErrorIds.KeySizeNotMultipleOf8)]
    [InlineData(56, 1, ErrorIds.KeySizeOutOfRange)]
    [InlineData(8200, 1, ErrorIds.KeySizeOutOfRange)]
    [InlineData(256, 0, ErrorIds.KeyCountOutOfRange)]
    [InlineData(256, -3, ErrorIds.KeyCountOutOfRange)]
    public void Bad_requests_are_refused_before_anything_is_created(int sizeBits, int count, string errorId)
    {
        var before = _store.List().Count;
        var keyId = NewKeyId();
        var e = Assert.Throws<QKDLiteException>(() => _store.CreateKeys(new NewKeysRequest(keyId, count, sizeBits), new SystemRandomSource()));
        Assert.Equal(errorId, e.ErrorId);
        Assert.Equal(before, _store.List().Count);
    }

    [Fact]
    public void A_duplicate_label_is_refused_and_nothing_of_the_request_is_created()
    {
        var keyId = NewKeyId();
        var existing = _store.CreateKeys(new NewKeysRequest(keyId, 1, 256), new SystemRandomSource()).Single();
        var request = new NewKeysRequest(keyId, 2, 256, new[] { "fresh-" + Guid.NewGuid(), existing.Label });
        var e = Assert.Throws<QKDLiteException>(() => _store.CreateKeys(request, new SystemRandomSource()));
        Assert.Equal(ErrorIds.DuplicateKeyLabel, e.ErrorId);
        Assert.Equal(1, _store.CountByKeyId()[keyId]);

        var twice = new NewKeysRequest(keyId, 2, 256, new[] { "same", "same" });
        Assert.Equal(ErrorIds.DuplicateKeyLabel, Assert.Throws<QKDLiteException>(() => _store.CheckNewKeys(twice)).ErrorId);
    }

    [Fact]
    public void The_token_lives_in_the_nodes_own_directory_not_the_system_wide_one()
    {
        var tokens = System.IO.Path.Combine(_fixture.DataDirectory, "tokens");
        var tokenFolders = System.IO.Directory.GetDirectories(tokens);
        Assert.Contains(tokenFolders, folder => System.IO.File.Exists(System.IO.Path.Combine(folder, "token.object"))
            && System.IO.File.ReadAllText(System.IO.Path.Combine(folder, "token.object"), System.Text.Encoding.Latin1).Contains(_fixture.TokenLabel));
    }

    [Fact]
    public void A_wrong_pin_is_refused_with_KeyStorePinIncorrect()
    {
        var e = Assert.Throws<QKDLiteException>(() => Pkcs11KeyStore.Open(_fixture.Settings, System.Text.Encoding.UTF8.GetBytes("wrong-pin")));
        Assert.Equal(ErrorIds.KeyStorePinIncorrect, e.ErrorId);
    }

    [Fact]
    public void An_unknown_token_and_a_missing_library_have_their_own_errors()
    {
        var unknown = new KeyStoreSettings(_fixture.Settings.LibraryPath, "no-such-token", _fixture.Settings.SoftHsmConfig);
        Assert.Equal(ErrorIds.KeyStoreTokenNotFound, Assert.Throws<QKDLiteException>(() => Pkcs11KeyStore.Open(unknown, TestStore.Pin())).ErrorId);
        var missing = new KeyStoreSettings("/nonexistent/libpkcs11.so", "x");
        Assert.Equal(ErrorIds.KeyStoreLibraryNotFound, Assert.Throws<QKDLiteException>(() => Pkcs11KeyStore.Open(missing, TestStore.Pin())).ErrorId);
    }

    /// <summary>A store view whose index is built from the token alone, as another process would see it.</summary>
    private IKeyStore ReopenedView() => Pkcs11KeyStore.OpenUncached(_fixture.Settings, TestStore.Pin());
}
