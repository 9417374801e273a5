using System;

namespace QKDLite.EtsiServer.Protocol;

/// <summary>
/// A request target <c>/api/v1/keys/{SAE_ID}/{operation}[?query]</c>, read from the raw (still
/// URL-encoded) target so that an SAE ID containing an encoded '/' is decoded exactly once.
/// </summary>
/// <param name="SaeId">The SAE ID named in the path, URL-decoded.</param>
/// <param name="Operation">The call.</param>
/// <param name="Query">The raw query string without '?', or empty.</param>
internal sealed record EtsiTarget(string SaeId, EtsiOperation Operation, string Query)
{
    /// <summary>Parses a raw request target; null when it is not one of the three ETSI calls.</summary>
    public static EtsiTarget? TryParse(string? rawTarget)
    {
        if (string.IsNullOrEmpty(rawTarget)) return null;
        var queryStart = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var path = queryStart >= 0 ? rawTarget[..queryStart] : rawTarget;
        var query = queryStart >= 0 ? rawTarget[(queryStart + 1)..] : string.Empty;
        var segments = path.Split('/');
        if (segments.Length != 6 || segments[0].Length != 0 || segments[1] != "api" || segments[2] != "v1" || segments[3] != "keys")
            return null;
        EtsiOperation operation;
        switch (segments[5])
        {
            case "status": operation = EtsiOperation.Status; break;
            case "enc_keys": operation = EtsiOperation.EncKeys; break;
            case "dec_keys": operation = EtsiOperation.DecKeys; break;
            default: return null;
        }
        var saeId = Uri.UnescapeDataString(segments[4]);
        if (saeId.Length == 0) return null;
        return new EtsiTarget(saeId, operation, query);
    }
}
