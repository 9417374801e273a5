# The prepare of a replicated create whose keys travel as key blocks, run on this node and on one
# remote site side by side: this node makes and wraps the keys a chunk at a time and streams each
# chunk's blocks into the remote site's session, where they are prepared as they arrive. The two
# HSMs then work at the same time instead of one after the other. Every piece is the ordinary,
# idempotent prepare of the same transaction (a repeated or partial prepare only adds labels), so
# the outcome and the journal are as without streaming; only the timing differs. Whatever did not
# finish here is finished by the ordinary steps, which also fail over to the site's other nodes.

# Keys per chunk: small enough that the remote starts early, large enough that the per-call cost of
# a prepare (its ledger write, its listing of the transaction's keys) stays small beside the keys'.
$script:StreamedPrepareChunkSize = 100

function Invoke-StreamedCreatePrepare {
    <#
    Returns LocalDone (this node prepared every key; Blocks holds their blocks in order), RemoteDone
    (the site prepared every block), LocalError (this node failed: nothing more was attempted),
    RemoteError and RemoteBroken (the site answered with an error, or its channel broke).
    #>
    param(
        [Parameter(Mandatory)]$Site,
        [Parameter(Mandatory)][string]$TransactionId,
        # The parameters of New-QuantumKey for this node (KeyId, Label, Size, Source, Qrng).
        [Parameter(Mandatory)][hashtable]$Create,
        [string]$TokenLabel
    )
    $result = [pscustomobject]@{ LocalDone = $false; RemoteDone = $false; Blocks = @(); LocalError = $null; RemoteError = $null; RemoteBroken = $false }
    $member = $Site.Nodes[$Site.Current]
    # Only a node that answers now is streamed to; the ordinary step searches the others.
    try { Open-NodeSession -Member $member }
    catch {
        Write-Verbose "Remote $($Site.Name): node $($member.Name) is not available for a streamed prepare ($(Get-ErrorSummary $_))."
        $result.RemoteBroken = $true
        return $result
    }
    $session = $member.Session
    $remote = { Invoke-Command -Session $session -ErrorAction Stop -ArgumentList $member.ModulePath, $TransactionId -ScriptBlock {
            param($ModulePath, $TransactionId)
            $ErrorActionPreference = 'Stop'
            if (-not (Get-Module -Name QKDLite)) { Import-Module -Name $ModulePath -ErrorAction Stop }
            foreach ($chunk in $input) { $null = Submit-QuantumKeyTransaction -TransactionId $TransactionId -KeyBlock @($chunk.Blocks) -Confirm:$false -ErrorAction Stop }
        } }.GetSteppablePipeline()

    $common = @{ TransactionId = $TransactionId; ErrorAction = 'Stop'; Confirm = $false; WhatIf = $false }
    $export = @{ TransactionId = $TransactionId; ErrorAction = 'Stop' }
    if ($TokenLabel) { $common.TokenLabel = $TokenLabel; $export.TokenLabel = $TokenLabel }
    $labels = @($Create.Label)
    $chunkCreate = $Create.Clone()
    $blocks = [System.Collections.Generic.List[string]]::new()
    $streaming = $true
    try {
        try { $remote.Begin($true) }
        catch { $result.RemoteError = $_; $streaming = $false }
        for ($start = 0; $start -lt $labels.Count; $start += $script:StreamedPrepareChunkSize) {
            $chunkCreate.Label = @($labels[$start..([Math]::Min($start + $script:StreamedPrepareChunkSize, $labels.Count) - 1)])
            try {
                $texts = @(QKDLite\New-QuantumKey @common @chunkCreate | QKDLite\Export-QuantumKey @export | ForEach-Object { $_.Text })
                if ($texts.Count -ne $chunkCreate.Label.Count) { throw "This node prepared $($texts.Count) of $($chunkCreate.Label.Count) keys of transaction $TransactionId." }
            }
            catch {
                $result.LocalError = $_
                break
            }
            $blocks.AddRange([string[]]$texts)
            if (-not $streaming) { continue }
            try { $remote.Process([pscustomobject]@{ Blocks = $texts }) }
            catch { $result.RemoteError = $_; $streaming = $false }
        }
        if (-not $result.LocalError) {
            $result.LocalDone = $true
            $result.Blocks = $blocks.ToArray()
        }
        if ($streaming) {
            # Waits for the site to prepare what it was sent; its error, if any, arrives here.
            try {
                $null = $remote.End()
                $result.RemoteDone = -not $result.LocalError
            }
            catch { $result.RemoteError = $_ }
        }
    }
    finally {
        $remote.Dispose()
    }
    if ($result.RemoteError) {
        $result.RemoteBroken = Test-SessionBroken -Session $session -ErrorRecord $result.RemoteError
        Write-Verbose "Remote $($Site.Name): the streamed prepare on node $($member.Name) did not finish ($(Get-ErrorSummary $result.RemoteError))."
    }
    $result
}
