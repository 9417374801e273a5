using System.Collections.Generic;

namespace QKDLite.Core.ServerControl;

/// <summary>The command line of QKDLite_ETSI: <c>--config &lt;node.json&gt; [--pin-stdin] --state-file &lt;path&gt;</c>. Never a secret.</summary>
public static class EtsiServerArguments
{
    /// <summary>Arguments for serving <paramref name="configurationPath"/>; <paramref name="pinOnInput"/> makes the server read the PIN from its standard input.</summary>
    public static IReadOnlyList<string> For(string configurationPath, bool pinOnInput, string stateFilePath)
    {
        var arguments = new List<string> { "--config", configurationPath };
        if (pinOnInput) arguments.Add("--pin-stdin");
        arguments.Add("--state-file");
        arguments.Add(stateFilePath);
        return arguments;
    }
}
