using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Security;
using QKDLite.Core.Errors;
using QKDLite.Core.KeyStore;
using QKDLite.Core.TransportKeys;
using QKDLite.Session;

namespace QKDLite.Commands;

/// <summary>
/// Provisions the node's transport key: from custodians' components, generated and split into
/// components, or by ML-KEM-1024 from or to a peer node. Replacing one needs -Force.
/// </summary>
[Cmdlet(VerbsCommon.Set, "TransportKey", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ComponentsSet)]
[OutputType(typeof(TransportKeyInfo))]
public sealed class SetTransportKeyCommand : KeyStoreCmdlet
{
    private const string ComponentsSet = "Components";
    private const string GenerateSet = "Generate";
    private const string EncapsulateSet = "EncapsulationKey";
    private const string DecapsulateSet = "Ciphertext";

    /// <summary>The custodians' components, each 64 hex digits; prompted for when omitted.</summary>
    [Parameter(ParameterSetName = ComponentsSet)]
    [ValidateNotNull]
    public SecureString[]? Component { get; set; }

    /// <summary>The check value (6 hex digits) of each component, in the same order; prompted for when omitted.</summary>
    [Parameter(ParameterSetName = ComponentsSet)]
    [ValidateNotNull]
    public string[]? ComponentCheckValue { get; set; }

    /// <summary>How many components to prompt for, or to generate (at least 2; default 2).</summary>
    [Parameter(ParameterSetName = ComponentsSet)]
    [Parameter(ParameterSetName = GenerateSet)]
    public int ComponentCount { get; set; } = KeyComponents.MinimumCount;

    /// <summary>Generates the transport key on this node and shows its components to the custodians, one at a time.</summary>
    [Parameter(Mandatory = true, ParameterSetName = GenerateSet)]
    public SwitchParameter Generate { get; set; }

    /// <summary>The receiving node's encapsulation key (from New-TransportKeyRequest); this node becomes the sending node.</summary>
    [Parameter(Mandatory = true, ParameterSetName = EncapsulateSet)]
    [ValidateNotNullOrEmpty]
    public string? EncapsulationKey { get; set; }

    /// <summary>The ciphertext from the sending node; completes this node's pending transport key request.</summary>
    [Parameter(Mandatory = true, ParameterSetName = DecapsulateSet)]
    [ValidateNotNullOrEmpty]
    public string? Ciphertext { get; set; }

    /// <summary>Allows replacing an existing transport key.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var store = KeyStore();
        var existing = Terminating(store.GetTransportKey);
        if (existing is not null && !Force)
            Terminating<bool>(() => throw new QKDLiteException(ErrorIds.TransportKeyExists, QKDLiteErrorCategory.ResourceExists,
                $"Key store '{store.Settings.TokenLabel}' already has a transport key (check value {existing.CheckValue}). Replacing it needs -Force; keys exported under the old one can then no longer be imported here.", store.Settings.TokenLabel));
        var action = existing is null ? "Provision the transport key" : $"Replace the transport key with check value {existing.CheckValue}";
        var target = $"key store '{store.Settings.TokenLabel}'";

