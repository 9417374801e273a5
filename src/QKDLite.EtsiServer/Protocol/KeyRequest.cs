using System;
using System.Collections.Generic;

namespace QKDLite.EtsiServer.Protocol;

/// <summary>
/// A parsed "get key" request (ETSI GS QKD 014 "Key request"), before it is checked against the limits.
/// </summary>
/// <param name="Number">Keys asked for, or null for the default (1). Integers beyond the int range are clamped.</param>
/// <param name="Size">Key size in bits, or null for the pair's default. Integers beyond the int range are clamped.</param>
/// <param name="AdditionalSlaveSaeIds">Multicast slaves named by the request.</param>
/// <param name="HasMandatoryExtensions">True when <c>extension_mandatory</c> names at least one parameter.</param>
/// <param name="HasOptionalExtensions">True when <c>extension_optional</c> names at least one parameter (ignored, as the standard allows).</param>
internal sealed record KeyRequest(
    int? Number, int? Size, IReadOnlyList<string> AdditionalSlaveSaeIds, bool HasMandatoryExtensions, bool HasOptionalExtensions)
{
    /// <summary>The request <c>{}</c>: all defaults.</summary>
    public static KeyRequest Defaults { get; } = new(null, null, Array.Empty<string>(), false, false);
}
