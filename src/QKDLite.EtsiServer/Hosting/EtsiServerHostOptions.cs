using QKDLite.Core.Configuration;
using QKDLite.Core.KeyStore;

namespace QKDLite.EtsiServer.Hosting;

/// <summary>What an <see cref="EtsiServerHost"/> serves, from where, and how it behaves as a process.</summary>
internal sealed class EtsiServerHostOptions
{
    /// <summary>The EtsiServer section of the node configuration.</summary>
    public required EtsiServerSettings Settings { get; init; }

    /// <summary>Full path of the node configuration: relative paths in <see cref="Settings"/> are taken from its folder.</summary>
    public required string ConfigurationFile { get; init; }

    /// <summary>The open key store the keys come from.</summary>
    public required IKeyStore KeyStore { get; init; }

    /// <summary>Warnings and errors to the console (standard error); off for servers hosted in tests.</summary>
    public bool ConsoleLogging { get; init; } = true;

    /// <summary>A further destination for warnings and errors (servers hosted in tests read them here).</summary>
    public Microsoft.Extensions.Logging.ILoggerProvider? LoggerProvider { get; init; }

    /// <summary>Stop on SIGTERM/SIGINT (Ctrl+C); off for servers hosted in tests.</summary>
    public bool HandleSignals { get; init; } = true;
}
