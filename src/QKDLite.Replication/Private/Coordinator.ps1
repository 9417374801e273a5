# The coordinator of two-phase replication on the main node. The journal (QKDLite.Core's
# ReplicationJournal, SQLite in the node's data directory) is written before every step: the
# transaction with its labels and nodes before anything is prepared, each node's confirmed phase,
# and the decision before any node hears it. Commit only when every node prepared; anything else
# aborts. Resume-QuantumKeyReplication finishes from the journal what a crash interrupted.

# Named steps where a test can stop the coordinator dead (QKDLITE_TEST_CRASH_AT=<step>):
# 'Begun', 'Prepared:<node>', 'Decided', 'Finished:<node>' (<node> is 'local' or user@host:port).
function Invoke-ReplicationCrashPoint {
    param([Parameter(Mandatory)][string]$Step)
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

function ConvertTo-ReplicationNode {
    <#
    Normalises -Node input: hashtables or objects with HostName, Port, UserName, KeyFilePath,
    KnownHostsFile, ModulePath, and optionally an open Session (from New-ReplicationSession) to reuse;
    a reused session is left open, one opened here is closed after the operation.
    #>
    param([Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet, [object[]]$Node)
    $names = @{}
    foreach ($item in @($Node)) {
        $values = @{}
        foreach ($property in 'HostName', 'Port', 'UserName', 'KeyFilePath', 'KnownHostsFile', 'ModulePath', 'ConnectTimeoutSeconds', 'Session') {
            $value = if ($item -is [System.Collections.IDictionary]) { $item[$property] } elseif ($item.PSObject.Properties[$property]) { $item.$property } else { $null }
            if ($null -ne $value -and "$value" -ne '') { $values[$property] = $value }
        }
        if (-not $values.ContainsKey('HostName')) {
            $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'ReplicationNodeInvalid' -Category InvalidArgument `
                        -Message "A node has no HostName. Give each node as a hashtable or object with HostName (and optionally Port, UserName, KeyFilePath, KnownHostsFile, ModulePath)." -Target $item))
        }
        if (-not $values.ContainsKey('Port')) { $values.Port = 22 }
        $name = Get-NodeName -HostName $values.HostName -Port ([int]$values.Port) -UserName $values['UserName']
        if ($names.ContainsKey($name)) {
            $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'ReplicationNodeInvalid' -Category InvalidArgument -Message "Node $name is given twice." -Target $name))
        }
        $names[$name] = $true
        $module = if ($values.ContainsKey('ModulePath')) { [string]$values.ModulePath } else { 'QKDLite' }
        $connection = @{}
        foreach ($key in 'HostName', 'Port', 'UserName', 'KeyFilePath', 'KnownHostsFile', 'ConnectTimeoutSeconds') {
            if ($values.ContainsKey($key)) { $connection[$key] = $values[$key] }
        }
        $session = $null
        if ($values.ContainsKey('Session')) {
            $session = $values.Session
            if ($session -isnot [System.Management.Automation.Runspaces.PSSession] -or $session.State -ne 'Opened') {
                $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'ReplicationNodeInvalid' -Category InvalidArgument -Message "The Session given for node $name is not an open PSSession." -Target $name))
            }
        }
        [pscustomobject]@{ Name = $name; Connection = $connection; ModulePath = $module; Session = $session; OwnsSession = $null -eq $session }
    }
}

function Invoke-ParticipantStep {
    <# Runs Prepare, Commit or Abort of a transaction on one node: this one through the cmdlets, another through its session. #>
    param(
        [Parameter(Mandatory)]$Participant,
        [Parameter(Mandatory)][ValidateSet('Prepare', 'Commit', 'Abort')][string]$Step,
        [Parameter(Mandatory)][string]$TransactionId,
        [string]$Operation,
        [string[]]$Items,
        [string]$TokenLabel,
        # For Create on this node: the parameters of New-QuantumKey (KeyId, Label, Size, Source, Qrng).
        [hashtable]$Create
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
    if (-not $Participant.Session) {
        $connection = $Participant.Connection
        $Participant.Session = New-ReplicationSession @connection -ErrorAction Stop
    }
    # Other nodes import what this node created: the keys travel as key blocks under the transport key.
    $remoteOperation = if ($Operation -eq 'Create') { 'Import' } else { $Operation }
    Invoke-Command -Session $Participant.Session -ErrorAction Stop -ArgumentList $Participant.ModulePath, $Step, $TransactionId, $remoteOperation, @($Items) -ScriptBlock {
        param($ModulePath, $Step, $TransactionId, $Operation, $Items)
        $ErrorActionPreference = 'Stop'
        Import-Module -Name $ModulePath -ErrorAction Stop
        $common = @{ TransactionId = $TransactionId; ErrorAction = 'Stop'; Confirm = $false }
        switch ($Step) {
            'Prepare' {
                if ($Operation -eq 'Delete') { Submit-QuantumKeyTransaction @common -DeleteLabel $Items }
                else { Submit-QuantumKeyTransaction @common -KeyBlock $Items }
            }
            'Commit' { Complete-QuantumKeyTransaction @common }
            'Abort' { Undo-QuantumKeyTransaction @common }
        }
    }
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
    foreach ($state in $Entry.Participants) {
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
    $current = $Journal.Get($Entry.TransactionId)
    if ($current.All($decision)) { $current = $Journal.Finish($Entry.TransactionId) }
    $current
}

function ConvertTo-ReplicationResult {
    param([Parameter(Mandatory)][QKDLite.Core.Replication.JournalEntry]$Entry)
    [pscustomobject]@{
        PSTypeName    = 'QKDLite.ReplicationResult'
        TransactionId = $Entry.TransactionId
        Operation     = $Entry.Operation
        Decision      = $Entry.Decision
        Finished      = $Entry.Finished
        KeyId         = $Entry.KeyId
        Labels        = @($Entry.Labels)
        Nodes         = @($Entry.Participants | ForEach-Object { [pscustomobject]@{ Node = $_.Node; Phase = $_.Phase; Error = $_.Error } })
    }
}

function Invoke-ReplicationTransaction {
    <# One replicated operation, both phases, on this node and every other node. Returns the ReplicationResult. #>
    param(
        [Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet,
        [Parameter(Mandatory)][ValidateSet('Create', 'Import', 'Delete')][string]$Operation,
        [string]$KeyId,
        [Parameter(Mandatory)][string[]]$Labels,
        # Key blocks (Import) or labels (Delete); for Create, the blocks of the keys this node prepares.
        [string[]]$Items = @(),
        [Parameter(Mandatory)][object[]]$Node,
        [string]$TokenLabel,
        [hashtable]$Create
    )
    $remotes = @(ConvertTo-ReplicationNode -Cmdlet $Cmdlet -Node $Node)
    $storeParameters = @{ ErrorAction = 'Stop' }
    if ($TokenLabel) { $storeParameters.TokenLabel = $TokenLabel }
    $token = (QKDLite\Get-KeyStore @storeParameters).TokenLabel
    $local = [pscustomobject]@{ Name = [QKDLite.Core.Replication.ReplicationJournal]::LocalNode; Connection = $null; ModulePath = $null; Session = $null; OwnsSession = $false }
    $participants = @($local) + $remotes
    $id = [QKDLite.Core.Replication.TransactionIds]::NewId()
    $journal = $null
    try {
        try {
            $journal = Open-ReplicationJournal
            # [NullString]: PowerShell would pass an empty string for $null to a .NET string parameter.
            $keyIdOrNull = if ($KeyId) { $KeyId } else { [NullString]::Value }
            $null = $journal.Begin($id, $Operation, $token, $keyIdOrNull, [string[]]$Labels, [string[]]@($participants.Name))
        }
        catch { $Cmdlet.ThrowTerminatingError((ConvertTo-ReplicationErrorRecord $_)) }
        Write-Verbose "Transaction ${id}: $Operation of $($Labels.Count) key(s) on $($participants.Count) node(s) journalled."
        Invoke-ReplicationCrashPoint 'Begun'

        $failure = $null
        foreach ($participant in $participants) {
            try {
                $null = Invoke-ParticipantStep -Participant $participant -Step Prepare -TransactionId $id -Operation $Operation -Items $Items -TokenLabel $TokenLabel -Create $Create
                if ($Operation -eq 'Create' -and $participant -eq $local) {
                    $export = @{ TransactionId = $id; ErrorAction = 'Stop' }
                    if ($TokenLabel) { $export.TokenLabel = $TokenLabel }
                    $Items = @(QKDLite\Export-QuantumKey @export | ForEach-Object Text)
                    if ($Items.Count -ne $Labels.Count) { throw "This node prepared $($Items.Count) of $($Labels.Count) keys of transaction $id." }
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
        foreach ($participant in $participants) { if ($participant.Session -and $participant.OwnsSession) { Remove-PSSession -Session $participant.Session } }
        if ($journal) { $journal.Dispose() }
    }
}
