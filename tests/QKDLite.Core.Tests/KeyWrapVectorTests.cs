using System;
using System.Collections.Generic;
using System.Linq;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Parameters;
using QKDLite.Core.Crypto;
using QKDLite.Core.KeyStore;
using QKDLite.Core.Pkcs11;
using Xunit;

namespace QKDLite.Core.Tests;

/// <summary>
/// RFC 3394 and RFC 5649 test vectors, in software and through the HSM's mechanisms, and HSM and
/// software wrapping agreeing both ways (catches HSMs that put RFC 5649 under another mechanism number).
/// </summary>
public sealed class KeyWrapVectorTests : IClassFixture<TestStore>
{
    private readonly TestStore _fixture;

    public KeyWrapVectorTests(TestStore fixture) => _fixture = fixture;

    public static IEnumerable<object[]> Rfc5649Vectors() => new[]
    {
        // RFC 5649 section 6: 20-byte and 7-byte keys under a 192-bit KEK.
        new object[] { "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8", "c37b7e6492584340bed12207808941155068f738", "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a" },
        new object[] { "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8", "466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f" },
    };

    public static IEnumerable<object[]> Rfc3394Vectors() => new[]
    {
        // RFC 3394 sections 4.1 and 4.6.
        new object[] { "000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF", "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5" },
        new object[] { "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F", "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21" },
    };

    [Theory]
    [MemberData(nameof(Rfc5649Vectors))]
    public void Software_RFC5649_matches_the_vectors(string kek, string key, string wrapped)
    {
        Assert.Equal(wrapped, Convert.ToHexString(SoftwareKeyWrap.WrapPadded(Hex(kek), Hex(key))), ignoreCase: true);
        Assert.Equal(key, Convert.ToHexString(SoftwareKeyWrap.UnwrapPadded(Hex(kek), Hex(wrapped))), ignoreCase: true);
    }

    [Theory]
    [MemberData(nameof(Rfc5649Vectors))]
    public void The_HSMs_RFC5649_mechanism_matches_the_vectors_or_is_known_not_to(string kek, string key, string wrapped)
    {
        using var session = OpenSession();
        var output = session.WrapKey(Mechanism(CKM.CKM_AES_KEY_WRAP_PAD), CreateKey(session, Hex(kek), wrap: true), CreateKey(session, Hex(key), wrap: false));
        if (_fixture.Store.WrapPadIsCompliant)
        {
            Assert.Equal(wrapped, Convert.ToHexString(output), ignoreCase: true);
            return;
        }
        // The probe says this token pads: then its output must be exactly RFC 5649 of the key zero-padded
        // to a multiple of 8 bytes (SoftHSM2 2.6.1), and QKDLite refuses such key sizes for key blocks.
        Assert.NotEqual(wrapped, Convert.ToHexString(output), StringComparer.OrdinalIgnoreCase);
        var padded = new byte[(Hex(key).Length + 7) / 8 * 8];
        Hex(key).CopyTo(padded, 0);
        Assert.Equal(padded, SoftwareKeyWrap.UnwrapPadded(Hex(kek), output));
    }

    [Theory]
    [MemberData(nameof(Rfc3394Vectors))]
    public void Software_and_HSM_RFC3394_match_the_vectors(string kek, string key, string wrapped)
    {
        var engine = new AesWrapEngine();
        engine.Init(true, new KeyParameter(Hex(kek)));
        Assert.Equal(wrapped, Convert.ToHexString(engine.Wrap(Hex(key), 0, Hex(key).Length)), ignoreCase: true);

        using var session = OpenSession();
        var output = session.WrapKey(Mechanism(CKM.CKM_AES_KEY_WRAP), CreateKey(session, Hex(kek), wrap: true), CreateKey(session, Hex(key), wrap: false));
        Assert.Equal(wrapped, Convert.ToHexString(output), ignoreCase: true);
    }

    [Theory]
    [InlineData(16, 32)]
    [InlineData(24, 32)]
    [InlineData(32, 32)]
    [InlineData(64, 32)]
    [InlineData(32, 16)]
    [InlineData(32, 24)]
    public void Wrapping_in_the_HSM_and_in_software_agree_both_ways(int keyBytes, int kekBytes)
    {
        var kek = System.Security.Cryptography.RandomNumberGenerator.GetBytes(kekBytes);
        var key = System.Security.Cryptography.RandomNumberGenerator.GetBytes(keyBytes);
        using var session = OpenSession();
        var kekHandle = CreateKey(session, kek, wrap: true);

        var hsmWrapped = session.WrapKey(Mechanism(CKM.CKM_AES_KEY_WRAP_PAD), kekHandle, CreateKey(session, key, wrap: false));
        Assert.Equal(key, SoftwareKeyWrap.UnwrapPadded(kek, hsmWrapped));

        var softwareWrapped = SoftwareKeyWrap.WrapPadded(kek, key);
        var f = Pkcs11Libraries.Factory.ObjectAttributeFactory;
        var unwrapped = session.UnwrapKey(Mechanism(CKM.CKM_AES_KEY_WRAP_PAD), kekHandle, softwareWrapped, new List<IObjectAttribute>
        {
            f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY), f.Create(CKA.CKA_KEY_TYPE, CKK.CKK_GENERIC_SECRET),
            f.Create(CKA.CKA_TOKEN, false), f.Create(CKA.CKA_SENSITIVE, false), f.Create(CKA.CKA_EXTRACTABLE, true),
        });
        Assert.Equal(key, session.GetAttributeValue(unwrapped, new List<CKA> { CKA.CKA_VALUE })[0].GetValueAsByteArray());
    }

    private ISession OpenSession()
    {
        var library = Pkcs11Libraries.Get(_fixture.Settings.LibraryPath, _fixture.Settings.SoftHsmConfig);
        return Pkcs11KeyStore.FindSlot(library, _fixture.TokenLabel).OpenSession(SessionType.ReadWrite);
    }

    private static IMechanism Mechanism(CKM type) => Pkcs11Libraries.Factory.MechanismFactory.Create(type);

    /// <summary>A session object with known bytes: AES when the length allows, generic secret otherwise.</summary>
    private static IObjectHandle CreateKey(ISession session, byte[] value, bool wrap)
    {
        var f = Pkcs11Libraries.Factory.ObjectAttributeFactory;
        var aes = value.Length is 16 or 24 or 32;
        return session.CreateObject(new List<IObjectAttribute>
        {
            f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY), f.Create(CKA.CKA_KEY_TYPE, aes || wrap ? CKK.CKK_AES : CKK.CKK_GENERIC_SECRET),
            f.Create(CKA.CKA_TOKEN, false), f.Create(CKA.CKA_SENSITIVE, false), f.Create(CKA.CKA_EXTRACTABLE, true),
            f.Create(CKA.CKA_WRAP, wrap), f.Create(CKA.CKA_UNWRAP, wrap), f.Create(CKA.CKA_VALUE, value),
        });
    }

    private static byte[] Hex(string hex) => Convert.FromHexString(hex);
}