        switch (ParameterSetName)
        {
            case GenerateSet:
                Terminating(() => { CheckCount(ComponentCount); ComponentDisplay.EnsureAvailable(); return true; });
                if (!ShouldProcess(target, action)) return;
                WriteObject(Generated(store));
                break;
            case EncapsulateSet:
            {
                var encapsulationKey = Terminating(() => Base64(EncapsulationKey!, ErrorIds.EncapsulationKeyInvalid, "encapsulation key"));
                if (!ShouldProcess(target, action)) return;
                var (ciphertext, transportKey) = Terminating(() => MlKemTransfer.Encapsulate(encapsulationKey));
                try
                {
                    var info = Terminating(() => store.SetTransportKey(transportKey, TransportKeyOrigin.MlKemEncapsulation, Force));
                    WriteObject(info.WithCiphertext(ciphertext));
                }
                finally
                {
                    Array.Clear(transportKey, 0, transportKey.Length);
                }
                break;
            }
            case DecapsulateSet:
            {
                Terminating(() => MlKemTransfer.ParseCiphertext(Ciphertext!));
                if (!ShouldProcess(target, action)) return;
                WriteObject(Terminating(() => store.CompleteTransportKeyRequest(Ciphertext!, Force)));
                break;
            }
            default:
                var provisioned = FromComponents(store, target, action);
                if (provisioned is not null) WriteObject(provisioned);
                break;
        }
    }

    private TransportKeyInfo? FromComponents(IKeyStore store, string target, string action)
    {
        var components = new List<byte[]>();
        try
        {
            var checkValues = new List<string>();
            if (Component is not null)
            {
                for (var i = 0; i < Component.Length; i++)
                {
                    var chars = PinInput.ToChars(Component[i]);
                    try
                    {
                        var index = i + 1;
                        components.Add(Terminating(() => KeyComponents.ParseHex(chars, index)));
                    }
                    finally
                    {
                        Array.Clear(chars, 0, chars.Length);
                    }
                }
                checkValues.AddRange(ComponentCheckValue ?? PromptCheckValues(Component.Length));
            }
            else
            {
                Terminating(() => { CheckCount(ComponentCount); return true; });
                for (var i = 1; i <= ComponentCount; i++)
                {
                    var index = i;
                    var secure = Terminating(() => PromptSecure($"Component {index} of {ComponentCount} (64 hex digits, not echoed)"));
                    var chars = PinInput.ToChars(secure);
                    try
                    {
                        components.Add(Terminating(() => KeyComponents.ParseHex(chars, index)));
                    }
                    finally
                    {
                        Array.Clear(chars, 0, chars.Length);
                        secure.Dispose();
                    }
                    checkValues.Add(ComponentCheckValue is not null && ComponentCheckValue.Length >= i ? ComponentCheckValue[i - 1] : Prompt($"Check value of component {index}"));
                }
            }
            var transportKey = Terminating(() => KeyComponents.Combine(components, checkValues));
            try
            {
                if (!ShouldProcess(target, action)) return null;
                return Terminating(() => store.SetTransportKey(transportKey, TransportKeyOrigin.Components, Force));
            }
            finally
            {
                Array.Clear(transportKey, 0, transportKey.Length);
            }
        }
        finally
        {
            foreach (var component in components) Array.Clear(component, 0, component.Length);
        }
    }

    private TransportKeyInfo Generated(IKeyStore store)
    {
        var transportKey = new byte[KeyComponents.KeyBytes];
        List<byte[]>? components = null;
        try
        {
            using (var rng = System.Security.Cryptography.RandomNumberGenerator.Create()) rng.GetBytes(transportKey);
            components = KeyComponents.Split(transportKey, ComponentCount);
            // Shown first, stored after: a ceremony interrupted midway leaves no key that nobody can rebuild.
            ComponentDisplay.Show(components);
            var key = transportKey;
            return Terminating(() => store.SetTransportKey(key, TransportKeyOrigin.Generated, Force));
        }
        finally
        {
            Array.Clear(transportKey, 0, transportKey.Length);
            if (components is not null) foreach (var component in components) Array.Clear(component, 0, component.Length);
        }
    }

    private IEnumerable<string> PromptCheckValues(int count) => Enumerable.Range(1, count).Select(i => Prompt($"Check value of component {i}")).ToList();

    private string Prompt(string text)
    {
        try
        {
            Host.UI.Write(text + ": ");
            return Host.UI.ReadLine() ?? string.Empty;
        }
        catch (Exception e) when (e is PSInvalidOperationException or System.Management.Automation.Host.HostException or NotImplementedException)
        {
            ThrowTerminatingError(ToErrorRecord(new QKDLiteException(ErrorIds.ComponentPromptUnavailable, QKDLiteErrorCategory.InvalidOperation,
                "This session cannot prompt for component check values; pass them with -ComponentCheckValue.", null, e)));
            throw;
        }
    }

    private SecureString PromptSecure(string text)
    {
        try
        {
            Host.UI.Write(text + ": ");
            return Host.UI.ReadLineAsSecureString();
        }
        catch (Exception e) when (e is PSInvalidOperationException or System.Management.Automation.Host.HostException or NotImplementedException)
        {
            throw new QKDLiteException(ErrorIds.ComponentPromptUnavailable, QKDLiteErrorCategory.InvalidOperation,
                "This session cannot prompt for key components; pass them with -Component and -ComponentCheckValue.", null, e);
        }
    }

    private static void CheckCount(int count)
    {
        if (count < KeyComponents.MinimumCount)
            throw new QKDLiteException(ErrorIds.TooFewComponents, QKDLiteErrorCategory.InvalidArgument,
                $"A transport key needs at least {KeyComponents.MinimumCount} components; {count} requested.", count);
    }

    private static byte[] Base64(string text, string errorId, string what)
    {
        try
        {
            return Convert.FromBase64String(text.Trim());
        }
        catch (FormatException e)
        {
            throw new QKDLiteException(errorId, QKDLiteErrorCategory.InvalidData, $"The {what} is not Base64.", null, e);
        }
    }
}
