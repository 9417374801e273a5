using System;
using System.IO;

namespace QKDLite.Core.Configuration;

/// <summary>Where QKDLite keeps its node data: $QKDLITE_HOME, else the user's local application data folder.</summary>
public static class QKDLitePaths
{
    /// <summary>Environment variable that moves the data directory (tests, several nodes on one machine).</summary>
    public const string HomeVariable = "QKDLITE_HOME";

    /// <summary>The node's data directory.</summary>
    public static string DataDirectory
    {
        get
        {
            var home = Environment.GetEnvironmentVariable(HomeVariable);
            if (!string.IsNullOrEmpty(home)) return Path.GetFullPath(home);
            var appData = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
            return Path.Combine(appData, "QKDLite");
        }
    }

    /// <summary>The node configuration file in <paramref name="dataDirectory"/>.</summary>
    public static string ConfigurationFile(string dataDirectory) => Path.Combine(dataDirectory, "node.json");

    /// <summary>The node configuration file in the default data directory.</summary>
    public static string DefaultConfigurationFile => ConfigurationFile(DataDirectory);
}
