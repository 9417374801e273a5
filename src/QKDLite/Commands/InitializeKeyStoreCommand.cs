using System;
using System.IO;
using System.Management.Automation;
using System.Security;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using QKDLite.Core.KeyStore;
using QKDLite.Session;

namespace QKDLite.Commands;

/// <summary>
/// Creates the node's local key store: a SoftHSM2 token in QKDLite's own data directory, recorded
/// in the node configuration and selected for this session.
/// </summary>
[Cmdlet(VerbsData.Initialize, "KeyStore", SupportsShouldProcess = true, DefaultParameterSetName = PromptSet)]
[OutputType(typeof(KeyStoreInfo))]
public sealed class InitializeKeyStoreCommand : QKDLiteCmdlet
{
    private const string PromptSet = "Pin";
    private const string PinFileSet = "PinFile";
    private const string PinVariableSet = "PinEnvironmentVariable";
    private const string NewPinFileSet = "NewPinFile";

    /// <summary>Label of the new token.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string TokenLabel { get; set; } = "QKDLite";

    /// <summary>Data directory of the node (default: $env:QKDLITE_HOME, else the user's local application data).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>SoftHSM2 library to use (default: found automatically).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Library { get; set; }

    /// <summary>The new user PIN; prompted for when no other PIN option is given.</summary>
    [Parameter(ParameterSetName = PromptSet)]
    public SecureString? Pin { get; set; }

    /// <summary>Existing owner-only file holding the new user PIN; recorded in the node configuration.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PinFileSet)]
    [ValidateNotNullOrEmpty]
    public string? PinFile { get; set; }

    /// <summary>Environment variable holding the new user PIN; its name is recorded in the node configuration.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PinVariableSet)]
    [ValidateNotNullOrEmpty]
    public string? PinEnvironmentVariable { get; set; }

    /// <summary>Generates a random user PIN into an owner-only file in the data directory, for unattended use.</summary>
    [Parameter(Mandatory = true, ParameterSetName = NewPinFileSet)]
    public SwitchParameter NewPinFile { get; set; }

    /// <summary>Security officer PIN of the new token; a random one is used (and not kept) when omitted.</summary>
    [Parameter]
    public SecureString? SecurityOfficerPin { get; set; }

    /// <summary>Asks twice: a mistyped PIN on a new token with a discarded officer PIN could never be recovered.</summary>
    private byte[] PromptNewPin()
    {
        var first = PinInput.Prompt(this, $"New PIN for key store '{TokenLabel}'");
        var second = PinInput.Prompt(this, "Enter the same PIN again");
        try
        {
            var same = first.Length == second.Length;
            for (var i = 0; same && i < first.Length; i++) same = first[i] == second[i];
            if (!same)
            {
                Array.Clear(first, 0, first.Length);
                throw new QKDLiteException(ErrorIds.PinConfirmationMismatch, QKDLiteErrorCategory.InvalidArgument,
                    "The two PIN entries differ. Nothing was created.", TokenLabel);
            }
            return first;
        }
        finally
        {
            Array.Clear(second, 0, second.Length);
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        Terminating(() => { LocalKeyStore.CheckTokenLabel(TokenLabel); return true; });
        var directory = Path is null ? QKDLitePaths.DataDirectory : GetUnresolvedProviderPathFromPSPath(Path);
        var configurationFile = QKDLitePaths.ConfigurationFile(directory);
        if (!ShouldProcess(directory, $"Create local key store '{TokenLabel}'")) return;

        byte[]? userPin = null;
        byte[]? officerPin = null;
        string? createdPinFile = null;
        var created = false;
        try
        {
            var libraryPath = Library is null ? null : GetUnresolvedProviderPathFromPSPath(Library);
            Terminating(() => { LocalKeyStore.CheckTokenAbsent(directory, TokenLabel, libraryPath); return true; });
            if (NewPinFile)
            {
                Directory.CreateDirectory(directory);
                var target = System.IO.Path.Combine(directory, TokenLabel + ".pin");
                userPin = PinSources.Generate();
                var pin = userPin;
                Terminating(() => { PinSources.WriteNewFile(target, pin); return true; });
                createdPinFile = target;
            }
            else if (Pin is null && PinFile is null && PinEnvironmentVariable is null)
            {
                userPin = Terminating(PromptNewPin);
            }
            else
            {
                userPin = Terminating(() => PinInput.Resolve(this, Pin, PinFile is null ? null : GetUnresolvedProviderPathFromPSPath(PinFile), PinEnvironmentVariable, $"New PIN for key store '{TokenLabel}'"));
            }
            var newPin = userPin;
            Terminating(() => { LocalKeyStore.CheckNewPin(newPin); return true; });
            if (SecurityOfficerPin is not null) officerPin = PinInput.ToUtf8(SecurityOfficerPin);
            else
            {
                officerPin = PinSources.Generate();
                WriteWarning("No -SecurityOfficerPin was given: a random security officer PIN was used and not kept, so a locked user PIN cannot be reset.");
            }
            var library = Library is null ? null : GetUnresolvedProviderPathFromPSPath(Library);
            var userPinCopy = userPin;
            var officerPinCopy = officerPin;
            var settings = Terminating(() => LocalKeyStore.Initialize(directory, TokenLabel, userPinCopy, officerPinCopy, library));
            created = true;
            WriteVerbose($"Created token '{TokenLabel}' in '{directory}'.");

            var configuration = File.Exists(configurationFile) ? Terminating(() => NodeConfiguration.Load(configurationFile)) : new NodeConfiguration();
            var recorded = new KeyStoreConfiguration
            {
                Library = settings.LibraryPath,
                TokenLabel = settings.TokenLabel,
                SoftHsmConfig = settings.SoftHsmConfig,
                PinFile = createdPinFile ?? (PinFile is null ? null : GetUnresolvedProviderPathFromPSPath(PinFile)),
                PinEnvironmentVariable = PinEnvironmentVariable,
            };
            if (configuration.KeyStore is null)
            {
                configuration.KeyStore = recorded;
                Terminating(() => { configuration.Save(configurationFile); return true; });
                WriteVerbose($"Recorded the key store in '{configurationFile}'.");
            }
            else
            {
                // The node's key store stays what node.json names; a second store is an addition for this session.
                WriteWarning($"'{configurationFile}' still names key store '{configuration.KeyStore.TokenLabel}' as this node's store; '{TokenLabel}' is connected for this session only. Use Connect-KeyStore -Save to make it the node's store.");
            }

            var store = Terminating(() => Pkcs11KeyStore.Open(settings, userPinCopy));
            KeyStoreSession.Set(store);
            WriteObject(Terminating(store.Describe));
        }
        catch
        {
            // A PIN file made for a token that was never created is useless: do not leave it behind.
            if (createdPinFile is not null && !created && File.Exists(createdPinFile))
                File.Delete(createdPinFile);
            throw;
        }
        finally
        {
            if (userPin is not null) Array.Clear(userPin, 0, userPin.Length);
            if (officerPin is not null) Array.Clear(officerPin, 0, officerPin.Length);
        }
    }
}
