// The raw baseline for QKDLite's benchmarks: the same PKCS#11 operations QKDLite performs,
// straight through Pkcs11Interop, with nothing of QKDLite in between. Prints one JSON line.
//   create <library> <token> <pinFile> <count> <keyId>   C_CreateObject of <count> AES-256 token keys (+10 untimed)
//   find   <library> <token> <pinFile> <label> <repeat>  SoftHSM2's own find-by-label, median ms
//   transfer <library> <tokenA> <pinFileA> <keyId> <tokenB> <pinFileB>
//          every key of <keyId> on A wrapped under A's transport key (RFC 5649) and unwrapped
//          into a token key on B under B's: the HSM work of moving keys, nothing else
//   take   <library> <token> <pinFile> <keyId>
//          every key of <keyId> read out (wrapped under one session key) and destroyed, one by one:
//          the store work of delivering keys, nothing else
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;

// Same libdl mapping QKDLite applies (glibc >= 2.34 only ships libdl.so.2).
NativeLibrary.SetDllImportResolver(typeof(CKA).Assembly, (name, _, _) =>
    name == "libdl" && NativeLibrary.TryLoad("libdl.so.2", out var handle) ? handle : IntPtr.Zero);

var (mode, library, tokenLabel, pinFile) = (args[0], args[1], args[2], args[3]);
var factories = new Pkcs11InteropFactories();
using var pkcs11 = factories.Pkcs11LibraryFactory.LoadPkcs11Library(factories, library, AppType.MultiThreaded);
var slot = pkcs11.GetSlotList(SlotsType.WithTokenPresent).First(s => s.GetTokenInfo().Label.Trim() == tokenLabel);
using var session = slot.OpenSession(SessionType.ReadWrite);
var pin = File.ReadAllBytes(pinFile);
session.Login(CKU.CKU_USER, pin);
Array.Clear(pin);
var f = factories.ObjectAttributeFactory;

