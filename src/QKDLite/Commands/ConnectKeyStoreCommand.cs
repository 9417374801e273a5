using System.Management.Automation;
using System.Security;
using QKDLite.Core.Configuration;
using QKDLite.Core.KeyStore;
using QKDLite.Session;

namespace QKDLite.Commands;

/// <summary>Selects the PKCS#11 key store this session works on: from the node configuration or named explicitly.</summary>
[Cmdlet(VerbsCommunications.Connect, "KeyStore", DefaultParameterSetName = ConfigurationSet)]
[OutputType(typeof(KeyStoreInfo))]
public sealed class ConnectKeyStoreCommand : QKDLiteCmdlet
{
    private const string ConfigurationSet = "Configuration";
    private const string ExplicitSet = "Explicit";

    /// <summary>Node configuration file to read (default: node.json in the data directory).</summary>
    [Parameter(ParameterSetName = ConfigurationSet)]
    [ValidateNotNullOrEmpty]
    public string? ConfigurationPath { get; set; }

    /// <summary>PKCS#11 library of the key store.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ExplicitSet)]
    [ValidateNotNullOrEmpty]
    public string? Library { get; set; }

    /// <summary>Label of the token that holds the keys.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ExplicitSet)]
    [ValidateNotNullOrEmpty]
    public string? TokenLabel { get; set; }

    /// <summary>SoftHSM2 configuration file, for a SoftHSM2 store outside the node's data directory.</summary>
    [Parameter(ParameterSetName = ExplicitSet)]
    [ValidateNotNullOrEmpty]
    public string? SoftHsmConfig { get; set; }

    /// <summary>The user PIN; prompted for when no PIN source is given or configured.</summary>
    [Parameter]
    public SecureString? Pin { get; set; }

    /// <summary>Owner-only file holding the PIN.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? PinFile { get; set; }

    /// <summary>Environment variable holding the PIN.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? PinEnvironmentVariable { get; set; }

    /// <summary>Records the key store and its PIN file or variable (never the PIN) in the node configuration.</summary>
    [Parameter(ParameterSetName = ExplicitSet)]
    public SwitchParameter Save { get; set; }

    /// <summary>Returns the connected key store.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var defaultFile = QKDLitePaths.DefaultConfigurationFile;
        KeyStoreConfiguration selected;
        if (ParameterSetName == ConfigurationSet)
        {
            var file = ConfigurationPath is null ? defaultFile : GetUnresolvedProviderPathFromPSPath(ConfigurationPath);
            var configuration = Terminating(() => NodeConfiguration.Load(file));
            selected = configuration.KeyStore ?? Terminating<KeyStoreConfiguration>(() => throw new Core.Errors.QKDLiteException(
                Core.Errors.ErrorIds.NodeConfigurationInvalid, Core.Errors.QKDLiteErrorCategory.InvalidData,
                $"The node configuration '{file}' names no key store.", file));
        }
        else
        {
            selected = new KeyStoreConfiguration
            {
                Library = GetUnresolvedProviderPathFromPSPath(Library!),
                TokenLabel = TokenLabel!,
                SoftHsmConfig = SoftHsmConfig is null ? null : GetUnresolvedProviderPathFromPSPath(SoftHsmConfig),
                PinFile = PinFile is null ? null : GetUnresolvedProviderPathFromPSPath(PinFile),
                PinEnvironmentVariable = PinEnvironmentVariable,
            };
        }
        var pinFile = PinFile is null ? null : GetUnresolvedProviderPathFromPSPath(PinFile);
        var store = Terminating(() => KeyStoreSession.Connect(this, selected, Pin, pinFile, PinEnvironmentVariable));
        KeyStoreSession.Set(store);
        WriteVerbose($"Connected to key store '{selected.TokenLabel}' through '{selected.Library}'.");
        if (Save)
        {
            var configuration = System.IO.File.Exists(defaultFile) ? Terminating(() => NodeConfiguration.Load(defaultFile)) : new NodeConfiguration();
            configuration.KeyStore = selected;
            Terminating(() => { configuration.Save(defaultFile); return true; });
            WriteVerbose($"Recorded the key store in '{defaultFile}'.");
        }
        if (PassThru) WriteObject(Terminating(store.Describe));
    }
}
