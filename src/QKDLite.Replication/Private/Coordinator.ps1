# The coordinator of two-phase replication on the main node. The journal (QKDLite.Core's
# ReplicationJournal, SQLite in the node's data directory) is written before every step: the
# transaction with its labels and nodes before anything is prepared, each node's confirmed phase,
# and the decision before any node hears it. Commit only when every node prepared; anything else
# aborts. Resume-QuantumKeyReplication finishes from the journal what a crash interrupted.

# Named steps where a test can stop the coordinator dead (QKDLITE_TEST_CRASH_AT=<step>), or cut its
# SSH connections there (QKDLITE_TEST_CUT_AT=<step>): 'Begun', 'Prepared:<node>', 'Decided',
# 'Finished:<node>' (<node> is 'local', a remote site's name, or user@host:port of a single node).
function Invoke-ReplicationCrashPoint {
    param([Parameter(Mandatory)][string]$Step)
    if ($env:QKDLITE_TEST_CUT_AT -and $env:QKDLITE_TEST_CUT_AT -ceq $Step) {
        # As a network failure would: the ssh clients carrying this process's sessions die, and the
        # next message on each session finds it broken.
        foreach ($ssh in @(Get-Process -Name ssh -ErrorAction Ignore | Where-Object { $_.Parent -and $_.Parent.Id -eq $PID })) {
            $ssh.Kill()
            $null = $ssh.WaitForExit(5000)
        }
    }
    if ($env:QKDLITE_TEST_CRASH_AT -and $env:QKDLITE_TEST_CRASH_AT -ceq $Step) {
        # SIGKILL on Unix: no finally block runs, as after a power cut.
        [System.Diagnostics.Process]::GetCurrentProcess().Kill()
        Start-Sleep -Seconds 60
    }
}

function ConvertTo-ReplicationErrorRecord {
    # QKDLite's own errors keep their stable id and category; anything else is wrapped.
    param([Parameter(Mandatory)][System.Management.Automation.ErrorRecord]$ErrorRecord)
    $exception = $ErrorRecord.Exception
    while ($exception -is [System.Management.Automation.MethodInvocationException] -and $exception.InnerException) { $exception = $exception.InnerException }
    if ($exception -is [QKDLite.Core.Errors.QKDLiteException]) {
        return [System.Management.Automation.ErrorRecord]::new($exception, $exception.ErrorId,
            [System.Management.Automation.ErrorCategory]$exception.Category.ToString(), $exception.Target)
    }
    $ErrorRecord
}

function Open-ReplicationJournal {
    $path = [QKDLite.Core.Replication.ReplicationJournal]::DefaultPath([QKDLite.Core.Configuration.QKDLitePaths]::DataDirectory)
    [QKDLite.Core.Replication.ReplicationJournal]::Open($path)
}

function Test-SessionBroken {
    # True when a remote call failed because the channel went away (the node or its sshd died, the
    # connection was cut), not because the node answered with an error.
    param($Session, [System.Management.Automation.ErrorRecord]$ErrorRecord)
    if ($Session -and $Session.State -ne 'Opened') { return $true }
    $exception = $ErrorRecord.Exception
    while ($exception) {
        if ($exception -is [System.Management.Automation.Remoting.PSRemotingTransportException] -or
            $exception -is [System.Management.Automation.Remoting.PSRemotingDataStructureException]) { return $true }
        $exception = $exception.InnerException
    }
    $false
}

