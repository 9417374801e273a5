# The parts of one maintenance run: its lock, the remote counts, the result objects and how a failure
# is classed (KeyManagement on this node, Replication for other nodes and the channel).

function Enter-MaintenanceLock {
    <# An exclusive lock file in the data directory, held for the run, so scheduled and manual runs never overlap. #>
    param([Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet)
    $directory = Join-Path ([QKDLite.Core.Configuration.QKDLitePaths]::DataDirectory) 'replication'
    $path = Join-Path $directory 'maintenance.lock'
    try {
        $null = New-Item -ItemType Directory -Force -Path $directory -ErrorAction Stop -WhatIf:$false
        [System.IO.FileStream]::new($path, [System.IO.FileMode]::OpenOrCreate, [System.IO.FileAccess]::ReadWrite, [System.IO.FileShare]::None)
    }
    catch {
        $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'MaintenanceAlreadyRunning' -Category ResourceBusy -Target $path `
                    -Message "Another key maintenance run holds '$path'; this run did nothing. ($($_.Exception.Message))" -InnerException $_.Exception))
    }
}

function Complete-MaintenanceOpenTransaction {
    <#
    Carries out the decision of every replication transaction that is decided but not finished (a run
    that crashed, or a node that was unreachable), as Resume-QuantumKeyReplication does, before keys
    are counted: a create committed on this node but not yet on a site would count as a divergence.
    Undecided transactions are left alone: their keys are invisible (and uncounted) on every node, and
    one may belong to a replicated operation running right now, which an abort would break; a
    Resume-QuantumKeyReplication run by the operator finishes them. Returns the decided transactions
    that stay unfinished (a node still unreachable; a warning names it).
    #>
    param(
        [Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet,
        [Parameter(Mandatory)][AllowEmptyCollection()][object[]]$Sites,
        [Parameter(Mandatory)][string]$DefaultTokenLabel
    )
    $participants = @([pscustomobject]@{ Name = [QKDLite.Core.Replication.ReplicationJournal]::LocalNode }) + @($Sites)
    $journal = Open-ReplicationJournal
    try {
        foreach ($entry in @($journal.Unfinished() | Where-Object { $null -ne $_.Decision })) {
            $action = if ($entry.Decision -eq [QKDLite.Core.Replication.TransactionPhase]::Committed) { 'Commit' } else { 'Abort' }
            if (-not $Cmdlet.ShouldProcess("transaction $($entry.TransactionId) ($($entry.Operation) of $($entry.Labels.Count) key(s))", "Finish ($action)")) { continue }
            Write-Verbose "Transaction $($entry.TransactionId) ($($entry.Operation), keyID $($entry.KeyId)) is $($entry.Decision) but not finished: carrying it out before counting."
            # This node's store by its label only when it is not the default one (a fresh process connects the default).
            $token = if ($entry.TokenLabel -ceq $DefaultTokenLabel) { $null } else { $entry.TokenLabel }
            $entry = Complete-ReplicationEntry -Journal $journal -Entry $entry -Participants $participants -TokenLabel $token
            if (-not $entry.Finished) { $entry }
        }
    }
    finally { $journal.Dispose() }
}

function Get-MaintenanceSiteNode {
    <#
    The site as -Node of New-ReplicatedQuantumKey: its nodes starting with the one that answered the
    count (with its open session, so one session serves every keyID), then the others in their order,
    so the create fails over as the count did. A site reached Via another keeps it, as the relay
    site in the same form, so the create takes the count's way and sessions.
    #>
    param([Parameter(Mandatory)]$Site)
    $count = $Site.Nodes.Count
    $nodes = for ($i = 0; $i -lt $count; $i++) {
        $member = $Site.Nodes[($Site.Current + $i) % $count]
        $node = $member.Connection.Clone()
        $node.ModulePath = $member.ModulePath
        if ($member.Kme) { $node.Kme = $member.Kme }
        if ($member.Session -and $member.Session.State -eq 'Opened') { $node.Session = $member.Session }
        $node
    }
    $node = @{ Name = $Site.Name; Nodes = @($nodes) }
    if (Test-RelayedSite $Site) { $node.Via = Get-MaintenanceSiteNode -Site $Site.Via }
    $node
}

function Get-MaintenanceRemoteCount {
    <# Counts the site's active keys of -KeyId on its first healthy node; returns a keyID => count hashtable. #>
    param([Parameter(Mandatory)]$Site, [Parameter(Mandatory)][string[]]$KeyId)
    $counts = Invoke-SiteCommand -Site $Site -ArgumentList (, $KeyId) -ScriptBlock {
        param([string[]]$KeyId)
        $ErrorActionPreference = 'Stop'
        Get-KeyCount -KeyId $KeyId | ForEach-Object { [pscustomobject]@{ KeyId = $_.KeyId; Count = $_.Count } }
    }
    $table = @{}
    foreach ($count in @($counts)) { $table[[string]$count.KeyId] = [int]$count.Count }
    $table
}

function New-MaintenanceResult {
    param([Parameter(Mandatory)]$Entry, [Parameter(Mandatory)][int]$Before)
    [pscustomobject]@{
        PSTypeName    = 'QKDLite.MaintenanceResult'
        KeyId         = $Entry.KeyId
        Minimum       = $Entry.Minimum
        Before        = $Before
        Created       = 0
        After         = $Before
        Remotes       = @()
        TransactionId = $null
        Labels        = @()
        Outcome       = 'Failed'
        Failure       = 'None'
        ErrorId       = $null
        Error         = $null
    }
}

function Get-MaintenanceFailureKind {
    <#
    KeyManagement when this node failed (its key store or key source), Replication when another node
    or the channel did. This node's cmdlets raise QKDLite's own exceptions; another node's errors
    arrive through remoting as RemoteException, and channel errors as the replication functions' own.
    An aborted transaction carries the error of the node that could not prepare as its inner exception.
    #>
    param([Parameter(Mandatory)][System.Management.Automation.ErrorRecord]$Record)
    $exception = $Record.Exception
    if (($Record.FullyQualifiedErrorId -replace ',.*$', '') -eq 'ReplicationAborted' -and $exception.InnerException) { $exception = $exception.InnerException }
    if ($exception -is [QKDLite.Core.Errors.QKDLiteException]) { return 'KeyManagement' }
    'Replication'
}

function Complete-MaintenanceFailure {
    <# Records a keyID's failure in its result and writes it as a non-terminating error. #>
    param(
        [Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet,
        [Parameter(Mandatory)]$Result,
        [Parameter(Mandatory)][ValidateSet('KeyManagement', 'Replication')][string]$Failure,
        [Parameter(Mandatory)][System.Management.Automation.ErrorRecord]$Record
    )
    if ($Result.Outcome -notin 'Diverged', 'Unfinished') { $Result.Outcome = 'Failed' }
    $Result.Failure = $Failure
    $Result.ErrorId = $Record.FullyQualifiedErrorId -replace ',.*$', ''
    $Result.Error = $Record.Exception.Message
    $Cmdlet.WriteError($Record)
}
