using System;

namespace QKDLite.Core.Errors;

/// <summary>
/// The one exception type Core raises for expected failures. <see cref="ErrorId"/> is a stable
/// PascalCase name that scripts and tests may rely on; the message never contains key bytes or PINs.
/// </summary>
public sealed class QKDLiteException : Exception
{
    /// <summary>Creates an error with a stable id, a category and a message for the administrator.</summary>
    public QKDLiteException(string errorId, QKDLiteErrorCategory category, string message, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Category = category;
        Target = target;
    }

    /// <summary>Stable identifier of this kind of error (see <see cref="ErrorIds"/>).</summary>
    public string ErrorId { get; }

    /// <summary>What kind of failure it is.</summary>
    public QKDLiteErrorCategory Category { get; }

    /// <summary>The key label, token, file or server concerned, when there is one.</summary>
    public object? Target { get; }
}
