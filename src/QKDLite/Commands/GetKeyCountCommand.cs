using System.Linq;
using System.Management.Automation;
using QKDLite.Completion;
using QKDLite.Output;

namespace QKDLite.Commands;

/// <summary>Counts the active keys per keyID.</summary>
[Cmdlet(VerbsCommon.Get, "KeyCount")]
[OutputType(typeof(KeyCountInfo))]
public sealed class GetKeyCountCommand : KeyStoreCmdlet
{
    /// <summary>keyIDs to count; wildcards allowed. A keyID without keys counts 0. All keyIDs when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(KeyIdCompleter))]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? KeyId { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var store = KeyStore();
        var counts = Terminating(store.CountByKeyId);
        var token = store.Settings.TokenLabel;
        if (KeyId is null)
        {
            foreach (var pair in counts) WriteObject(new KeyCountInfo(pair.Key, pair.Value, token));
            return;
        }
        foreach (var keyId in KeyId)
        {
            // keyIDs match without regard to case, as in Get-QuantumKey -KeyId; a plain keyID always
            // gives exactly one result, adding up keyIDs that differ only in case.
            var pattern = new WildcardPattern(keyId, WildcardOptions.IgnoreCase);
            var matches = counts.Where(p => pattern.IsMatch(p.Key)).ToList();
            if (!WildcardPattern.ContainsWildcardCharacters(keyId))
            {
                WriteObject(new KeyCountInfo(keyId, matches.Sum(p => p.Value), token));
                continue;
            }
            foreach (var pair in matches) WriteObject(new KeyCountInfo(pair.Key, pair.Value, token));
        }
    }
}
