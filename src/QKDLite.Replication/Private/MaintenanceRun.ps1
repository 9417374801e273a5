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

function Get-MaintenanceSiteNode {
    <# The site's -Node hashtable, with its open session once there is one (so one session serves every keyID). #>
    param([Parameter(Mandatory)]$Site)
    $node = $Site.Node.Clone()
    if ($Site.Session) { $node.Session = $Site.Session }
    $node
}

function Get-MaintenanceRemoteCount {
    <# Opens the site's session and counts its active keys of -KeyId; returns a keyID => count hashtable. #>
    param([Parameter(Mandatory)]$Site, [Parameter(Mandatory)][string[]]$KeyId)
    $connection = @{}
    foreach ($property in 'HostName', 'Port', 'UserName', 'KeyFilePath', 'KnownHostsFile', 'ConnectTimeoutSeconds') {
        if ($Site.Node.ContainsKey($property)) { $connection[$property] = $Site.Node[$property] }
    }
    $Site.Session = New-ReplicationSession @connection -ErrorAction Stop
    $module = if ($Site.Node.ContainsKey('ModulePath')) { [string]$Site.Node.ModulePath } else { 'QKDLite' }
    $counts = Invoke-Command -Session $Site.Session -ErrorAction Stop -ArgumentList $module, $KeyId -ScriptBlock {
        param($ModulePath, [string[]]$KeyId)
        $ErrorActionPreference = 'Stop'
        Import-Module -Name $ModulePath -ErrorAction Stop
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
