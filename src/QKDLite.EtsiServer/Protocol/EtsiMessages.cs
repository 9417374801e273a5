namespace QKDLite.EtsiServer.Protocol;

/// <summary>
/// The <c>message</c> texts of error answers. The first five are fixed by ETSI GS QKD 014 v1.1.1
/// (section 6: "Error" data format); the others are ours, each naming what to change.
/// </summary>
internal static class EtsiMessages
{
    /// <summary>Fixed (400): the requested size is not whole bytes.</summary>
    public const string SizeNotMultipleOf8 = "size shall be a multiple of 8";

    /// <summary>Fixed (400): QKDLite supports no mandatory extension.</summary>
    public const string ExtensionMandatoryNotSupported = "not all extension_mandatory parameters are supported";

    /// <summary>Fixed (400): unused, since no mandatory extension is supported at all.</summary>
    public const string ExtensionMandatoryNotMet = "not all extension_mandatory request options could be met";

    /// <summary>Fixed (400): unused, since optional extensions are ignored (the standard allows answering 200).</summary>
    public const string ExtensionOptionalNotHandled = "not all extension_optional request options handled";

    /// <summary>Fixed (400, dec_keys): unknown, already delivered, pending, or of another pair.</summary>
    public const string KeysNotFound = "one or more keys specified are not found on KME";

    /// <summary>Ours (400).</summary>
    public const string BodyTooLarge = "the request body is larger than {0} bytes";

    /// <summary>Ours (400).</summary>
    public const string BodyNotJson = "the request body is not valid UTF-8 JSON";

    /// <summary>Ours (400).</summary>
    public const string BodyOnGet = "GET takes no request body; use POST to send one";

    /// <summary>Ours (400).</summary>
    public const string NumberOutOfRange = "number shall be from 1 to max_key_per_request ({0})";

    /// <summary>Ours (400).</summary>
    public const string SizeOutOfRange = "size shall be from min_key_size ({0}) to max_key_size ({1})";

    /// <summary>Ours (400): QKDLite serves no multicast (status max_SAE_ID_count is 0).</summary>
    public const string MulticastNotSupported = "additional_slave_SAE_IDs is not supported: max_SAE_ID_count is 0";

    /// <summary>Ours (400).</summary>
    public const string TooManyKeyIds = "key_IDs names more keys than max_key_per_request ({0})";

    /// <summary>Ours (400).</summary>
    public const string RepeatedKeyId = "key_IDs names one key_ID more than once";

    /// <summary>Ours (503): fewer keys stored for the pair than asked for; nothing was taken.</summary>
    public const string NotEnoughKeys = "not enough keys available for this SAE pair";

    /// <summary>Ours (503).</summary>
    public const string KeyStoreUnavailable = "the key store is unavailable";

    /// <summary>Ours (404).</summary>
    public const string NoSuchEndpoint = "no such endpoint: use /api/v1/keys/{SAE_ID}/status, /enc_keys or /dec_keys";

    /// <summary>Ours (405).</summary>
    public const string MethodNotAllowed = "method not allowed here; allowed: {0}";
}
