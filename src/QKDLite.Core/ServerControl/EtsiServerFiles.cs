using System.IO;

namespace QKDLite.Core.ServerControl;

/// <summary>
/// Where the files of a node's ETSI server live: next to its node configuration, so that several
/// nodes on one machine (each with its own node.json) never share them.
/// </summary>
public static class EtsiServerFiles
{
    /// <summary>Name of the state file QKDLite_ETSI writes once it listens and deletes when it stops.</summary>
    public const string StateFileName = "etsi-server.json";

    /// <summary>Name of the file that receives the output of a server started in the background.</summary>
    public const string LogFileName = "etsi-server.log";

    /// <summary>The state file of the server of <paramref name="configurationPath"/>.</summary>
    public static string StateFile(string configurationPath) => Path.Combine(DirectoryOf(configurationPath), StateFileName);

    /// <summary>The output log of the server of <paramref name="configurationPath"/>.</summary>
    public static string LogFile(string configurationPath) => Path.Combine(DirectoryOf(configurationPath), LogFileName);

    private static string DirectoryOf(string configurationPath) =>
        Path.GetDirectoryName(Path.GetFullPath(configurationPath)) ?? Path.GetFullPath(".");
}
