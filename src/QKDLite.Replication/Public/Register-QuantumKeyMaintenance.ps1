function Register-QuantumKeyMaintenance {
    <#
    .SYNOPSIS
        Schedules key maintenance on this node: a cron entry, a systemd timer or a Windows scheduled task.

    .DESCRIPTION
        Register-QuantumKeyMaintenance makes the system run the module's maintenance job,
        src/QKDLite.Replication/Scripts/Invoke-QKDLiteMaintenance.ps1 (Invoke-QuantumKeyMaintenance
        with exit codes 0, 1, 2, 4 and syslog or event log lines), every -Interval (default five
        minutes), with this PowerShell and this node's data directory.

        Cron: a line in the current user's crontab (through the crontab command), or with -Path a
        cron file in /etc/cron.d format. Systemd: <Name>.service and <Name>.timer in
        ~/.config/systemd/user (-Scope CurrentUser) or /etc/systemd/system (-Scope AllUsers), then
        daemon-reload and enable --now of the timer; with -Path the units go to that folder and the
        systemctl commands are shown instead. TaskScheduler: a task \QKDLite\<Name> that runs as
        this user without a stored password (S4U) or as SYSTEM (-Scope AllUsers), never two runs at
        once, and the Application event log source QKDLite (registering it needs an
        administrator); with -Path the task definition is written as XML for schtasks /create /xml.

        The default scheduler is Task Scheduler on Windows, systemd where systemd runs, else cron.
        An existing registration of the same name is replaced only with -Force.

    .PARAMETER Scheduler
        Cron, Systemd or TaskScheduler. Default: as described above.

    .PARAMETER Interval
        Time between runs, whole minutes from 1 minute to 24 hours (default 5 minutes). Cron takes
        steps that divide an hour or a day.

    .PARAMETER Scope
        CurrentUser (default) or AllUsers: systemd user or system units; Task Scheduler as this
        user or as SYSTEM; cron: the user's crontab either way (AllUsers files go through -Path).

    .PARAMETER Name
        Name of the job: unit names, task name and crontab marker (default qkdlite-maintenance).
        Give nodes sharing one machine names of their own.

    .PARAMETER Path
        Write the definition here instead of installing it: the cron file (Cron), the folder of
        the unit files (Systemd) or the task XML file (TaskScheduler).

    .PARAMETER Force
        Replace an existing registration of the same name.

    .EXAMPLE
        Register-QuantumKeyMaintenance -Scheduler Systemd -Interval (New-TimeSpan -Minutes 5)

        Installs qkdlite-maintenance.service and .timer as user units and starts the timer.

    .EXAMPLE
        Register-QuantumKeyMaintenance -Scheduler Cron -WhatIf

        Shows the crontab line that would be added, and adds nothing.

    .EXAMPLE
        Register-QuantumKeyMaintenance -Scheduler Cron -Path /etc/cron.d/qkdlite-maintenance -Force

        Writes a system cron file that runs the job as the current user every five minutes.

    .OUTPUTS
        QKDLite.MaintenanceSchedule
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('QKDLite.MaintenanceSchedule')]
    param(
        [ValidateSet('Cron', 'Systemd', 'TaskScheduler')][string]$Scheduler,
        [TimeSpan]$Interval = [TimeSpan]::FromMinutes(5),
        [ValidateSet('CurrentUser', 'AllUsers')][string]$Scope = 'CurrentUser',
        [ValidatePattern('^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$')][string]$Name = 'qkdlite-maintenance',
        [ValidateNotNullOrEmpty()][string]$Path,
        [switch]$Force
    )
    Assert-ReplicationHost -Cmdlet $PSCmdlet
    if (-not $Scheduler) { $Scheduler = Get-DefaultMaintenanceScheduler }
    $minutes = Assert-MaintenanceInterval -Cmdlet $PSCmdlet -Interval $Interval -Scheduler $Scheduler
    $command = Get-MaintenanceCommand -DataDirectory ([QKDLite.Core.Configuration.QKDLitePaths]::DataDirectory)
    $target = if ($Path) { $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path) } else { $null }
    $notes = @()
    $exists = { param($What) $PSCmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'MaintenanceScheduleExists' -Category ResourceExists -Target $What `
                    -Message "Key maintenance '$Name' is registered already ($What). Use -Force to replace it, or Unregister-QuantumKeyMaintenance first.")) }

    switch ($Scheduler) {
        'Cron' {
            if ($target) {
                $location = $target
                if ((Test-Path -LiteralPath $target) -and -not $Force) { & $exists $target }
                $line = New-MaintenanceCronLine -Command $command -Minutes $minutes -Name $Name -User ([Environment]::UserName)
                if ($PSCmdlet.ShouldProcess($target, "Write the cron file: $line")) {
                    Write-MaintenanceFile -Cmdlet $PSCmdlet -Path $target -Content (@('# QKDLite key maintenance (Register-QuantumKeyMaintenance)', 'SHELL=/bin/sh', $line) -join "`n")
                }
            }
            else {
                $location = 'crontab'
                $line = New-MaintenanceCronLine -Command $command -Minutes $minutes -Name $Name
                $table = Get-UserCrontab -Cmdlet $PSCmdlet
                $marker = Get-MaintenanceCronMarker $Name
                $kept = @($table.Lines | Where-Object { -not $_.EndsWith($marker) })
                if ($kept.Count -ne $table.Lines.Count -and -not $Force) { & $exists 'crontab' }
                if ($PSCmdlet.ShouldProcess("the crontab of $([Environment]::UserName)", "Add the line: $line")) {
                    Set-UserCrontab -Cmdlet $PSCmdlet -Command $table.Command -Lines (@($kept) + $line)
                }
            }
        }
        'Systemd' {
            $directory = if ($target) { $target } else { Get-SystemdUnitDirectory $Scope }
            $location = $directory
            $units = New-MaintenanceSystemdUnit -Command $command -Minutes $minutes -Name $Name
            $servicePath = Join-Path $directory "$Name.service"
            $timerPath = Join-Path $directory "$Name.timer"
            if (((Test-Path -LiteralPath $servicePath) -or (Test-Path -LiteralPath $timerPath)) -and -not $Force) { & $exists $directory }
            if ($PSCmdlet.ShouldProcess($directory, "Write $Name.service and $Name.timer and enable the timer")) {
                Write-MaintenanceFile -Cmdlet $PSCmdlet -Path $servicePath -Content $units.Service
                Write-MaintenanceFile -Cmdlet $PSCmdlet -Path $timerPath -Content $units.Timer
                $user = @(if ($Scope -eq 'CurrentUser') { '--user' })
                if ($target) {
                    $notes += "systemctl $($user -join ' ') link '$servicePath' '$timerPath'".Replace('  ', ' ')
                    $notes += "systemctl $($user -join ' ') enable --now $Name.timer".Replace('  ', ' ')
                }
                else {
                    $notes += @(Invoke-Systemctl ($user + 'daemon-reload')) + @(Invoke-Systemctl ($user + @('enable', '--now', "$Name.timer"))) | Where-Object { $_ }
                }
            }
        }
        'TaskScheduler' {
            $xml = New-MaintenanceTaskXml -Command $command -Minutes $minutes -Name $Name -Scope $Scope
            if ($target) {
                $location = $target
                if ((Test-Path -LiteralPath $target) -and -not $Force) { & $exists $target }
                if ($PSCmdlet.ShouldProcess($target, 'Write the scheduled task definition')) {
                    Write-MaintenanceFile -Cmdlet $PSCmdlet -Path $target -Content $xml -Encoding Unicode
                    $notes += "schtasks /create /tn \QKDLite\$Name /xml `"$target`""
                }
            }
            else {
                $location = "\QKDLite\$Name"
                if (-not ($IsWindows -or $PSVersionTable.PSEdition -eq 'Desktop')) {
                    $PSCmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'MaintenanceSchedulerNotFound' -Category NotInstalled `
                                -Message 'Task Scheduler exists on Windows only. Use -Scheduler Cron or Systemd here, or write the task definition with -Path.'))
                }
                if ((Get-ScheduledTask -TaskPath '\QKDLite\' -TaskName $Name -ErrorAction Ignore) -and -not $Force) { & $exists $location }
                if ($PSCmdlet.ShouldProcess($location, 'Register the scheduled task')) {
                    try { $null = Register-ScheduledTask -TaskPath '\QKDLite\' -TaskName $Name -Xml $xml -Force -ErrorAction Stop }
                    catch {
                        $PSCmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'MaintenanceScheduleFailed' -Category PermissionDenied -Target $location `
                                    -Message "The scheduled task could not be registered: $($_.Exception.Message) Tasks that run as SYSTEM or without a logged-on user need an administrator." -InnerException $_.Exception))
                    }
                    # The job logs under this source; creating a source needs an administrator, once.
                    try { if (-not [System.Diagnostics.EventLog]::SourceExists('QKDLite')) { [System.Diagnostics.EventLog]::CreateEventSource('QKDLite', 'Application') } }
                    catch { $notes += "[System.Diagnostics.EventLog]::CreateEventSource('QKDLite', 'Application')   # as an administrator, so the job can log to the Application event log" }
                }
            }
        }
    }
    foreach ($note in $notes) { Write-Warning "Run to complete the registration: $note" }
    if ($WhatIfPreference) { return }
    [pscustomobject]@{
        PSTypeName = 'QKDLite.MaintenanceSchedule'
        Name       = $Name
        Scheduler  = $Scheduler
        Interval   = [TimeSpan]::FromMinutes($minutes)
        Location   = $location
        Command    = (@($command.Executable) + $command.Arguments | ForEach-Object { ConvertTo-PosixShellWord $_ }) -join ' '
        Pending    = @($notes)
    }
}
