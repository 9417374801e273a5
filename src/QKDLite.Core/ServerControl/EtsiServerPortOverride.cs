using System.IO;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;

namespace QKDLite.Core.ServerControl;

/// <summary>
/// Runs a server on another port than node.json names, without changing node.json: QKDLite_ETSI
/// takes its port from the configuration file only, so it is given a copy that differs in the port.
/// The copy lives next to node.json, so relative paths and the default audit log mean the same.
/// </summary>
public static class EtsiServerPortOverride
{
    /// <summary>Name of the copy of node.json a server started with another port runs with.</summary>
    public const string FileName = "etsi-server.node.json";

    /// <summary>Writes the copy of <paramref name="configurationPath"/> with <paramref name="port"/>; returns its path.</summary>
    public static string Write(string configurationPath, int port)
    {
        var configuration = Path.GetFullPath(configurationPath);
        var node = NodeConfiguration.Load(configuration);
        if (node.EtsiServer is null)
            throw new QKDLiteException(ErrorIds.EtsiServerNotConfigured, QKDLiteErrorCategory.ObjectNotFound,
                $"The node configuration '{configuration}' has no EtsiServer section.", configuration);
        node.EtsiServer.Port = port;
        node.EtsiServer.Validate(configuration);
        var copy = Path.Combine(Path.GetDirectoryName(configuration) ?? ".", FileName);
        node.Save(copy);
        return copy;
    }
}
