namespace QKDLite.EtsiServer.Protocol;

/// <summary>The outcome of parsing or checking a request: a value, or the error to answer with.</summary>
internal readonly struct Parsed<T>
{
    private Parsed(T? value, EtsiError? error)
    {
        Value = value;
        Error = error;
    }

    /// <summary>The parsed value when <see cref="Error"/> is null.</summary>
    public T? Value { get; }

    /// <summary>Why the request is refused, or null.</summary>
    public EtsiError? Error { get; }

    /// <summary>True when there is a value.</summary>
    public bool IsValid => Error is null;

    public static Parsed<T> Ok(T value) => new(value, null);

    public static Parsed<T> Fail(EtsiError error) => new(default, error);

    public static implicit operator Parsed<T>(EtsiError error) => Fail(error);
}
