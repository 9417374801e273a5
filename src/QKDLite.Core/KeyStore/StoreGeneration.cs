using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using QKDLite.Core.Pkcs11;

namespace QKDLite.Core.KeyStore;

/// <summary>
/// A token-wide change marker, so that each process can keep an in-memory index of the keys and
/// still see what other processes (the ETSI server, replication, another shell) changed.
/// PKCS#11 has no change notification; every QKDLite write replaces the random value of a small
/// data object on the token, and readers compare it with the value their index was built at.
/// The value lives in the marker's CKA_LABEL: SoftHSM2 treats a data object's CKA_VALUE and
/// CKA_APPLICATION as read-only once created, while labels stay modifiable on every token.
/// Should two processes create the marker at once, all markers are read and all are updated.
/// </summary>
internal sealed class StoreGeneration
{
    private const string LabelPrefix = "QKDLite generation ";
    private const string MarkerApplication = "QKDLite store generation";
    private static readonly RandomNumberGenerator Rng = RandomNumberGenerator.Create();
    private List<IObjectHandle>? _markers;

    /// <summary>The current marker value (empty when the token has no marker yet).</summary>
    public byte[] Read(ISession session)
    {
        for (var attempt = 0; ; attempt++)
        {
            // While the token has no marker, look again each time: another process may create the first one.
            if (_markers is null || _markers.Count == 0) _markers = FindMarkers(session);
            try
            {
                var value = new List<byte>();
                foreach (var marker in _markers)
                {
                    value.AddRange(session.GetAttributeValue(marker, new List<CKA> { CKA.CKA_LABEL })[0].GetValueAsByteArray());
                }
                return value.ToArray();
            }
            catch (Pkcs11Exception e) when (e.RV == CKR.CKR_OBJECT_HANDLE_INVALID && attempt == 0)
            {
                _markers = null;
            }
        }
    }

    /// <summary>Replaces the marker value and returns the new one.</summary>
    public byte[] Bump(ISession session)
    {
        if (_markers is null || _markers.Count == 0) _markers = FindMarkers(session);
        if (_markers.Count == 0)
        {
            session.CreateObject(Template(NewValue()));
            // Find again rather than keep only our own: a process that created one at the same moment
            // must be read and written too, or the two would never see each other's changes.
            _markers = FindMarkers(session);
            return Read(session);
        }
        foreach (var marker in _markers)
        {
            var attributes = new List<IObjectAttribute> { Pkcs11Libraries.Factory.ObjectAttributeFactory.Create(CKA.CKA_LABEL, NewValue()) };
            session.SetAttributeValue(marker, attributes);
        }
        return Read(session);
    }

    private static List<IObjectHandle> FindMarkers(ISession session)
    {
        var template = new List<IObjectAttribute>
        {
            Pkcs11Libraries.Factory.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_DATA),
            Pkcs11Libraries.Factory.ObjectAttributeFactory.Create(CKA.CKA_APPLICATION, MarkerApplication),
        };
        return session.FindAllObjects(template).OrderBy(h => h.ObjectId).ToList();
    }

    private static List<IObjectAttribute> Template(string value)
    {
        var f = Pkcs11Libraries.Factory.ObjectAttributeFactory;
        return new List<IObjectAttribute>
        {
            f.Create(CKA.CKA_CLASS, CKO.CKO_DATA),
            f.Create(CKA.CKA_TOKEN, true),
            f.Create(CKA.CKA_PRIVATE, true),
            f.Create(CKA.CKA_MODIFIABLE, true),
            f.Create(CKA.CKA_APPLICATION, MarkerApplication),
            f.Create(CKA.CKA_LABEL, value),
        };
    }

    private static string NewValue()
    {
        var value = new byte[16];
        Rng.GetBytes(value);
        return LabelPrefix + BitConverter.ToString(value).Replace("-", string.Empty);
    }
}
