using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Management.Automation;
using System.Threading;
using System.Linq;
using QKDLite.Completion;
using QKDLite.Core.Configuration;
using QKDLite.Core.Kme;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;
using QKDLite.Core.KeyStore;
using QKDLite.Core.Replication;
using QKDLite.Core.Sources;

namespace QKDLite.Commands;

/// <summary>Creates keys under a keyID in the session's key store, from the chosen key source.</summary>
[Cmdlet(VerbsCommon.New, "QuantumKey", SupportsShouldProcess = true)]
[OutputType(typeof(QuantumKeyInfo))]
public sealed class NewQuantumKeyCommand : KeyStoreCmdlet
{
    private readonly CancellationTokenSource _stopping = new();
    private IDisposable? _ownedSource;

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

    /// <summary>Labels for the new keys, one per key; by default each key gets a new UUID. With -MasterSaeId: the ETSI key_IDs to fetch.</summary>
    [Parameter]
    [ValidateNotNull]
    [Alias("key_ID")]
    public string[]? Label { get; set; }

    /// <summary>With -Source Kme: the name of the KME in the node configuration.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(KeySourceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Kme { get; set; }

    /// <summary>With -Source Kme, as master SAE: the slave SAE the keys are shared with (ETSI "get key").</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SlaveSaeId { get; set; }

    /// <summary>With -Source Kme, as slave SAE: the master SAE that obtained the keys named by -Label (ETSI "get key with key IDs").</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? MasterSaeId { get; set; }

    /// <summary>With -Source Qrng: the name of the QRNG in the node configuration.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(KeySourceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Qrng { get; set; }