if (mode == "create")
{
    var count = int.Parse(args[4]);
    var keyId = args[5];
    var material = new byte[32];
    // Ten untimed keys first, so that JIT and SoftHSM2's loading of the token happen outside the
    // measurement, as they do for the warm PowerShell session it is compared with.
    Stopwatch timer = new();
    for (var i = -10; i < count; i++)
    {
        if (i == 0) timer.Start();
        RandomNumberGenerator.Fill(material);
        var label = Guid.NewGuid().ToString("D");
        // The same record QKDLite keeps in CKA_ID: keyID, 0x1F, version|source|created|state|bits|KCV.
        var id = Encoding.UTF8.GetBytes(keyId + "\u001F1|C|" + (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks / 10 + "|A|256|" + CheckValue(material));
        var template = new List<IObjectAttribute>
        {
            f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY), f.Create(CKA.CKA_KEY_TYPE, CKK.CKK_AES),
            f.Create(CKA.CKA_TOKEN, true), f.Create(CKA.CKA_PRIVATE, true), f.Create(CKA.CKA_SENSITIVE, true),
            f.Create(CKA.CKA_EXTRACTABLE, true), f.Create(CKA.CKA_MODIFIABLE, true), f.Create(CKA.CKA_LABEL, label),
            f.Create(CKA.CKA_ID, id), f.Create(CKA.CKA_SIGN, true), f.Create(CKA.CKA_VERIFY, true),
            f.Create(CKA.CKA_DERIVE, true), f.Create(CKA.CKA_WRAP, false), f.Create(CKA.CKA_UNWRAP, false),
            f.Create(CKA.CKA_VALUE, material), f.Create(CKA.CKA_ENCRYPT, true), f.Create(CKA.CKA_DECRYPT, true),
        };
        session.CreateObject(template);
        foreach (var attribute in template) attribute.Dispose();
    }
    timer.Stop();
    Array.Clear(material);
    // Outside the timed loop: tell other processes the token changed, as every QKDLite writer does.
    foreach (var marker in session.FindAllObjects(new List<IObjectAttribute> { f.Create(CKA.CKA_CLASS, CKO.CKO_DATA), f.Create(CKA.CKA_APPLICATION, "QKDLite store generation") }))
        session.SetAttributeValue(marker, new List<IObjectAttribute> { f.Create(CKA.CKA_LABEL, "QKDLite generation " + Guid.NewGuid().ToString("N")) });
    Console.WriteLine($"{{\"mode\":\"create\",\"count\":{count},\"ms\":{timer.Elapsed.TotalMilliseconds:F1}}}");
}
else if (mode == "find")
{
    var label = args[4];
    var repeat = int.Parse(args[5]);
    var times = new List<double>();
    for (var i = 0; i < repeat; i++)
    {
        var timer = Stopwatch.StartNew();
        var found = session.FindAllObjects(new List<IObjectAttribute> { f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY), f.Create(CKA.CKA_LABEL, label) });
        timer.Stop();
        if (found.Count != 1) throw new InvalidOperationException($"expected one key labelled {label}, found {found.Count}");
        times.Add(timer.Elapsed.TotalMilliseconds);
    }
    times.Sort();
    Console.WriteLine($"{{\"mode\":\"find\",\"repeat\":{repeat},\"medianMs\":{times[times.Count / 2]:F2}}}");
}
else if (mode == "transfer")
{
    var keyId = Encoding.UTF8.GetBytes(args[4] + "\u001F");
    var slotB = pkcs11.GetSlotList(SlotsType.WithTokenPresent).First(s => s.GetTokenInfo().Label.Trim() == args[5]);
    using var sessionB = slotB.OpenSession(SessionType.ReadWrite);
    var pinB = File.ReadAllBytes(args[6]);
    sessionB.Login(CKU.CKU_USER, pinB);
    Array.Clear(pinB);
    // Untimed: find the transport keys and the keys to move.
    var tkA = session.FindAllObjects(new List<IObjectAttribute> { f.Create(CKA.CKA_LABEL, "QKDLite transport key") }).Single();
    var tkB = sessionB.FindAllObjects(new List<IObjectAttribute> { f.Create(CKA.CKA_LABEL, "QKDLite transport key") }).Single();
    var keys = session.FindAllObjects(new List<IObjectAttribute> { f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY) })
        .Where(h => session.GetAttributeValue(h, new List<CKA> { CKA.CKA_ID })[0].GetValueAsByteArray() is { } id && id.AsSpan().StartsWith(keyId))
        .ToList();
    var mechanism = factories.MechanismFactory.Create(CKM.CKM_AES_KEY_WRAP_PAD);
    var timer = Stopwatch.StartNew();
    foreach (var key in keys)
    {
        var wrapped = session.WrapKey(mechanism, tkA, key);
        // The same attributes QKDLite gives an imported key (SoftHSM2 writes each one to the object's file).
        var template = new List<IObjectAttribute>
        {
            f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY), f.Create(CKA.CKA_KEY_TYPE, CKK.CKK_AES),
            f.Create(CKA.CKA_TOKEN, true), f.Create(CKA.CKA_PRIVATE, true), f.Create(CKA.CKA_SENSITIVE, true),
            f.Create(CKA.CKA_EXTRACTABLE, true), f.Create(CKA.CKA_MODIFIABLE, true),
            f.Create(CKA.CKA_LABEL, "raw-" + Guid.NewGuid().ToString("D")),
            f.Create(CKA.CKA_ID, Encoding.UTF8.GetBytes(args[4] + "\u001F1|C|0|A|256|000000")),
            f.Create(CKA.CKA_SIGN, true), f.Create(CKA.CKA_VERIFY, true), f.Create(CKA.CKA_DERIVE, true),
            f.Create(CKA.CKA_WRAP, false), f.Create(CKA.CKA_UNWRAP, false),
            f.Create(CKA.CKA_ENCRYPT, true), f.Create(CKA.CKA_DECRYPT, true),
        };
        sessionB.UnwrapKey(mechanism, tkB, wrapped, template);
        foreach (var attribute in template) attribute.Dispose();
    }
    timer.Stop();
    Console.WriteLine($"{{\"mode\":\"transfer\",\"count\":{keys.Count},\"ms\":{timer.Elapsed.TotalMilliseconds:F1}}}");
}
else if (mode == "take")
{
    var keyId = Encoding.UTF8.GetBytes(args[4] + "\u001F");
    // Untimed: find the keys, as a server would have them indexed already.
    var keys = session.FindAllObjects(new List<IObjectAttribute> { f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY) })
        .Where(h => session.GetAttributeValue(h, new List<CKA> { CKA.CKA_ID })[0].GetValueAsByteArray() is { } id && id.AsSpan().StartsWith(keyId))
        .ToList();
    var timer = Stopwatch.StartNew();
    // One session key for the whole loop: the least a raw reader can do, since the keys are sensitive.
    var sessionKey = session.GenerateKey(factories.MechanismFactory.Create(CKM.CKM_AES_KEY_GEN), new List<IObjectAttribute>
    {
        f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY), f.Create(CKA.CKA_KEY_TYPE, CKK.CKK_AES), f.Create(CKA.CKA_VALUE_LEN, 32UL),
        f.Create(CKA.CKA_TOKEN, false), f.Create(CKA.CKA_WRAP, true),
    });
    var mechanism = factories.MechanismFactory.Create(CKM.CKM_AES_KEY_WRAP_PAD);
    foreach (var key in keys)
    {
        var wrapped = session.WrapKey(mechanism, sessionKey, key);
        session.DestroyObject(key);
        Array.Clear(wrapped);
    }
    session.DestroyObject(sessionKey);
    timer.Stop();
    foreach (var marker in session.FindAllObjects(new List<IObjectAttribute> { f.Create(CKA.CKA_CLASS, CKO.CKO_DATA), f.Create(CKA.CKA_APPLICATION, "QKDLite store generation") }))
        session.SetAttributeValue(marker, new List<IObjectAttribute> { f.Create(CKA.CKA_LABEL, "QKDLite generation " + Guid.NewGuid().ToString("N")) });
    Console.WriteLine($"{{\"mode\":\"take\",\"count\":{keys.Count},\"ms\":{timer.Elapsed.TotalMilliseconds:F1}}}");
}
else
{
    throw new ArgumentException($"unknown mode {mode}");
}

// The AES key check value QKDLite computes for each new key (first 3 bytes of ECB of a zero block).
static string CheckValue(byte[] key)
{
    using var aes = Aes.Create();
    aes.Key = key;
    return Convert.ToHexString(aes.EncryptEcb(new byte[16], PaddingMode.None), 0, 3);
}
