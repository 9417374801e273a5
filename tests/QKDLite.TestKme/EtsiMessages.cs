using System;

namespace QKDLite.TestKme;

/// <summary>
/// The <c>message</c> texts of the test KME's error answers. The first four are fixed by ETSI GS QKD
/// 014 v1.1.1; the others are this test KME's own wording (the standard leaves them free).
/// </summary>
public static class EtsiMessages
{
    /// <summary>Fixed by the standard (400): the requested size is not whole bytes.</summary>
    public const string SizeNotMultipleOf8 = "size shall be a multiple of 8";

    /// <summary>Fixed by the standard (400): the test KME supports no mandatory extension at all.</summary>
    public const string ExtensionMandatoryNotSupported = "not all extension_mandatory parameters are supported";

    /// <summary>Fixed by the standard (400, dec_keys): unknown, already fetched or foreign key_IDs.</summary>
    public const string KeysNotFound = "one or more keys specified are not found on KME";

    /// <summary>Fixed by the standard (400) for unhandled optional extensions; the test KME never sends it (it ignores them, which the standard allows).</summary>
    public const string ExtensionOptionalNotHandled = "not all extension_optional request options handled";

    /// <summary>Ours (400): number, size or multicast outside the limits the status reports; details name the limit.</summary>
    public const string ParametersOutsideLimits = "requested parameters do not adhere to KME configuration";

    /// <summary>Ours (400): body or query not in the form the standard defines; details say what is wrong.</summary>
    public const string BadRequestFormat = "bad request format";

    /// <summary>Ours (503): fewer keys available than requested.</summary>
    public const string InsufficientKeys = "insufficient keys available";

    /// <summary>Ours (503): the Status503 switch.</summary>
    public const string ServiceUnavailable = "KME temporarily unavailable";

    /// <summary>Ours (401): the caller was not named as slave SAE of the requested keys.</summary>
    public const string NotSlaveOfKeys = "the calling SAE is not a slave SAE of the requested keys";

    /// <summary>Ours (401): the client certificate names no SAE ID.</summary>
    public const string NoSaeId = "the client certificate does not identify an SAE";
}

/// <summary>One request a test KME received (for tests that check what a client sent). No key bytes.</summary>
/// <param name="Time">When the request arrived (UTC).</param>
/// <param name="KmeId">The KME that received it.</param>
/// <param name="Method">HTTP method.</param>
/// <param name="RawTarget">Request target as sent (path and query, still URL-encoded).</param>
/// <param name="SaeId">Caller's SAE ID from the client certificate (null if none).</param>
/// <param name="RequestBody">Request body text (POST; at most 64 KiB), or null.</param>
/// <param name="StatusCode">Status code answered; 0 when the connection was dropped.</param>
public sealed record KmeRequestRecord(
    DateTimeOffset Time, string KmeId, string Method, string RawTarget, string? SaeId, string? RequestBody, int StatusCode, string? TlsGroup = null);
