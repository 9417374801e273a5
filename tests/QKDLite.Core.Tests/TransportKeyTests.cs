using System;
using System.Collections.Generic;
using System.Linq;
using Net.Pkcs11Interop.Common;
using QKDLite.Core.Crypto;
using QKDLite.Core.Errors;
using QKDLite.Core.KeyStore;
using QKDLite.Core.Pkcs11;
using QKDLite.Core.TransportKeys;
using Xunit;

namespace QKDLite.Core.Tests;

public sealed class TransportKeyTests
{
    private static List<string> CheckValues(IEnumerable<byte[]> components) => components.Select(c => KeyCheckValue.Compute(c, true)).ToList();

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public void Components_split_and_combine_to_the_same_key(int count)
    {
        var key = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var components = KeyComponents.Split(key, count);
        Assert.Equal(count, components.Count);
        Assert.All(components, c => Assert.NotEqual(key, c));
        Assert.Equal(key, KeyComponents.Combine(components, CheckValues(components)));
    }

    [Fact]
    public void A_component_with_the_wrong_check_value_is_refused_and_named()
    {
        var components = KeyComponents.Split(new byte[32], 3);
        var checkValues = CheckValues(components);
        checkValues[1] = checkValues[1] == "000000" ? "000001" : "000000";
        var e = Assert.Throws<QKDLiteException>(() => KeyComponents.Combine(components, checkValues));
        Assert.Equal(ErrorIds.ComponentCheckValueMismatch, e.ErrorId);
        Assert.Equal(2, e.Target);
    }

    [Fact]
    public void Fewer_than_two_components_are_refused()
    {
        var one = new List<byte[]> { new byte[32] };
        Assert.Equal(ErrorIds.TooFewComponents, Assert.Throws<QKDLiteException>(() => KeyComponents.Combine(one, CheckValues(one))).ErrorId);
        Assert.Equal(ErrorIds.TooFewComponents, Assert.Throws<QKDLiteException>(() => KeyComponents.Split(new byte[32], 1)).ErrorId);
    }

    [Theory]
    [InlineData("00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF", true)]
    [InlineData("0011 2233 4455 6677 8899 AABB CCDD EEFF 0011 2233 4455 6677 8899 AABB CCDD EEFF", true)]
    [InlineData("0011", false)]
    [InlineData("zz112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF", false)]
    public void Components_are_read_as_64_hex_digits(string text, bool valid)
    {
        if (valid) Assert.Equal(32, KeyComponents.ParseHex(text.ToCharArray(), 1).Length);
        else Assert.Equal(ErrorIds.ComponentMalformed, Assert.Throws<QKDLiteException>(() => KeyComponents.ParseHex(text.ToCharArray(), 1)).ErrorId);
    }

    [Fact]
    public void The_transport_key_is_wrap_only_sensitive_not_extractable_and_not_modifiable()
    {
        using var stores = new TwoStores();
        var library = Pkcs11Libraries.Get(stores.A.Settings.LibraryPath, stores.A.Settings.SoftHsmConfig);
        using var session = Pkcs11KeyStore.FindSlot(library, stores.A.TokenLabel).OpenSession(SessionType.ReadOnly);
        var f = Pkcs11Libraries.Factory.ObjectAttributeFactory;
        var handle = session.FindAllObjects(new() { f.Create(CKA.CKA_LABEL, Pkcs11KeyStore.TransportKeyLabel) }).Single();
        var wanted = new List<CKA> { CKA.CKA_WRAP, CKA.CKA_UNWRAP, CKA.CKA_ENCRYPT, CKA.CKA_DECRYPT, CKA.CKA_SIGN, CKA.CKA_DERIVE, CKA.CKA_SENSITIVE, CKA.CKA_EXTRACTABLE, CKA.CKA_MODIFIABLE, CKA.CKA_VALUE };
        var a = session.GetAttributeValue(handle, wanted);
        Assert.Equal(new[] { true, true, false, false, false, false, true, false, false }, a.Take(9).Select(x => x.GetValueAsBool()));
        Assert.True(a[9].CannotBeRead);
    }