    /// <summary>
    /// Replication, prepare: creates the keys as pending under this transaction (invisible until
    /// Complete-QuantumKeyTransaction), recorded in the node's replication record. With -Source Kme
    /// the keys taken from the KME (as master or slave SAE) are prepared instead of stored.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TransactionId { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var count = Label is not null && !MyInvocation.BoundParameters.ContainsKey(nameof(Count)) ? Label.Length : Count;
        // Rules that need no key store are checked before connecting (and perhaps prompting for a PIN).
        Terminating(() => { KeyRules.CheckKeyId(KeyId); KeyRules.CheckSize(Size); KeyRules.CheckCount(count); return true; });
        if (Source == KeySource.Kme)
        {
            CreateFromKme(count);
            return;
        }
        // A prepared create names its labels before any key exists, so the journals can hold them.
        var labels = TransactionId is not null && Label is null ? Enumerable.Range(0, count).Select(_ => KeyRules.NewLabel()).ToArray() : Label;
        var request = new NewKeysRequest(KeyId, count, Size, labels);
        var source = Terminating(() => SourceFor(Source));
        var store = KeyStore();
        if (TransactionId is not null)
        {
            if (!ShouldProcess($"keyID '{KeyId}' in key store '{store.Settings.TokenLabel}'", $"Prepare {count} key(s) of {Size} bits from the {Source} source for transaction '{TransactionId}'")) return;
            Prepare(store, request, source);
            return;
        }
        Terminating(() => { store.CheckNewKeys(request); return true; });
        var action = $"Create {count} key(s) of {Size} bits from the {Source} source";
        if (!ShouldProcess($"keyID '{KeyId}' in key store '{store.Settings.TokenLabel}'", action)) return;
        Store(store, request, source, 0, count);
    }

    /// <summary>
    /// Takes keys from a KME (as master: get key; as slave: get key with key IDs) and stores each under
    /// its ETSI key_ID. Labels are checked before the KME is asked, so no label is ever bound to two keys.
    /// </summary>
    private void CreateFromKme(int count)
    {
        if (Kme is null || (SlaveSaeId is null) == (MasterSaeId is null))
            Terminating<bool>(() => throw new QKDLiteException(ErrorIds.KeySourceNotAvailable, QKDLiteErrorCategory.InvalidArgument,
                "-Source Kme needs -Kme <name> and either -SlaveSaeId (this node is the master SAE) or -MasterSaeId with -Label <key_IDs> (this node is the slave SAE).", KeySource.Kme));
        if (SlaveSaeId is not null && Label is not null)
            Terminating<bool>(() => throw new QKDLiteException(ErrorIds.KeySourceNotAvailable, QKDLiteErrorCategory.InvalidArgument,
                "With -SlaveSaeId the keys are labelled with the key_IDs the KME gives; -Label cannot be used.", KeySource.Kme));
        if (MasterSaeId is not null && Label is null)
            Terminating<bool>(() => throw new QKDLiteException(ErrorIds.KeySourceNotAvailable, QKDLiteErrorCategory.InvalidArgument,
                "-MasterSaeId needs -Label with the key_IDs the master SAE received.", MasterSaeId));
        var file = QKDLitePaths.DefaultConfigurationFile;
        var settings = Terminating(() => NodeConfiguration.Load(file).Kme(Kme!, file));
        var store = KeyStore();
        var sizeBits = MyInvocation.BoundParameters.ContainsKey(nameof(Size)) ? Size : 0;
        var wanted = Label;
        if (MasterSaeId is not null && TransactionId is not null)
        {
            // A repeated prepare (after a lost reply) must not ask the KME again: it hands a key out once per side.
            var prepared = Terminating(() => store.TransactionKeys(TransactionId));
            var held = new HashSet<string>(prepared.Select(k => k.Label), StringComparer.Ordinal);
            wanted = Label!.Where(l => !held.Contains(l)).ToArray();
            if (wanted.Length == 0)
            {
                foreach (var key in prepared.Where(k => Label!.Contains(k.Label, StringComparer.Ordinal))) WriteObject(key);
                return;
            }
            count = wanted.Length;
        }
        if (MasterSaeId is not null) Terminating(() => { store.CheckNewKeys(new NewKeysRequest(KeyId, count, sizeBits == 0 ? KeyRules.DefaultSizeBits : sizeBits, wanted)); return true; });
        var target = $"keyID '{KeyId}' in key store '{store.Settings.TokenLabel}'";
        string action = MasterSaeId is null
            ? $"Take {count} key(s) from KME '{settings.Name}' shared with slave SAE '{SlaveSaeId}'"
            : $"Take {count} key(s) from KME '{settings.Name}' by key_ID, issued to master SAE '{MasterSaeId}'";
        if (TransactionId is not null) action = "Prepare for transaction '" + TransactionId + "': " + action;
        if (!ShouldProcess(target, action)) return;

        using var client = new EtsiKmeClient(settings);
        if (MasterSaeId is null)
        {
            // As master the labels are the key_IDs the KME gives. Each batch is stored while the next
            // one is fetched (see GetKeyBatches).
            var batches = Terminating(() => client.GetKeyBatches(SlaveSaeId!, count, sizeBits, _stopping.Token));
            var stored = 0;
            using var batch = Terminating(() => batches.GetEnumerator());
            while (Terminating(() => batch.MoveNext()))
            {
                var keys = batch.Current;
                WriteVerbose($"KME '{settings.Name}' at {client.LastUrl} delivered {keys.Count} key(s) over {client.LastTls?.Describe()}.");
                StoreKmeKeys(store, keys, keys.Select(k => k.KeyId).ToList(), stored, count);
                stored += keys.Count;
            }
            return;
        }
        var fetched = Terminating(() =>
        {
            var received = client.GetKeysWithIdsAsync(MasterSaeId, wanted!, sizeBits, _stopping.Token).GetAwaiter().GetResult();
            WriteVerbose($"KME '{settings.Name}' at {client.LastUrl} delivered {received.Count} key(s) over {client.LastTls?.Describe()}.");
            return received;
        });
        // As slave, the labels are the ones given and checked (the KME may spell key_IDs in another case).
        StoreKmeKeys(store, fetched, wanted!.ToList(), 0, fetched.Count);
    }

    private void StoreKmeKeys(IKeyStore store, IReadOnlyList<KmeKey> keys, IReadOnlyList<string> labels, int done, int total)
    {
        var source = new PrefetchedKeySource(keys);
        try
        {
            var request = new NewKeysRequest(KeyId, keys.Count, keys[0].Key.Length * 8, labels);
            if (TransactionId is not null) Prepare(store, request, source);
            else Store(store, request, source, done, total);
        }
        finally
        {
            source.ClearRemaining();
        }
    }

    /// <summary>
    /// Prepares the keys as pending under -TransactionId and writes them. PrepareCreate checks the
    /// request itself; labels this transaction prepared already are kept, so a repeat is a no-op.
    /// </summary>
    private void Prepare(IKeyStore store, NewKeysRequest request, IKeyMaterialSource source)
    {
        var prepared = Terminating(() =>
        {
            using var ledger = ParticipantLedger.Open(ParticipantLedger.DefaultPath(QKDLitePaths.DataDirectory));
            new ReplicationParticipant(store, ledger).PrepareCreate(TransactionId!, request, source);
            var wanted = new HashSet<string>(request.Labels!, StringComparer.Ordinal);
            return store.TransactionKeys(TransactionId!).Where(k => wanted.Contains(k.Label)).OrderBy(k => k.Created).ToList();
        });
        foreach (var key in prepared) WriteObject(key);
    }

    private void Store(IKeyStore store, NewKeysRequest request, IKeyMaterialSource source, int done, int total)
    {
        var progress = new ProgressRecord(1, "Creating quantum keys", $"keyID {KeyId}");
        var timer = Stopwatch.StartNew();
        Terminating(() =>
        {
            foreach (var key in store.CreateKeys(request, source, _stopping.Token))
            {
                WriteObject(key);
                done++;
                // Progress at most every 250 ms: per-key progress would cost more than the key itself.
                if (total > 1 && timer.ElapsedMilliseconds >= 250)
                {
                    timer.Restart();
                    progress.PercentComplete = (int)(100L * done / total);
                    progress.StatusDescription = $"keyID {KeyId}: {done} of {total}";
                    WriteProgress(progress);
                }
            }
            return true;
        });
        if (total > 1 && done == total)
        {
            progress.RecordType = ProgressRecordType.Completed;
            WriteProgress(progress);
        }
    }

    /// <inheritdoc />
    protected override void StopProcessing() => _stopping.Cancel();

    /// <inheritdoc />
    protected override void EndProcessing() => _ownedSource?.Dispose();

    private IKeyMaterialSource SourceFor(KeySource source)
    {
        if (source == KeySource.Classical) return new SystemRandomSource();
        if (Qrng is null)
            throw new QKDLiteException(ErrorIds.KeySourceNotAvailable, QKDLiteErrorCategory.InvalidArgument,
                "-Source Qrng needs -Qrng <name> of a QRNG in the node configuration.", source);
        var file = QKDLitePaths.DefaultConfigurationFile;
        var settings = NodeConfiguration.Load(file).Qrng(Qrng, file);
        _ownedSource?.Dispose();
        if (settings.Device is not null)
        {
            var device = new DeviceQrngSource(settings);
            _ownedSource = device;
            return device;
        }
        if (settings.Url is not null)
        {
            var service = new HttpQrngSource(settings);
            _ownedSource = service;
            return service;
        }
        throw new QKDLiteException(ErrorIds.KeySourceNotConfigured, QKDLiteErrorCategory.InvalidData,
            $"QRNG '{settings.Name}' in '{file}' names neither a Device nor a Url.", settings.Name);
    }
}
