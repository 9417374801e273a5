using System;

namespace QKDLite.EtsiServer.Hosting;

/// <summary>
/// <c>QKDLite_ETSI --config &lt;node.json&gt; [--pin-stdin] [--state-file &lt;path&gt;]</c>. There is no
/// option that takes a PIN: command lines are visible to every user of the machine.
/// </summary>
internal sealed record CommandLine(string? ConfigurationFile, bool PinFromStandardInput, string? StateFile, bool Help)
{
    public const string Usage = """
        usage: QKDLite_ETSI --config <node.json> [--pin-stdin] [--state-file <path>]
          --config <path>      node configuration with KeyStore and EtsiServer sections
          --pin-stdin          read the key store PIN from standard input (up to a line break or
                               the end of input); otherwise the PinFile or PinEnvironmentVariable
                               of the KeyStore section is used
          --state-file <path>  where to write the state file once listening
                               (default: etsi-server.json next to the node configuration)
        """;

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> naming what is wrong.</summary>
    public static CommandLine Parse(string[] args)
    {
        string? configuration = null, stateFile = null;
        var pinFromStdin = false;
        var help = false;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Length && !string.IsNullOrWhiteSpace(args[i + 1])
                ? args[++i]
                : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--config":
                    if (configuration is not null) throw new ArgumentException("--config is given twice");
                    configuration = Value();
                    break;
                case "--state-file":
                    if (stateFile is not null) throw new ArgumentException("--state-file is given twice");
                    stateFile = Value();
                    break;
                case "--pin-stdin":
                    pinFromStdin = true;
                    break;
                case "-h" or "--help" or "-?":
                    help = true;
                    break;
                default:
                    // Never echo the argument: someone may have tried to pass a PIN.
                    throw new ArgumentException($"argument {i + 1} is not an option QKDLite_ETSI knows");
            }
        }
        if (!help && configuration is null) throw new ArgumentException("--config is required");
        return new CommandLine(configuration, pinFromStdin, stateFile, help);
    }
}
