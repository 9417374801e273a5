<#
.SYNOPSIS
    The scheduled key maintenance job of a QKDLite node: Invoke-QuantumKeyMaintenance for cron,
    systemd timers and Task Scheduler, with an exit code per failure class and one log line per event.

.DESCRIPTION
    Run it as `pwsh -NoProfile -NonInteractive -File <module>/src/QKDLite.Replication/Scripts/Invoke-QKDLiteMaintenance.ps1`
    (Register-QuantumKeyMaintenance writes that command into the scheduler). It imports QKDLite from
    the module folder it belongs to, runs Invoke-QuantumKeyMaintenance, and never ends with an
    unhandled exception.

    Exit code: the sum (bitwise OR) of the failure classes of the run:
        0  every keyID is up to date or was topped up (also: another run was busy, so this one did nothing)
        1  initialisation or configuration: the module, node.json, its Maintenance or Replication
           section, or the PIN source; nothing was attempted
        2  key management on this node: its key store (wrong PIN, token missing) or key source
        4  replication: a remote site none of whose nodes answered, or refused, a transaction aborted
           by another node, nodes holding different numbers of keys, a commit not yet carried out
           everywhere (also an earlier one that keeps a keyID from being topped up)
    Classes 2 and 4 combine when different keyIDs fail differently (6 = both). 1 stands alone.
    An unexpected error that is none of these counts as 2.

    Log: one line per event (start, each key created with its keyID and keyLabel, each keyID's
    outcome, the end) to syslog with the tag QKDLite through the `logger` command on Linux and
    macOS (journald takes syslog in), or to the Windows Application event log under the source
    QKDLite (which Register-QuantumKeyMaintenance registers; without it, or where logging fails,
    lines go to standard error). Key material and PINs are never logged.

    The key store's PIN comes from node.json's PIN file or PIN environment variable; nothing prompts.

.PARAMETER DataDirectory
    The node's data directory (sets QKDLITE_HOME for this run). Default: QKDLITE_HOME, else the
    user's local application data folder.

.PARAMETER KeyId
    Only these keyIDs of the Maintenance section.

.NOTES
    QKDLITE_SYSLOG_SOCKET, when set, names the syslog socket `logger` writes to (default /dev/log).
