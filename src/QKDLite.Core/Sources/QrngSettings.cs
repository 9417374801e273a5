namespace QKDLite.Core.Sources;

/// <summary>
/// A quantum random number generator: a device or file (such as a Quantis device node) or an HTTP
/// service answering JSON with the random bytes as hex or Base64.
/// </summary>
public sealed class QrngSettings
{
    /// <summary>Name used in the node configuration and on the command line.</summary>
    public string Name { get; set; } = string.Empty;
    /// <summary>Path of a device or file to read random bytes from.</summary>
    public string? Device { get; set; }
    /// <summary>URL of an HTTP QRNG service; "{bytes}" in it is replaced by the number of bytes wanted.</summary>
    public string? Url { get; set; }
    /// <summary>JSON property holding the bytes (a string, or an array of strings); default "data".</summary>
    public string Field { get; set; } = "data";
    /// <summary>How the bytes are written: Hex or Base64.</summary>
    public string Encoding { get; set; } = "Hex";
    /// <summary>Header that carries the API key, when the service needs one.</summary>
    public string ApiKeyHeader { get; set; } = "x-api-key";
    /// <summary>Environment variable holding the API key (never the key itself in the file).</summary>
    public string? ApiKeyVariable { get; set; }
    /// <summary>Seconds before a call to the service is abandoned.</summary>
    public int TimeoutSeconds { get; set; } = 10;
}