function Invoke-RemoteStep {
    <#
    Runs one step on a remote site: on its current node, else on the next healthy one (a node whose
    session cannot be opened, or breaks during the call, is passed over; a broken session is reopened
    once first). Every step is idempotent on the node, so repeating it after a lost reply is safe.
    An answer from a node (an error included) ends the search; when no node answers, the last
    connection error is thrown.
    #>
    param([Parameter(Mandatory)]$Site, [Parameter(Mandatory)][hashtable]$Arguments)
    if (Test-RelayedSite $Site) { return Invoke-RelayedRemoteStep -Site $Site -Arguments $Arguments }
    $count = $Site.Nodes.Count
    $lastError = $null
    for ($i = 0; $i -lt $count; $i++) {
        $index = ($Site.Current + $i) % $count
        $member = $Site.Nodes[$index]
        for ($attempt = 1; $attempt -le 2; $attempt++) {
            try { Open-NodeSession -Member $member }
            catch {
                $lastError = $_
                Write-Verbose "Remote $($Site.Name): node $($member.Name) is not available ($(Get-ErrorSummary $_))."
                break
            }
            $call = $Arguments.Clone()
            if ($Arguments.Kme) { $call.Kme = $Arguments.Kme.Clone(); $call.Kme.Name = $member.Kme }
            try {
                $output = Invoke-Command -Session $member.Session -ErrorAction Stop -ArgumentList $member.ModulePath, $call -ScriptBlock {
                    param($ModulePath, $Arguments)
                    $ErrorActionPreference = 'Stop'
                    if (-not (Get-Module -Name QKDLite)) { Import-Module -Name $ModulePath -ErrorAction Stop }
                    if ($Arguments.Route) {
                        # This node relays the step to the next site of a chain (ReplicationRelay.ps1),
                        # an internal part of replication that the module does not export.
                        $replication = (Get-Module -Name QKDLite).NestedModules | Where-Object Name -EQ 'QKDLite.Replication'
                        return & $replication { param($Relayed) Invoke-RelayedStep -Arguments $Relayed } $Arguments
                    }
                    $common = @{ TransactionId = $Arguments.TransactionId; ErrorAction = 'Stop'; Confirm = $false }
                    switch ($Arguments.Step) {
                        'Prepare' {
                            switch ($Arguments.Operation) {
                                'Delete' { Submit-QuantumKeyTransaction @common -DeleteLabel $Arguments.Items }
                                'CreateFromKme' {
                                    $kme = $Arguments.Kme
                                    New-QuantumKey @common -KeyId $kme.KeyId -Size $kme.Size -Source Kme -Kme $kme.Name -MasterSaeId $kme.MasterSaeId -Label $Arguments.Items
                                }
                                default { Submit-QuantumKeyTransaction @common -KeyBlock $Arguments.Items }
                            }
                        }
                        'Commit' { Complete-QuantumKeyTransaction @common }
                        'Abort' { Undo-QuantumKeyTransaction @common }
                    }
                }
                $Site.Current = $index
                return $output
            }
            catch {
                if (-not (Test-SessionBroken -Session $member.Session -ErrorRecord $_)) { throw }
                $lastError = $_
                Write-Verbose "Remote $($Site.Name): the session to node $($member.Name) broke ($(Get-ErrorSummary $_))."
            }
        }
    }
    throw $lastError
}

function Invoke-ParticipantStep {
    <# Runs Prepare, Commit or Abort of a transaction on one participant: this node through the cmdlets, a remote site through a session. #>
    param(
        [Parameter(Mandatory)]$Participant,
        [Parameter(Mandatory)][ValidateSet('Prepare', 'Commit', 'Abort')][string]$Step,
        [Parameter(Mandatory)][string]$TransactionId,
        [string]$Operation,
        [string[]]$Items,
        [string]$TokenLabel,
        # For Create on this node: the parameters of New-QuantumKey (KeyId, Label, Size, Source, Qrng or Kme and SlaveSaeId).
        [hashtable]$Create,
        # For a create of QKD keys on a remote: KeyId, Size and MasterSaeId (the site's KME name is added here).
        [hashtable]$RemoteKme,
        # For a create of QKD keys: their key blocks, for the sites reached through another site.
        [string[]]$Blocks
    )
    if ($Participant.Name -ceq [QKDLite.Core.Replication.ReplicationJournal]::LocalNode) {
        $common = @{ TransactionId = $TransactionId; ErrorAction = 'Stop'; Confirm = $false; WhatIf = $false }
        if ($TokenLabel) { $common.TokenLabel = $TokenLabel }
        switch ($Step) {
            'Prepare' {
                if ($Operation -eq 'Create') { QKDLite\New-QuantumKey @common @Create }
                elseif ($Operation -eq 'Delete') { QKDLite\Submit-QuantumKeyTransaction @common -DeleteLabel $Items }
                else { QKDLite\Submit-QuantumKeyTransaction @common -KeyBlock $Items }
            }
            'Commit' { QKDLite\Complete-QuantumKeyTransaction @common }
            'Abort' { QKDLite\Undo-QuantumKeyTransaction @common }
        }
        return
    }
    # Other nodes import what this node created: Classical and QRNG keys travel as key blocks under
    # the transport key; QKD keys travel as key_IDs, and each site takes them from its own KME. A site
    # reached through another is not on this node's QKD link (its KME, if any, knows none of these
    # key_IDs): it gets the QKD keys as key blocks too.
    if ($Operation -eq 'Create' -and $RemoteKme -and (Test-RelayedSite $Participant)) { $RemoteKme = $null; $Items = $Blocks }
    $remoteOperation = if ($Operation -ne 'Create') { $Operation } elseif ($RemoteKme) { 'CreateFromKme' } else { 'Import' }
    Invoke-RemoteStep -Site $Participant -Arguments @{ Step = $Step; TransactionId = $TransactionId; Operation = $remoteOperation; Items = @($Items); Kme = $RemoteKme }
}

