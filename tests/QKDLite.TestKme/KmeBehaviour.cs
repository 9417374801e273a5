using System;
using System.Text.Json;

namespace QKDLite.TestKme;

/// <summary>
/// Misbehaviour switches of one test KME, settable at any time from any thread; they act on the next
/// request. All off means the KME follows ETSI GS QKD 014. Order when several are on: the delay first,
/// then the first of DropConnections, Status504, Status503, Html401, Empty401 that is on answers the
/// request (on every endpoint); otherwise the request is served normally and OutOfKeys,
/// BitsBytesConfusion, WrongKeyLength and MalformedJson change the answer.
/// </summary>
public sealed class KmeBehaviour
{
    private volatile bool _bitsBytesConfusion;
    private volatile bool _html401;
    private volatile bool _empty401;
    private volatile bool _status504;
    private volatile bool _status503;
    private volatile bool _dropConnections;
    private volatile bool _malformedJson;
    private volatile bool _wrongKeyLength;
    private volatile bool _outOfKeys;
    private volatile int _delayMilliseconds;

    /// <summary>
    /// Keys (enc_keys and dec_keys answers of this KME) decode to <c>size</c> bytes instead of
    /// <c>size / 8</c>: the KME took the size in bits for bytes. The bytes are the real key repeated 8
    /// times, so the first <c>size / 8</c> bytes are still the key the peer KME delivers.
    /// </summary>
    public bool BitsBytesConfusion { get => _bitsBytesConfusion; set => _bitsBytesConfusion = value; }

    /// <summary>Every request is answered 401 with a <c>text/html</c> body (as a reverse proxy would).</summary>
    public bool Html401 { get => _html401; set => _html401 = value; }

    /// <summary>Every request is answered 401 with an empty body and no content type.</summary>
    public bool Empty401 { get => _empty401; set => _empty401 = value; }

    /// <summary>Every request is answered 504 Gateway Timeout with a <c>text/html</c> body.</summary>
    public bool Status504 { get => _status504; set => _status504 = value; }

    /// <summary>Every request is answered 503 with an ETSI error body (<c>{"message": ...}</c>).</summary>
    public bool Status503 { get => _status503; set => _status503 = value; }

    /// <summary>Every request is aborted without any response (<c>HttpContext.Abort()</c>: connection reset).</summary>
    public bool DropConnections { get => _dropConnections; set => _dropConnections = value; }

    /// <summary>
    /// Every 200 answer is cut in half: <c>application/json</c> but not parseable. The request still takes
    /// effect (enc_keys consumes and issues keys, dec_keys removes them).
    /// </summary>
    public bool MalformedJson { get => _malformedJson; set => _malformedJson = value; }

    /// <summary>The first key of each enc_keys/dec_keys answer of this KME is one byte short.</summary>
    public bool WrongKeyLength { get => _wrongKeyLength; set => _wrongKeyLength = value; }

    /// <summary>
    /// This KME acts as if the pool were empty: status reports <c>stored_key_count</c> 0 and enc_keys
    /// answers 503; the pool itself is untouched and dec_keys works.
    /// </summary>
    public bool OutOfKeys { get => _outOfKeys; set => _outOfKeys = value; }

    /// <summary>Every answer (including dropped ones and refusals) is delayed by this many milliseconds (0 = none).</summary>
    public int DelayMilliseconds
    {
        get => _delayMilliseconds;
        set => _delayMilliseconds = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    /// <summary>True when any switch is on.</summary>
    public bool Any => BitsBytesConfusion || Html401 || Empty401 || Status504 || Status503 || DropConnections
        || MalformedJson || WrongKeyLength || OutOfKeys || DelayMilliseconds > 0;

    /// <summary>Turns every switch off.</summary>
    public void Reset()
    {
        BitsBytesConfusion = Html401 = Empty401 = Status504 = Status503 = DropConnections = false;
        MalformedJson = WrongKeyLength = OutOfKeys = false;
        DelayMilliseconds = 0;
    }

    /// <summary>
    /// Sets the switches named in a JSON object (property names as above, case-insensitive; booleans, and
    /// a number for DelayMilliseconds). Unnamed switches keep their value. Throws
    /// <see cref="ArgumentException"/> for unknown names or wrong value types (nothing is changed then).
    /// </summary>
    public void Apply(JsonElement settings)
    {
        if (settings.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException("behaviour settings must be a JSON object");
        }

        var staged = new System.Collections.Generic.List<Action>();
        foreach (var property in settings.EnumerateObject())
        {
            var value = property.Value;
            if (property.Name.Equals(nameof(DelayMilliseconds), StringComparison.OrdinalIgnoreCase))
            {
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var ms) || ms < 0)
                {
                    throw new ArgumentException("DelayMilliseconds must be a non-negative integer");
                }

                staged.Add(() => DelayMilliseconds = ms);
                continue;
            }

            if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                throw new ArgumentException($"{property.Name} must be true or false");
            }

            var on = value.GetBoolean();
            Action set = property.Name.ToUpperInvariant() switch
            {
                "BITSBYTESCONFUSION" => () => BitsBytesConfusion = on,
                "HTML401" => () => Html401 = on,
                "EMPTY401" => () => Empty401 = on,
                "STATUS504" => () => Status504 = on,
                "STATUS503" => () => Status503 = on,
                "DROPCONNECTIONS" => () => DropConnections = on,
                "MALFORMEDJSON" => () => MalformedJson = on,
                "WRONGKEYLENGTH" => () => WrongKeyLength = on,
                "OUTOFKEYS" => () => OutOfKeys = on,
                _ => throw new ArgumentException($"unknown switch '{property.Name}'"),
            };
            staged.Add(set);
        }

        foreach (var action in staged)
        {
            action();
        }
    }

    /// <summary>The switches as a JSON object (the form <see cref="Apply"/> reads).</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteBoolean(nameof(BitsBytesConfusion), BitsBytesConfusion);
        writer.WriteBoolean(nameof(Html401), Html401);
        writer.WriteBoolean(nameof(Empty401), Empty401);
        writer.WriteBoolean(nameof(Status504), Status504);
        writer.WriteNumber(nameof(DelayMilliseconds), DelayMilliseconds);
        writer.WriteBoolean(nameof(DropConnections), DropConnections);
        writer.WriteBoolean(nameof(MalformedJson), MalformedJson);
        writer.WriteBoolean(nameof(WrongKeyLength), WrongKeyLength);
        writer.WriteBoolean(nameof(OutOfKeys), OutOfKeys);
        writer.WriteBoolean(nameof(Status503), Status503);
        writer.WriteEndObject();
    }
}
