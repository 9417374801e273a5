# The scheduled maintenance job as each scheduler wants it: a crontab line, a systemd service and
# timer, a Task Scheduler task definition. All run the same command: this PowerShell, the entry
# script shipped in the module, and the node's data directory.

$script:MaintenanceScript = Join-Path $PSScriptRoot '../Scripts/Invoke-QKDLiteMaintenance.ps1'

function Get-MaintenanceCommand {
    <# The job's executable and arguments: this PowerShell (pwsh, or dotnet with pwsh.dll for the .NET tool) and the entry script. #>
    param([Parameter(Mandatory)][string]$DataDirectory)
    $script = [System.IO.Path]::GetFullPath($script:MaintenanceScript)
    $process = [Environment]::ProcessPath
    $arguments = @()
    if ([System.IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') { $arguments += Join-Path $PSHOME 'pwsh.dll' }
    $arguments += @('-NoProfile', '-NonInteractive', '-File', $script, '-DataDirectory', $DataDirectory)
    [pscustomobject]@{ Executable = $process; Arguments = $arguments }
}

function Assert-MaintenanceInterval {
    param([Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet, [Parameter(Mandatory)][TimeSpan]$Interval, [string]$Scheduler)
    $minutes = $Interval.TotalMinutes
    $valid = $minutes -ge 1 -and $minutes -le 1440 -and $minutes -eq [Math]::Floor($minutes)
    # cron counts minutes within the hour and hours within the day: other steps would drift at the boundary.
    if ($valid -and $Scheduler -eq 'Cron') { $valid = ($minutes -lt 60 -and 60 % $minutes -eq 0) -or ($minutes % 60 -eq 0 -and 1440 % $minutes -eq 0) }
    if (-not $valid) {
        $hint = if ($Scheduler -eq 'Cron') { ' cron runs steps that divide an hour (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 minutes) or a day (1, 2, 3, 4, 6, 8, 12, 24 hours).' } else { '' }
        $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'MaintenanceIntervalInvalid' -Category InvalidArgument -Target $Interval `
                    -Message "The interval $Interval is not supported: use whole minutes from 1 minute to 24 hours.$hint"))
    }
    [int]$minutes
}

function ConvertTo-PosixShellWord([string]$Text) {
    if ($Text -match '^[A-Za-z0-9_./:=@+-]+$') { return $Text }
    "'" + $Text.Replace("'", "'\''") + "'"
}

function New-MaintenanceCronLine {
    <# One crontab line, marked with the job's name so that it can be found and removed again. -User for /etc/cron.d files. #>
    param([Parameter(Mandatory)]$Command, [Parameter(Mandatory)][int]$Minutes, [Parameter(Mandatory)][string]$Name, [string]$User)
    $when = if ($Minutes -lt 60) { "*/$Minutes * * * *" } elseif ($Minutes -eq 1440) { '0 0 * * *' } else { "0 */$($Minutes / 60) * * *" }
    # cron turns an unescaped % into a line break.
    $words = @($Command.Executable) + $Command.Arguments | ForEach-Object { (ConvertTo-PosixShellWord $_).Replace('%', '\%') }
    $userField = if ($User) { " $User" } else { '' }
    "$when$userField $($words -join ' ') $(Get-MaintenanceCronMarker $Name)"
}

function Get-MaintenanceCronMarker([string]$Name) { "# QKDLite key maintenance: $Name" }

function ConvertTo-SystemdWord([string]$Text) {
    # systemd expands % specifiers and $ variables in ExecStart; a doubled sign is the literal.
    $escaped = $Text.Replace('%', '%%').Replace('$', '$$')
    if ($escaped -match '^[A-Za-z0-9_./:=@+-]+$') { return $escaped }
    '"' + $escaped.Replace('\', '\\').Replace('"', '\"') + '"'
}

function New-MaintenanceSystemdUnit {
    <# The .service (a oneshot run of the job) and the .timer (every -Minutes) of the job, as text. #>
    param([Parameter(Mandatory)]$Command, [Parameter(Mandatory)][int]$Minutes, [Parameter(Mandatory)][string]$Name)
    $exec = (@($Command.Executable) + $Command.Arguments | ForEach-Object { ConvertTo-SystemdWord $_ }) -join ' '
    $service = @(
        '[Unit]'
        'Description=QKDLite key maintenance: keep the configured number of keys per keyID on every node'
        'Wants=network-online.target'
        'After=network-online.target'
        ''
        '[Service]'
        'Type=oneshot'
        "ExecStart=$exec"
        'SyslogIdentifier=QKDLite'
        # Exit codes 1, 2, 4 and their sums mark the unit failed, so systemctl --failed shows a bad run.
        ''
    ) -join "`n"
    $timer = @(
        '[Unit]'
        "Description=QKDLite key maintenance every $Minutes minute(s)"
        ''
        '[Timer]'
        'OnBootSec=1min'
        "OnUnitActiveSec=$($Minutes)min"
        'AccuracySec=30s'
        "Unit=$Name.service"
        ''
        '[Install]'
        'WantedBy=timers.target'
        ''
    ) -join "`n"
    [pscustomobject]@{ Service = $service; Timer = $timer }
}

function New-MaintenanceTaskXml {
    <# The Task Scheduler definition (schema 1.2) of the job: repeating every -Minutes, never two at once. #>
    param([Parameter(Mandatory)]$Command, [Parameter(Mandatory)][int]$Minutes, [Parameter(Mandatory)][string]$Name, [Parameter(Mandatory)][ValidateSet('CurrentUser', 'AllUsers')][string]$Scope)
    $ns = 'http://schemas.microsoft.com/windows/2004/02/mit/task'
    $document = [System.Xml.XmlDocument]::new()
    $null = $document.AppendChild($document.CreateXmlDeclaration('1.0', 'UTF-16', $null))
    $task = $document.AppendChild($document.CreateElement('Task', $ns))
    $task.SetAttribute('version', '1.2')
    function Add-Element($Parent, [string]$Element, [string]$Text) {
        $child = $Parent.AppendChild($document.CreateElement($Element, $ns))
        if ($PSBoundParameters.ContainsKey('Text')) { $child.InnerText = $Text }
        $child
    }
    $info = Add-Element $task 'RegistrationInfo'
    $null = Add-Element $info 'Description' 'QKDLite key maintenance: keep the configured number of keys per keyID on every node.'
    $null = Add-Element $info 'URI' "\QKDLite\$Name"
    $trigger = Add-Element (Add-Element $task 'Triggers') 'TimeTrigger'
    $null = Add-Element $trigger 'StartBoundary' ([DateTime]::Now.Date.ToString('yyyy-MM-ddTHH:mm:ss'))
    $null = Add-Element $trigger 'Enabled' 'true'
    $repetition = Add-Element $trigger 'Repetition'
    $null = Add-Element $repetition 'Interval' ([System.Xml.XmlConvert]::ToString([TimeSpan]::FromMinutes($Minutes)))
    $null = Add-Element $repetition 'StopAtDurationEnd' 'false'
    $principal = Add-Element (Add-Element $task 'Principals') 'Principal'
    $principal.SetAttribute('id', 'Author')
    if ($Scope -eq 'AllUsers') {
        $null = Add-Element $principal 'UserId' 'S-1-5-18'
        $null = Add-Element $principal 'RunLevel' 'HighestAvailable'
    }
    else {
        $null = Add-Element $principal 'UserId' ([Environment]::UserDomainName + '\' + [Environment]::UserName)
        # S4U: runs whether or not the user is logged on, without storing a password.
        $null = Add-Element $principal 'LogonType' 'S4U'
        $null = Add-Element $principal 'RunLevel' 'LeastPrivilege'
    }
    $settings = Add-Element $task 'Settings'
    $null = Add-Element $settings 'MultipleInstancesPolicy' 'IgnoreNew'
    $null = Add-Element $settings 'DisallowStartIfOnBatteries' 'false'
    $null = Add-Element $settings 'StopIfGoingOnBatteries' 'false'
    $null = Add-Element $settings 'StartWhenAvailable' 'true'
    $null = Add-Element $settings 'ExecutionTimeLimit' 'PT1H'
    $null = Add-Element $settings 'Enabled' 'true'
    $actions = Add-Element $task 'Actions'
    $actions.SetAttribute('Context', 'Author')
    $exec = Add-Element $actions 'Exec'
    $null = Add-Element $exec 'Command' $Command.Executable
    $null = Add-Element $exec 'Arguments' ((@($Command.Arguments) | ForEach-Object { if ($_ -match '[\s"]') { '"' + $_.Replace('"', '\"') + '"' } else { $_ } }) -join ' ')
    $document.OuterXml
}

function Get-DefaultMaintenanceScheduler {
    if ($IsWindows -or $PSVersionTable.PSEdition -eq 'Desktop') { return 'TaskScheduler' }
    # A running systemd has this directory; containers and other init systems use cron.
    if (Test-Path -LiteralPath '/run/systemd/system' -PathType Container) { return 'Systemd' }
    'Cron'
}

function Get-SystemdUnitDirectory([string]$Scope) {
    if ($Scope -eq 'AllUsers') { return '/etc/systemd/system' }
    $config = if ($env:XDG_CONFIG_HOME) { $env:XDG_CONFIG_HOME } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.config' }
    Join-Path $config 'systemd/user'
}

function Get-UserCrontab {
    <# The current user's crontab lines (none when the user has no crontab). #>
    param([Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet)
    $crontab = Get-Command -Name 'crontab' -CommandType Application -ErrorAction Ignore | Select-Object -First 1
    if (-not $crontab) {
        $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'MaintenanceSchedulerNotFound' -Category NotInstalled `
                    -Message 'The crontab command was not found. Install cron (Debian: apt-get install cron), use -Scheduler Systemd, or write a cron file with -Path.'))
    }
    $lines = @(& $crontab.Source -l 2>&1)
    if ($LASTEXITCODE -ne 0) {
        if ("$lines" -match 'no crontab for') { return [pscustomobject]@{ Command = $crontab.Source; Lines = @() } }
        $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'MaintenanceScheduleFailed' -Category InvalidResult -Message "crontab -l failed: $lines"))
    }
    [pscustomobject]@{ Command = $crontab.Source; Lines = @($lines | ForEach-Object { "$_" }) }
}

function Set-UserCrontab {
    param([Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet, [Parameter(Mandatory)][string]$Command, [string[]]$Lines)
    $output = @(@($Lines) | & $Command - 2>&1)
    if ($LASTEXITCODE -ne 0) {
        $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'MaintenanceScheduleFailed' -Category InvalidResult -Message "crontab could not install the new table: $output"))
    }
}

function Invoke-Systemctl {
    <# Runs systemctl when systemd runs here; otherwise returns the command for the administrator to run. #>
    param([Parameter(Mandatory)][string[]]$Arguments)
    $systemctl = Get-Command -Name 'systemctl' -CommandType Application -ErrorAction Ignore | Select-Object -First 1
    if (-not $systemctl -or -not (Test-Path -LiteralPath '/run/systemd/system' -PathType Container)) { return "systemctl $($Arguments -join ' ')" }
    $output = @(& $systemctl.Source @Arguments 2>&1)
    if ($LASTEXITCODE -ne 0) { return "systemctl $($Arguments -join ' ')  (failed: $($output -join ' '))" }
    $null
}

function Write-MaintenanceFile {
    <# Writes a whole file at once through a temporary file, so a reader never sees half of it. #>
    param([Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet, [Parameter(Mandatory)][string]$Path, [Parameter(Mandatory)][string]$Content, [string]$Encoding = 'UTF8')
    $temporary = "$Path.$([guid]::NewGuid().ToString('N')).tmp"
    try {
        $directory = Split-Path -Parent $Path
        if ($directory) { $null = New-Item -ItemType Directory -Force -Path $directory -ErrorAction Stop -WhatIf:$false -Confirm:$false }
        $text = if ($Content.EndsWith("`n")) { $Content } else { "$Content`n" }
        $bytes = if ($Encoding -eq 'Unicode') { [System.Text.Encoding]::Unicode.GetPreamble() + [System.Text.Encoding]::Unicode.GetBytes($text) } else { [System.Text.UTF8Encoding]::new($false).GetBytes($text) }
        [System.IO.File]::WriteAllBytes($temporary, $bytes)
        Move-Item -LiteralPath $temporary -Destination $Path -Force -ErrorAction Stop -WhatIf:$false -Confirm:$false
    }
    catch {
        Remove-Item -LiteralPath $temporary -ErrorAction Ignore
        $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'MaintenanceScheduleFailed' -Category WriteError -Target $Path `
                    -Message "'$Path' could not be written: $($_.Exception.Message)" -InnerException $_.Exception))
    }
}
