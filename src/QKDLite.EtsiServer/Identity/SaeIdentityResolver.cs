using System;
using System.Collections.Generic;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using QKDLite.Core.Configuration;

namespace QKDLite.EtsiServer.Identity;

/// <summary>
/// Derives the calling SAE's ID from its (already validated) client certificate by the configured
/// rule. Ambiguity is refusal: a certificate with two common names or two URI SANs names no SAE.
/// </summary>
internal sealed class SaeIdentityResolver
{
    private const string CommonNameOid = "2.5.4.3";
    private const string SubjectAltNameOid = "2.5.29.17";
    private static readonly Asn1Tag UriTag = new(TagClass.ContextSpecific, 6);

    private readonly SaeIdentitySource _source;
    private readonly Dictionary<string, string> _thumbprints = new(StringComparer.Ordinal);

    public SaeIdentityResolver(SaeIdentitySource source, IReadOnlyDictionary<string, string>? thumbprints)
    {
        _source = source;
        if (thumbprints is null) return;
        foreach (var (thumbprint, saeId) in thumbprints) _thumbprints[EtsiServerSettings.NormalizeThumbprint(thumbprint)] = saeId;
    }

    /// <summary>The SAE ID, or null when the certificate names none by the configured rule.</summary>
    public string? Resolve(X509Certificate2? certificate)
    {
        if (certificate is null) return null;
        return _source switch
        {
            SaeIdentitySource.SubjectCommonName => SingleCommonName(certificate),
            SaeIdentitySource.UriSan => SingleUriSan(certificate),
            SaeIdentitySource.Thumbprint => ByThumbprint(certificate),
            _ => null,
        };
    }

    private static string? SingleCommonName(X509Certificate2 certificate)
    {
        string? found = null;
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.HasMultipleElements || rdn.GetSingleElementType().Value != CommonNameOid) continue;
            if (found is not null) return null;
            found = rdn.GetSingleElementValue();
        }
        return string.IsNullOrEmpty(found) ? null : found;
    }

    private static string? SingleUriSan(X509Certificate2 certificate)
    {
        var extension = certificate.Extensions[SubjectAltNameOid];
        if (extension is null) return null;
        try
        {
            var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
            var names = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            string? found = null;
            while (names.HasData)
            {
                var tag = names.PeekTag();
                if (!tag.HasSameClassAndValue(UriTag))
                {
                    names.ReadEncodedValue();
                    continue;
                }
                if (found is not null) return null;
                found = names.ReadCharacterString(UniversalTagNumber.IA5String, UriTag);
            }
            return string.IsNullOrEmpty(found) ? null : found;
        }
        catch (Exception e) when (e is AsnContentException or CryptographicException)
        {
            return null;
        }
    }

    private string? ByThumbprint(X509Certificate2 certificate)
    {
        if (_thumbprints.TryGetValue(certificate.Thumbprint.ToUpperInvariant(), out var bySha1)) return bySha1;
        var sha256 = certificate.GetCertHashString(HashAlgorithmName.SHA256).ToUpperInvariant();
        return _thumbprints.TryGetValue(sha256, out var bySha256) ? bySha256 : null;
    }
}
