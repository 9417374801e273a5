# The prepare of a replicated create whose keys travel as key blocks, run on this node and on one
# remote site side by side: this node makes and wraps the keys a chunk at a time on a runspace of its
# own, starting at once, while this thread opens the session to the site; each chunk's blocks are
# streamed into the site's session, where they are prepared as they arrive. The session's setup (SSH,
# the remote PowerShell, its key store) and the two HSMs then work at the same time instead of one
# after the other. Every piece is the ordinary, idempotent prepare of the same transaction (a repeated
# or partial prepare only adds labels), so the outcome and the journal are as without streaming; only
# the timing differs. Whatever did not finish here is finished by the ordinary steps, which also fail
# over to the site's other nodes.

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
    $producer = Start-LocalChunkProducer -TransactionId $TransactionId -Create $Create -TokenLabel $TokenLabel
    $member = $Site.Nodes[$Site.Current]
    $session = $null
    $remote = $null
    $streaming = $false
    $blocks = [System.Collections.Generic.List[string]]::new()
    try {
        # Only a node that answers now is streamed to; the ordinary step searches the others.
        try {
            Open-NodeSession -Member $member
            $session = $member.Session
            $streaming = $true
        }
        catch {
            Write-Verbose "Remote $($Site.Name): node $($member.Name) is not available for a streamed prepare ($(Get-ErrorSummary $_))."
            $result.RemoteBroken = $true
            # The ordinary step then starts at the site's next node and comes back to this one last,
            # rather than waiting for it twice.
            $Site.Current = ($Site.Current + 1) % $Site.Nodes.Count
        }
        if ($streaming) {
            $remote = { Invoke-Command -Session $session -ErrorAction Stop -ArgumentList $member.ModulePath, $TransactionId -ScriptBlock {
                    param($ModulePath, $TransactionId)
                    $ErrorActionPreference = 'Stop'
                    if (-not (Get-Module -Name QKDLite)) { Import-Module -Name $ModulePath -ErrorAction Stop }
                    # Connects the key store and reads its index while the first chunk is still being made.
                    $null = QKDLite\Get-KeyCount
                    foreach ($chunk in $input) { $null = Submit-QuantumKeyTransaction -TransactionId $TransactionId -KeyBlock @($chunk.Blocks) -Confirm:$false -ErrorAction Stop }
                } }.GetSteppablePipeline()
            try { $remote.Begin($true) }
            catch { $result.RemoteError = $_; $streaming = $false }
        }
        while ($null -ne ($chunk = Receive-LocalChunk -Producer $producer)) {
            if ($chunk.Error) { $result.LocalError = $chunk.Error; break }
            $blocks.AddRange([string[]]$chunk.Blocks)
            if (-not $streaming) { continue }
            try { $remote.Process([pscustomobject]@{ Blocks = $chunk.Blocks }) }
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
        if ($remote) { $remote.Dispose() }
        Stop-LocalChunkProducer -Producer $producer
    }
    if ($result.RemoteError) {
        $result.RemoteBroken = Test-SessionBroken -Session $session -ErrorRecord $result.RemoteError
        Write-Verbose "Remote $($Site.Name): the streamed prepare on node $($member.Name) did not finish ($(Get-ErrorSummary $result.RemoteError))."
    }
    $result
}

function Start-LocalChunkProducer {
    <#
    Starts making and exporting this node's keys of the transaction on a runspace of its own, a chunk at
    a time. Each chunk's blocks (or the error that stopped it) are queued for Receive-LocalChunk. The key
    store is the process's, so the runspace needs only the two commands, not the whole module.
    #>
    param([string]$TransactionId, [hashtable]$Create, [string]$TokenLabel)
    $state = [System.Management.Automation.Runspaces.InitialSessionState]::CreateDefault2()
    foreach ($command in [QKDLite.Commands.NewQuantumKeyCommand], [QKDLite.Commands.ExportQuantumKeyCommand]) {
        $name = $command.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
        $state.Commands.Add([System.Management.Automation.Runspaces.SessionStateCmdletEntry]::new("$($name.VerbName)-$($name.NounName)", $command, $null))
    }
    $queue = [System.Collections.Concurrent.BlockingCollection[object]]::new()
    $common = @{ TransactionId = $TransactionId; ErrorAction = 'Stop'; Confirm = $false; WhatIf = $false }
    $export = @{ TransactionId = $TransactionId; ErrorAction = 'Stop' }
    if ($TokenLabel) { $common.TokenLabel = $TokenLabel; $export.TokenLabel = $TokenLabel }
    $shell = [powershell]::Create($state)
    $null = $shell.AddScript({
            param($Create, $Common, $Export, $ChunkSize, $Queue)
            $ErrorActionPreference = 'Stop'
            try {
                $labels = @($Create.Label)
                $chunkCreate = $Create.Clone()
                for ($start = 0; $start -lt $labels.Count; $start += $ChunkSize) {
                    $chunkCreate.Label = @($labels[$start..([Math]::Min($start + $ChunkSize, $labels.Count) - 1)])
                    $texts = @(New-QuantumKey @Common @chunkCreate | Export-QuantumKey @Export | ForEach-Object { $_.Text })
                    if ($texts.Count -ne $chunkCreate.Label.Count) { throw "This node prepared $($texts.Count) of $($chunkCreate.Label.Count) keys of transaction $($Common.TransactionId)." }
                    $Queue.Add([pscustomobject]@{ Blocks = [string[]]$texts; Error = $null })
                }
            }
            catch { $Queue.Add([pscustomobject]@{ Blocks = $null; Error = $_ }) }
            finally { $Queue.CompleteAdding() }
        }).AddParameters(@{ Create = $Create; Common = $common; Export = $export; ChunkSize = $script:StreamedPrepareChunkSize; Queue = $queue })
    [pscustomobject]@{ Shell = $shell; Queue = $queue; Run = $shell.BeginInvoke() }
}

function Receive-LocalChunk {
    <# The next chunk made by the producer, or $null when it has made them all. #>
    param([Parameter(Mandatory)]$Producer)
    $chunk = $null
    # Short waits rather than one blocking take, so that Ctrl+C still stops the command.
    while (-not $Producer.Queue.TryTake([ref]$chunk, 200)) {
        if ($Producer.Queue.IsCompleted) { return $null }
    }
    $chunk
}

function Stop-LocalChunkProducer {
    <# Waits for (or stops) the producer, so no key of the transaction is still being made when this returns. #>
    param([Parameter(Mandatory)]$Producer)
    if (-not $Producer.Run.IsCompleted) { $Producer.Shell.Stop() }
    $Producer.Shell.Dispose()
    $Producer.Queue.Dispose()
}
