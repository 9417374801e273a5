using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;
using QKDLite.Core.KeyStore;

namespace QKDLite.Commands;

/// <summary>
/// Verifies key blocks (from the pipeline or files) and stores their keys under their original
/// labels and keyIDs. Nothing is written for a block that fails any check; importing a key that is
/// already here changes nothing.
/// </summary>
[Cmdlet(VerbsData.Import, "QuantumKey", SupportsShouldProcess = true, DefaultParameterSetName = TextSet)]
[OutputType(typeof(QuantumKeyInfo))]
public sealed class ImportQuantumKeyCommand : KeyStoreCmdlet
{
    private const string TextSet = "Text";
    private const string PathSet = "Path";

    /// <summary>Key blocks: KeyBlock objects from Export-QuantumKey, or their one-line text.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = TextSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("KeyBlock")]
    [AllowEmptyString]
    public string[]? Text { get; set; }

    /// <summary>Files with one key block per line (blank lines and lines starting with # are skipped).</summary>
    [Parameter(Mandatory = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    private readonly System.Diagnostics.Stopwatch _sinceProgress = System.Diagnostics.Stopwatch.StartNew();
    private readonly ProgressRecord _progress = new(3, "Importing quantum keys", "Verifying key blocks");
    private int _seen;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var store = KeyStore();
        BatchOperationsOn(store);
        foreach (var block in Blocks())
        {
            if (string.IsNullOrWhiteSpace(block)) continue;
            // The total is unknown while blocks stream in: report the running count, at most every 250 ms.
            if (++_seen > 1 && _sinceProgress.ElapsedMilliseconds >= 250)
            {
                _sinceProgress.Restart();
                _progress.StatusDescription = $"{_seen} key blocks into key store '{store.Settings.TokenLabel}'";
                WriteProgress(_progress);
            }
            PerItem(() =>
            {
                // Verified completely first; ShouldProcess is asked only for a block that would be written.
                var (key, created) = store.Import(block, checkedBlock => ShouldProcess(
                    $"key '{checkedBlock.Label}' (keyID {checkedBlock.KeyId}, KCV {checkedBlock.CheckValue}) into key store '{store.Settings.TokenLabel}'", "Import quantum key"));
                if (key is null) return;
                if (!created) WriteVerbose($"Key '{key.Label}' is already in key store '{store.Settings.TokenLabel}' with the same check value; nothing to do.");
                WriteObject(key);
            });
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        _progress.RecordType = ProgressRecordType.Completed;
        WriteProgress(_progress);
    }

    private IEnumerable<string> Blocks()
    {
        if (Text is not null)
        {
            foreach (var text in Text) yield return text;
            yield break;
        }
        foreach (var pattern in Path!)
        {
            IEnumerable<string> files;
            try
            {
                files = GetResolvedProviderPathFromPSPath(pattern, out _);
            }
            catch (ItemNotFoundException e)
            {
                WriteError(new ErrorRecord(e, ErrorIds.KeyBlockFileNotFound, ErrorCategory.ObjectNotFound, pattern));
                continue;
            }
            foreach (var file in files)
            {
                string[] lines;
                try
                {
                    lines = File.ReadAllLines(file);
                }
                catch (System.Exception e) when (e is IOException or System.UnauthorizedAccessException)
                {
                    WriteError(new ErrorRecord(e, ErrorIds.KeyBlockFileUnreadable, ErrorCategory.ReadError, file));
                    continue;
                }
                foreach (var line in lines)
                {
                    var trimmed = line.Trim();
                    if (trimmed.Length == 0 || trimmed.StartsWith("#", System.StringComparison.Ordinal)) continue;
                    yield return trimmed;
                }
            }
        }
    }
}
