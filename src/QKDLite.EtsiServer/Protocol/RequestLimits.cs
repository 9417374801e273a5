using System;
using System.Collections.Generic;
using QKDLite.Core.Configuration;

namespace QKDLite.EtsiServer.Protocol;

/// <summary>
/// The server's limits, as status reports them, and the checks of parsed requests against them, in
/// the order the documentation states: number, size (multiple of 8, then range), mandatory
/// extensions, multicast. Pure functions.
/// </summary>
internal sealed class RequestLimits
{
    /// <summary>status <c>max_key_count</c>: the number of keys one node's key store is sized for.</summary>
    public const int MaxKeyCount = 100_000;

    /// <summary>status <c>max_SAE_ID_count</c>: QKDLite serves no multicast.</summary>
    public const int MaxSaeIdCount = 0;

    public RequestLimits(int maxKeysPerRequest, int minKeySize, int maxKeySize)
    {
        MaxKeysPerRequest = maxKeysPerRequest;
        MinKeySize = minKeySize;
        MaxKeySize = maxKeySize;
    }

    /// <summary>The limits of a server configuration.</summary>
    public static RequestLimits From(EtsiServerSettings settings) => new(settings.MaxKeysPerRequest, settings.MinKeySize, settings.MaxKeySize);

    public int MaxKeysPerRequest { get; }

    public int MinKeySize { get; }

    public int MaxKeySize { get; }

    /// <summary>The number and size to serve for <paramref name="request"/>, or the error to answer with.</summary>
    public Parsed<(int Number, int Size)> Resolve(KeyRequest request, int defaultSize)
    {
        var number = request.Number ?? 1;
        var size = request.Size ?? defaultSize;
        if (number < 1 || number > MaxKeysPerRequest)
            return EtsiError.BadRequest(Format(EtsiMessages.NumberOutOfRange, MaxKeysPerRequest), ("max_key_per_request", MaxKeysPerRequest));
        if (size % 8 != 0)
            return EtsiError.BadRequest(EtsiMessages.SizeNotMultipleOf8);
        if (size < MinKeySize || size > MaxKeySize)
            return EtsiError.BadRequest(Format(EtsiMessages.SizeOutOfRange, MinKeySize, MaxKeySize), ("min_key_size", MinKeySize), ("max_key_size", MaxKeySize));
        if (request.HasMandatoryExtensions)
            return EtsiError.BadRequest(EtsiMessages.ExtensionMandatoryNotSupported);
        if (request.AdditionalSlaveSaeIds.Count > MaxSaeIdCount)
            return EtsiError.BadRequest(EtsiMessages.MulticastNotSupported, ("max_SAE_ID_count", MaxSaeIdCount));
        return Parsed<(int, int)>.Ok((number, size));
    }

    /// <summary>Checks the key_IDs of a dec_keys request: at most max_key_per_request, none twice.</summary>
    public EtsiError? Check(IReadOnlyList<string> keyIds)
    {
        if (keyIds.Count > MaxKeysPerRequest)
            return EtsiError.BadRequest(Format(EtsiMessages.TooManyKeyIds, MaxKeysPerRequest), ("max_key_per_request", MaxKeysPerRequest));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in keyIds)
        {
            if (!seen.Add(id)) return EtsiError.BadRequest(EtsiMessages.RepeatedKeyId);
        }
        return null;
    }

    private static string Format(string template, params object[] values) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, template, values);
}