function Get-ErrorSummary {
    param([Parameter(Mandatory)][System.Management.Automation.ErrorRecord]$ErrorRecord)
    "$($ErrorRecord.FullyQualifiedErrorId -replace ',.*$', ''): $($ErrorRecord.Exception.Message)"
}

function Complete-ReplicationEntry {
    <#
    Carries the journalled decision out on every node that has not confirmed it, journalling each
    confirmation; marks the transaction finished when all have. A node that cannot be reached keeps
    its phase and error, for a later Resume-QuantumKeyReplication.
    #>
    param(
        [Parameter(Mandatory)]$Journal,
        [Parameter(Mandatory)][QKDLite.Core.Replication.JournalEntry]$Entry,
        [Parameter(Mandatory)][object[]]$Participants,
        [string]$TokenLabel
    )
    $decision = $Entry.Decision
    $step = if ($decision -eq [QKDLite.Core.Replication.TransactionPhase]::Committed) { 'Commit' } else { 'Abort' }
    $done = 0
    foreach ($state in $Entry.Participants) {
        Write-ReplicationProgress -Entry $Entry -Activity "$step on node $($state.Node)" -Done ($done++) -Total $Entry.Participants.Count
        if ($state.Phase -eq $decision) { continue }
        $participant = $Participants | Where-Object Name -CEQ $state.Node | Select-Object -First 1
        if (-not $participant) {
            Write-Warning "Transaction $($Entry.TransactionId): node $($state.Node) was not given; it still has to be told '$decision'."
            continue
        }
        try {
            $null = Invoke-ParticipantStep -Participant $participant -Step $step -TransactionId $Entry.TransactionId -TokenLabel $TokenLabel
            $null = $Journal.SetPhase($Entry.TransactionId, $state.Node, $decision, [NullString]::Value)
        }
        catch {
            $summary = Get-ErrorSummary $_
            $null = $Journal.SetPhase($Entry.TransactionId, $state.Node, $state.Phase, $summary)
            Write-Warning "Transaction $($Entry.TransactionId) is $decision, but node $($state.Node) could not carry it out yet ($summary). Run Resume-QuantumKeyReplication later."
            continue
        }
        Invoke-ReplicationCrashPoint "Finished:$($state.Node)"
    }
    Write-Progress -Id 7 -Activity 'Replication' -Completed
    $current = $Journal.Get($Entry.TransactionId)
    if ($current.All($decision)) { $current = $Journal.Finish($Entry.TransactionId) }
    $current
}

function Write-ReplicationProgress {
    param([Parameter(Mandatory)]$Entry, [Parameter(Mandatory)][string]$Activity, [int]$Done, [int]$Total)
    $percent = if ($Total -gt 0) { [int](100 * $Done / $Total) } else { 0 }
    Write-Progress -Id 7 -Activity "Replication $($Entry.TransactionId): $($Entry.Operation) of $(@($Entry.Labels).Count) key(s)" -Status $Activity -PercentComplete $percent
}