    [Fact]
    public void Both_nodes_show_the_same_check_value_and_replacing_needs_force()
    {
        using var stores = new TwoStores();
        var a = stores.A.Store.GetTransportKey()!;
        var b = stores.B.Store.GetTransportKey()!;
        Assert.Equal(a.CheckValue, b.CheckValue);
        Assert.Equal(TransportKeyOrigin.Components, a.Origin);
        var e = Assert.Throws<QKDLiteException>(() => stores.A.Store.SetTransportKey(new byte[32], TransportKeyOrigin.Generated, replace: false));
        Assert.Equal(ErrorIds.TransportKeyExists, e.ErrorId);
        Assert.Equal(a.CheckValue, stores.A.Store.GetTransportKey()!.CheckValue);
        var replaced = stores.A.Store.SetTransportKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), TransportKeyOrigin.Generated, replace: true);
        Assert.NotEqual(a.CheckValue, replaced.CheckValue);
        Assert.Equal(replaced.CheckValue, Pkcs11KeyStore.OpenUncached(stores.A.Settings, TestStore.Pin()).GetTransportKey()!.CheckValue);
    }

    [Fact]
    public void ML_KEM_transfer_gives_both_stores_the_same_transport_key()
    {
        var receiver = new TestStore();
        var sender = new TestStore();
        var request = receiver.Store.CreateTransportKeyRequest();
        Assert.Equal(16, request.Fingerprint.Length);
        var (ciphertext, senderKey) = MlKemTransfer.Encapsulate(Convert.FromBase64String(request.EncapsulationKey));
        var sent = sender.Store.SetTransportKey(senderKey, TransportKeyOrigin.MlKemEncapsulation, replace: false);
        var received = receiver.Store.CompleteTransportKeyRequest(ciphertext, replace: false);
        Assert.Equal(sent.CheckValue, received.CheckValue);
        Assert.Equal(TransportKeyOrigin.MlKemDecapsulation, received.Origin);
        // The request is used up: a second completion has nothing to decapsulate with.
        Assert.Equal(ErrorIds.TransportKeyRequestNotFound,
            Assert.Throws<QKDLiteException>(() => receiver.Store.CompleteTransportKeyRequest(ciphertext, replace: true)).ErrorId);
    }

    [Fact]
    public void A_ciphertext_for_an_older_request_is_refused_and_changes_nothing()
    {
        var receiver = new TestStore();
        var old = receiver.Store.CreateTransportKeyRequest();
        var (staleCiphertext, staleKey) = MlKemTransfer.Encapsulate(Convert.FromBase64String(old.EncapsulationKey));
        Array.Clear(staleKey);
        var current = receiver.Store.CreateTransportKeyRequest();
        Assert.NotEqual(old.Fingerprint, current.Fingerprint);
        var e = Assert.Throws<QKDLiteException>(() => receiver.Store.CompleteTransportKeyRequest(staleCiphertext, replace: false));
        Assert.Equal(ErrorIds.TransportKeyRequestMismatch, e.ErrorId);
        Assert.Null(receiver.Store.GetTransportKey());
        var (fresh, freshKey) = MlKemTransfer.Encapsulate(Convert.FromBase64String(current.EncapsulationKey));
        Assert.Equal(KeyCheckValue.Compute(freshKey, true), receiver.Store.CompleteTransportKeyRequest(fresh, replace: false).CheckValue);
    }

    [Fact]
    public void A_stale_ciphertext_relabelled_with_the_pending_fingerprint_fails_key_confirmation()
    {
        var receiver = new TestStore();
        var old = receiver.Store.CreateTransportKeyRequest();
        var (stale, staleKey) = MlKemTransfer.Encapsulate(Convert.FromBase64String(old.EncapsulationKey));
        Array.Clear(staleKey);
        var current = receiver.Store.CreateTransportKeyRequest();
        var parts = stale.Split('.');
        parts[1] = current.Fingerprint;
        var e = Assert.Throws<QKDLiteException>(() => receiver.Store.CompleteTransportKeyRequest(string.Join(".", parts), replace: false));
        Assert.Equal(ErrorIds.TransportKeyConfirmationFailed, e.ErrorId);
        Assert.Null(receiver.Store.GetTransportKey());
    }

    [Fact]
    public void Repeated_or_cancelling_components_are_refused()
    {
        var component = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var same = new List<byte[]> { component, (byte[])component.Clone() };
        Assert.Equal(ErrorIds.ComponentsNotIndependent, Assert.Throws<QKDLiteException>(() => KeyComponents.Combine(same, CheckValues(same))).ErrorId);
    }

    [Fact]
    public void A_malformed_encapsulation_key_or_ciphertext_is_refused()
    {
        Assert.Equal(ErrorIds.EncapsulationKeyInvalid, Assert.Throws<QKDLiteException>(() => MlKemTransfer.Encapsulate(new byte[10])).ErrorId);
        var receiver = new TestStore();
        var request = receiver.Store.CreateTransportKeyRequest();
        Assert.Equal(ErrorIds.CiphertextInvalid, Assert.Throws<QKDLiteException>(() => receiver.Store.CompleteTransportKeyRequest($"QKDLTK1.{request.Fingerprint}.AAAA.{new string('0', 32)}", replace: false)).ErrorId);
        Assert.Equal(ErrorIds.CiphertextInvalid, Assert.Throws<QKDLiteException>(() => receiver.Store.CompleteTransportKeyRequest("not a ciphertext", replace: false)).ErrorId);
        Assert.Null(receiver.Store.GetTransportKey());
    }
}
