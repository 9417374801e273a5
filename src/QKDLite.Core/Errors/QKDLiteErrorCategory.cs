namespace QKDLite.Core.Errors;

/// <summary>
/// What kind of failure an error is. The names match PowerShell's ErrorCategory so the cmdlet
/// layer maps them in one place without Core depending on PowerShell.
/// </summary>
public enum QKDLiteErrorCategory
{
    /// <summary>An argument is malformed or out of range.</summary>
    InvalidArgument,
    /// <summary>A named key, token or file does not exist.</summary>
    ObjectNotFound,
    /// <summary>The object to create exists already.</summary>
    ResourceExists,
    /// <summary>A PIN or credential was refused.</summary>
    AuthenticationError,
    /// <summary>A security rule was broken (file permissions, locked PIN).</summary>
    SecurityError,
    /// <summary>A required component (PKCS#11 library, tool) is missing.</summary>
    NotInstalled,
    /// <summary>The key store or device cannot be reached right now.</summary>
    ResourceUnavailable,
    /// <summary>The operation does not fit the current state.</summary>
    InvalidOperation,
    /// <summary>Stored or received data is malformed.</summary>
    InvalidData,
    /// <summary>The device failed while carrying out the operation.</summary>
    WriteError,
    /// <summary>The operation was cancelled.</summary>
    OperationStopped,
}
