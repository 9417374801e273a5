using System;
using System.Diagnostics;
using System.Management.Automation;
using System.Threading;
using QKDLite.Completion;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;
using QKDLite.Core.KeyStore;
using QKDLite.Core.Sources;

namespace QKDLite.Commands;

/// <summary>Creates keys under a keyID in the session's key store, from the chosen key source.</summary>
[Cmdlet(VerbsCommon.New, "QuantumKey", SupportsShouldProcess = true)]
[OutputType(typeof(QuantumKeyInfo))]
public sealed class NewQuantumKeyCommand : KeyStoreCmdlet
{
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Purpose name the new keys are grouped under.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(KeyIdCompleter))]
    public string KeyId { get; set; } = string.Empty;

    /// <summary>Number of keys to create (default 1, or the number of labels given).</summary>
    [Parameter(Position = 1)]
    public int Count { get; set; } = 1;

    /// <summary>Key size in bits, a multiple of 8 (default 256).</summary>
    [Parameter]
    public int Size { get; set; } = KeyRules.DefaultSizeBits;

    /// <summary>Where the key material comes from (this version: Classical, the system RNG).</summary>
    [Parameter]
    public KeySource Source { get; set; } = KeySource.Classical;

    /// <summary>Labels for the new keys, one per key; by default each key gets a new UUID.</summary>
    [Parameter]
    [ValidateNotNull]
    public string[]? Label { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var count = Label is not null && !MyInvocation.BoundParameters.ContainsKey(nameof(Count)) ? Label.Length : Count;
        var request = new NewKeysRequest(KeyId, count, Size, Label);
        // Rules that need no key store are checked before connecting (and perhaps prompting for a PIN).
        Terminating(() => { KeyRules.CheckKeyId(KeyId); KeyRules.CheckSize(Size); KeyRules.CheckCount(count); return true; });
        var source = Terminating(() => SourceFor(Source));
        var store = KeyStore();
        Terminating(() => { store.CheckNewKeys(request); return true; });
        var action = $"Create {count} key(s) of {Size} bits from the {Source} source";
        if (!ShouldProcess($"keyID '{KeyId}' in key store '{store.Settings.TokenLabel}'", action)) return;

        var progress = new ProgressRecord(1, "Creating quantum keys", $"keyID {KeyId}");
        var timer = Stopwatch.StartNew();
        var done = 0;
        Terminating(() =>
        {
            foreach (var key in store.CreateKeys(request, source, _stopping.Token))
            {
                WriteObject(key);
                done++;
                // Progress at most every 250 ms: per-key progress would cost more than the key itself.
                if (count > 1 && timer.ElapsedMilliseconds >= 250)
                {
                    timer.Restart();
                    progress.PercentComplete = (int)(100L * done / count);
                    progress.StatusDescription = $"keyID {KeyId}: {done} of {count}";
                    WriteProgress(progress);
                }
            }
            return true;
        });
        if (count > 1)
        {
            progress.RecordType = ProgressRecordType.Completed;
            WriteProgress(progress);
        }
    }

    /// <inheritdoc />
    protected override void StopProcessing() => _stopping.Cancel();

    private static IKeyMaterialSource SourceFor(KeySource source) => source switch
    {
        KeySource.Classical => new SystemRandomSource(),
        _ => throw new QKDLiteException(ErrorIds.KeySourceNotAvailable, QKDLiteErrorCategory.InvalidArgument,
            $"The {source} key source is not configured on this node; use -Source Classical.", source),
    };
}