function ConvertTo-ReplicationResult {
    param([Parameter(Mandatory)][QKDLite.Core.Replication.JournalEntry]$Entry)
    # State in one word: Committed or Aborted once every node carried the decision out; Committing or
    # Aborting while some node has still to hear it; Undecided before the decision.
    $state = if ($null -eq $Entry.Decision) { 'Undecided' }
    elseif ($Entry.Finished) { [string]$Entry.Decision }
    elseif ($Entry.Decision -eq [QKDLite.Core.Replication.TransactionPhase]::Committed) { 'Committing' }
    else { 'Aborting' }
    [pscustomobject]@{
        PSTypeName    = 'QKDLite.ReplicationResult'
        TransactionId = $Entry.TransactionId
        Operation     = $Entry.Operation
        State         = $state
        Decision      = $Entry.Decision
        Finished      = $Entry.Finished
        KeyId         = $Entry.KeyId
        Labels        = @($Entry.Labels)
        Remotes       = @($Entry.Participants | Where-Object Node -CNE ([QKDLite.Core.Replication.ReplicationJournal]::LocalNode) | ForEach-Object { $_.Node })
        Nodes         = @($Entry.Participants | ForEach-Object { [pscustomobject]@{ Node = $_.Node; Phase = $_.Phase; Error = $_.Error } })
    }
}