#>
[CmdletBinding()]
param(
    [string]$DataDirectory,
    [string[]]$KeyId
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
if (Get-Variable -Name PSStyle -ErrorAction Ignore) { $PSStyle.OutputRendering = 'PlainText' }

$script:LogTag = 'QKDLite'
# Terminating errors that mean the job is not set up right (exit 1) rather than that a store failed (exit 2).
$script:ConfigurationErrorIds = @(
    'ReplicationNeedsPowerShell7', 'NodeConfigurationNotFound', 'NodeConfigurationInvalid', 'MaintenanceConfigurationInvalid',
    'EtsiServerConfigurationInvalid', 'ReplicationConfigurationInvalid', 'MaintenanceNotConfigured', 'MaintenanceRemoteNotConfigured', 'MaintenanceKeyIdNotConfigured',
    'KeyStoreNotConnected', 'PinFileNotFound', 'PinFileNotOwnerOnly', 'PinEnvironmentVariableNotSet', 'KeyStorePinMissing'
)

function Write-MaintenanceLog {
    <# Sends lines of one severity to syslog (logger) or the Windows event log; to standard error when that fails. #>
    param([Parameter(Mandatory)][ValidateSet('Information', 'Warning', 'Error')][string]$Level, [Parameter(Mandatory)][string[]]$Line)
    $lines = @($Line | ForEach-Object { ($_ -replace '[\r\n]+', ' ').Trim() })
    $sent = $false
    try {
        if ($IsWindows -or $PSVersionTable.PSEdition -eq 'Desktop') {
            $type = [System.Diagnostics.EventLogEntryType]::$Level
            $eventId = switch ($Level) { 'Information' { 1000 } 'Warning' { 2000 } default { 3000 } }
            if ([System.Diagnostics.EventLog]::SourceExists($script:LogTag)) {
                foreach ($text in $lines) { [System.Diagnostics.EventLog]::WriteEntry($script:LogTag, $text, $type, $eventId) }
                $sent = $true
            }
        }
        else {
            $logger = Get-Command -Name 'logger' -CommandType Application -ErrorAction Ignore | Select-Object -First 1
            if ($logger) {
                $priority = switch ($Level) { 'Information' { 'user.info' } 'Warning' { 'user.warning' } default { 'user.err' } }
                $arguments = @('-t', $script:LogTag, '-p', $priority)
                if ($env:QKDLITE_SYSLOG_SOCKET) { $arguments += @('-u', $env:QKDLITE_SYSLOG_SOCKET) }
                # Without a message argument logger sends each line of its input as one message.
                $null = $lines | & $logger.Source @arguments 2>&1
                $sent = $LASTEXITCODE -eq 0
            }
        }
    }
    catch { $sent = $false }
    if (-not $sent) {
        foreach ($text in $lines) { [Console]::Error.WriteLine("$($script:LogTag) ${Level}: $text") }
    }
}

function Get-ErrorIdOf([System.Management.Automation.ErrorRecord]$Record) {
    $Record.FullyQualifiedErrorId -replace ',.*$', ''
}

function Invoke-Main {
    if ($DataDirectory) { $env:QKDLITE_HOME = $DataDirectory }
    $manifest = Join-Path $PSScriptRoot '../../../QKDLite.psd1'
    try {
        Import-Module -Name $manifest -ErrorAction Stop
    }
    catch {
        Write-MaintenanceLog Error "Key maintenance could not start: the QKDLite module did not load from '$manifest': $($_.Exception.Message)"
        return 1
    }
    Write-MaintenanceLog Information "Key maintenance started (node data: $([QKDLite.Core.Configuration.QKDLitePaths]::DataDirectory))."

    $parameters = @{ ErrorAction = 'SilentlyContinue'; ErrorVariable = 'keyErrors' }
    if ($KeyId) { $parameters.KeyId = $KeyId }
    $keyErrors = @()
    try {
        $results = @(Invoke-QuantumKeyMaintenance @parameters)
    }
    catch {
        $id = Get-ErrorIdOf $_
        if ($id -eq 'MaintenanceAlreadyRunning') {
            Write-MaintenanceLog Warning "Key maintenance skipped: another run is still working ($($_.Exception.Message))"
            return 0
        }
        $code = if ($script:ConfigurationErrorIds -contains $id) { 1 } else { 2 }
        $what = if ($code -eq 1) { 'could not start (configuration)' } else { 'stopped (key store)' }
        Write-MaintenanceLog Error "Key maintenance $what. ${id}: $($_.Exception.Message)"
        Write-MaintenanceLog Error "Key maintenance finished with exit code $code."
        return $code
    }

    $code = 0
    foreach ($result in $results) {
        $created = @($result.Labels | ForEach-Object { "Created key keyID=$($result.KeyId) keyLabel=$_ transaction=$($result.TransactionId) nodes=local,$(@($result.Remotes.Name) -join ',')" })
        if ($created.Count) { Write-MaintenanceLog Information $created }
        $remotes = (@($result.Remotes | ForEach-Object { if ($null -eq $_.Before) { "$($_.Name):unknown" } else { "$($_.Name):$($_.Before)->$($_.After)" } }) -join ',')
        $summary = "keyID=$($result.KeyId) outcome=$($result.Outcome) minimum=$($result.Minimum) before=$($result.Before) created=$($result.Created) after=$($result.After) remotes=$remotes"
        if ($result.TransactionId) { $summary += " transaction=$($result.TransactionId)" }
        switch ($result.Failure) {
            'KeyManagement' { $code = $code -bor 2 }
            'Replication' { $code = $code -bor 4 }
        }
        if ($result.Failure -eq 'None') { Write-MaintenanceLog Information $summary }
        else { Write-MaintenanceLog Error "$summary failure=$($result.Failure) error=$($result.ErrorId): $($result.Error)" }
    }
    $level = if ($code) { 'Error' } else { 'Information' }
    Write-MaintenanceLog $level "Key maintenance finished with exit code $code ($($results.Count) keyID(s))."
    $code
}

$exitCode = 1
try {
    # The last value is the code; anything else a step let slip into the output is ignored.
    $exitCode = [int](@(Invoke-Main)[-1])
}
catch {
    # Nothing may escape as an unhandled exception: the scheduler would only see a generic failure.
    try { Write-MaintenanceLog Error "Key maintenance failed unexpectedly: $($_.Exception.Message)" } catch { [Console]::Error.WriteLine($_.Exception.Message) }
    $exitCode = 2
}
exit $exitCode