function Invoke-ReplicationTransaction {
    <# One replicated operation, both phases, on this node and every remote site. Returns the ReplicationResult. #>
    param(
        [Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet,
        [Parameter(Mandatory)][ValidateSet('Create', 'Import', 'Delete')][string]$Operation,
        [string]$KeyId,
        # Empty only for a create of QKD keys: their labels are the key_IDs the KME gives.
        [Parameter(Mandatory)][AllowEmptyCollection()][string[]]$Labels,
        # Key blocks (Import) or labels (Delete); for Create, the blocks of the keys this node prepares.
        [string[]]$Items = @(),
        # The remote sites, from Resolve-ReplicationTarget.
        [Parameter(Mandatory)][AllowEmptyCollection()][object[]]$Remotes,
        [string]$TokenLabel,
        [hashtable]$Create,
        # For a create of QKD keys: KeyId, Size and MasterSaeId for the remotes' slave fetch.
        [hashtable]$RemoteKme
    )
    $storeParameters = @{ ErrorAction = 'Stop' }
    if ($TokenLabel) { $storeParameters.TokenLabel = $TokenLabel }
    $local = [pscustomobject]@{ Name = [QKDLite.Core.Replication.ReplicationJournal]::LocalNode }
    $participants = @($local) + @($Remotes)
    $id = [QKDLite.Core.Replication.TransactionIds]::NewId()
    $journal = $null
    try {
        try {
            $token = (QKDLite\Get-KeyStore @storeParameters).TokenLabel
            $journal = Open-ReplicationJournal
            # [NullString]: PowerShell would pass an empty string for $null to a .NET string parameter.
            $keyIdOrNull = if ($KeyId) { $KeyId } else { [NullString]::Value }
            $entry = $journal.Begin($id, $Operation, $token, $keyIdOrNull, [string[]]$Labels, [string[]]@($participants.Name))
        }
        catch { $Cmdlet.ThrowTerminatingError((ConvertTo-ReplicationErrorRecord $_)) }
        Write-Verbose "Transaction ${id}: $Operation of $($Labels.Count) key(s) on $($participants.Count) node(s) journalled."
        Invoke-ReplicationCrashPoint 'Begun'

        $failure = $null
        # Key blocks of QKD keys, exported only for sites reached through another site.
        $blocks = $null
        $done = 0
        # Keys that travel as blocks are made here and prepared at the first remote site side by side.
        $streamed = $null
        # (Not to a site reached through another: its steps go through its relay.)
        if ($Operation -eq 'Create' -and -not $RemoteKme -and @($Remotes).Count -gt 0 -and -not (Test-RelayedSite $Remotes[0])) {
            Write-ReplicationProgress -Entry $entry -Activity "Prepare on node $($local.Name) and $($Remotes[0].Name)" -Done 0 -Total $participants.Count
            $streamed = Invoke-StreamedCreatePrepare -Site $Remotes[0] -TransactionId $id -Create $Create -TokenLabel $TokenLabel
            if ($streamed.RemoteError -and -not $streamed.RemoteBroken -and -not $streamed.LocalError) {
                # The site answered: it cannot prepare. (A broken channel is retried by the ordinary step below.)
                $failure = [pscustomobject]@{ Node = $Remotes[0].Name; Record = (ConvertTo-ReplicationErrorRecord $streamed.RemoteError) }
                $null = $journal.SetPhase($id, $Remotes[0].Name, [QKDLite.Core.Replication.TransactionPhase]::Started, (Get-ErrorSummary $streamed.RemoteError))
            }
        }
        foreach ($participant in $participants) {
            if ($failure) { break }
            Write-ReplicationProgress -Entry $entry -Activity "Prepare on node $($participant.Name)" -Done ($done++) -Total $participants.Count
            try {
                if ($streamed -and $participant -eq $local -and $streamed.LocalError) { throw $streamed.LocalError }
                if ($streamed -and $participant -eq $local -and $streamed.LocalDone) {
                    $Items = $streamed.Blocks
                    if ($Items.Count -ne $Labels.Count) { throw "This node prepared $($Items.Count) of $($Labels.Count) keys of transaction $id." }
                }
                $preparedAlready = $streamed -and (($participant -eq $local -and $streamed.LocalDone) -or ($participant -eq $Remotes[0] -and $streamed.RemoteDone))
                if (-not $preparedAlready) {
                    $prepared = Invoke-ParticipantStep -Participant $participant -Step Prepare -TransactionId $id -Operation $Operation -Items $Items -TokenLabel $TokenLabel -Create $Create -RemoteKme $RemoteKme -Blocks $blocks
                    if ($Operation -eq 'Create' -and $participant -eq $local) {
                        $export = @{ TransactionId = $id; ErrorAction = 'Stop' }
                        if ($TokenLabel) { $export.TokenLabel = $TokenLabel }
                        if ($RemoteKme) {
                            # The KME named the keys: journal their key_IDs before any other node hears them.
                            $Items = @($prepared | ForEach-Object { $_.Label })
                            $entry = $journal.AddLabels($id, [string[]]$Items)
                            $RemoteKme.Size = @($prepared)[0].SizeBits
                            if (@($Remotes | Where-Object { Test-RelayedSite $_ }).Count) { $blocks = @(QKDLite\Export-QuantumKey @export | ForEach-Object { $_.Text }) }
                        }
                        else { $Items = @(QKDLite\Export-QuantumKey @export | ForEach-Object { $_.Text }) }
                        $expected = if ($RemoteKme) { $Create['Count'] } else { $Labels.Count }
                        if ($Items.Count -ne $expected) { throw "This node prepared $($Items.Count) of $expected keys of transaction $id." }
                        if ($null -ne $blocks -and $blocks.Count -ne $expected) { throw "This node exported $($blocks.Count) of $expected keys of transaction $id." }
                    }
                }
            }
            catch {
                $failure = [pscustomobject]@{ Node = $participant.Name; Record = (ConvertTo-ReplicationErrorRecord $_) }
                $null = $journal.SetPhase($id, $participant.Name, [QKDLite.Core.Replication.TransactionPhase]::Started, (Get-ErrorSummary $_))
                break
            }
            $null = $journal.SetPhase($id, $participant.Name, [QKDLite.Core.Replication.TransactionPhase]::Prepared, [NullString]::Value)
            Invoke-ReplicationCrashPoint "Prepared:$($participant.Name)"
        }

        $decision = if ($failure) { [QKDLite.Core.Replication.TransactionPhase]::Aborted } else { [QKDLite.Core.Replication.TransactionPhase]::Committed }
        $entry = $journal.Decide($id, $decision)
        Write-Verbose "Transaction ${id}: decided $decision."
        Invoke-ReplicationCrashPoint 'Decided'
        $entry = Complete-ReplicationEntry -Journal $journal -Entry $entry -Participants $participants -TokenLabel $TokenLabel
        if ($failure) {
            $message = "Replication transaction $id was aborted on every node: node $($failure.Node) could not prepare it ($($failure.Record.Exception.Message)). Nothing of it is visible anywhere."
            $record = New-ReplicationError -ErrorId 'ReplicationAborted' -Category $failure.Record.CategoryInfo.Category -Message $message -Target $id -InnerException $failure.Record.Exception
            $Cmdlet.ThrowTerminatingError($record)
        }
        ConvertTo-ReplicationResult $entry
    }
    finally {
        Write-Progress -Id 7 -Activity 'Replication' -Completed
        Close-ReplicationSites -Participants $participants
        if ($journal) { $journal.Dispose() }
    }
}
