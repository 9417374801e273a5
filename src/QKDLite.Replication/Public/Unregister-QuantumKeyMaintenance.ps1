function Unregister-QuantumKeyMaintenance {
    <#
    .SYNOPSIS
        Stops scheduled key maintenance on this node: removes the cron entry, systemd timer or scheduled task.

    .DESCRIPTION
        Unregister-QuantumKeyMaintenance undoes Register-QuantumKeyMaintenance for the job -Name:
        it removes only that job's marked line from the current user's crontab (or the cron file
        -Path), stops and disables the systemd timer and deletes both unit files (from -Path, or the
        user or system unit folder of -Scope), or unregisters the scheduled task \QKDLite\<Name>
        (or deletes the task XML file -Path). Other crontab lines, units and tasks are left alone.
        When nothing is registered under the name, it writes MaintenanceScheduleNotFound.

    .PARAMETER Scheduler
        Cron, Systemd or TaskScheduler. Default: as for Register-QuantumKeyMaintenance.

    .PARAMETER Scope
        CurrentUser (default) or AllUsers, as given to Register-QuantumKeyMaintenance.

    .PARAMETER Name
        Name of the job (default qkdlite-maintenance).

    .PARAMETER Path
        The cron file, unit folder or task XML file given to Register-QuantumKeyMaintenance -Path.

    .EXAMPLE
        Unregister-QuantumKeyMaintenance -Scheduler Cron

        Removes the maintenance line from the current user's crontab.

    .EXAMPLE
        Unregister-QuantumKeyMaintenance -Scheduler Systemd -Scope AllUsers -WhatIf

        Shows which unit files would be removed, and removes nothing.

    .OUTPUTS
        None
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType([void])]
    param(
        [ValidateSet('Cron', 'Systemd', 'TaskScheduler')][string]$Scheduler,
        [ValidateSet('CurrentUser', 'AllUsers')][string]$Scope = 'CurrentUser',
        [ValidatePattern('^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$')][string]$Name = 'qkdlite-maintenance',
        [ValidateNotNullOrEmpty()][string]$Path
    )
    Assert-ReplicationHost -Cmdlet $PSCmdlet
    if (-not $Scheduler) { $Scheduler = Get-DefaultMaintenanceScheduler }
    $target = if ($Path) { $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path) } else { $null }
    $notFound = {
        param($Where)
        $PSCmdlet.WriteError((New-ReplicationError -ErrorId 'MaintenanceScheduleNotFound' -Category ObjectNotFound -Target $Where `
                    -Message "No key maintenance named '$Name' is registered in $Where."))
    }
    $files = @()
    switch ($Scheduler) {
        'Cron' {
            if ($target) { $files = @($target) }
            else {
                $table = Get-UserCrontab -Cmdlet $PSCmdlet
                $marker = Get-MaintenanceCronMarker $Name
                $kept = @($table.Lines | Where-Object { -not $_.EndsWith($marker) })
                if ($kept.Count -eq $table.Lines.Count) { & $notFound 'the crontab'; return }
                if ($PSCmdlet.ShouldProcess("the crontab of $([Environment]::UserName)", "Remove the key maintenance line '$Name'")) {
                    Set-UserCrontab -Cmdlet $PSCmdlet -Command $table.Command -Lines $kept
                }
                return
            }
        }
        'Systemd' {
            $directory = if ($target) { $target } else { Get-SystemdUnitDirectory $Scope }
            $files = @(Join-Path $directory "$Name.timer"; Join-Path $directory "$Name.service")
        }
        'TaskScheduler' {
            if ($target) { $files = @($target) }
            else {
                if (-not ($IsWindows -or $PSVersionTable.PSEdition -eq 'Desktop')) {
                    $PSCmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'MaintenanceSchedulerNotFound' -Category NotInstalled `
                                -Message 'Task Scheduler exists on Windows only; give the task XML file with -Path, or use -Scheduler Cron or Systemd.'))
                }
                if (-not (Get-ScheduledTask -TaskPath '\QKDLite\' -TaskName $Name -ErrorAction Ignore)) { & $notFound 'Task Scheduler (\QKDLite\)'; return }
                if ($PSCmdlet.ShouldProcess("\QKDLite\$Name", 'Unregister the scheduled task')) {
                    Unregister-ScheduledTask -TaskPath '\QKDLite\' -TaskName $Name -Confirm:$false -ErrorAction Stop
                }
                return
            }
        }
    }
    $present = @($files | Where-Object { Test-Path -LiteralPath $_ })
    if ($present.Count -eq 0) { & $notFound ($files -join ', '); return }
    if (-not $PSCmdlet.ShouldProcess(($present -join ', '), "Remove the key maintenance job '$Name'")) { return }
    if ($Scheduler -eq 'Systemd' -and -not $target) {
        $user = @(if ($Scope -eq 'CurrentUser') { '--user' })
        $note = Invoke-Systemctl ($user + @('disable', '--now', "$Name.timer"))
        if ($note) { Write-Warning "Run to stop the timer: $note" }
    }
    foreach ($file in $present) { Remove-Item -LiteralPath $file -Force -ErrorAction Stop -Confirm:$false -WhatIf:$false }
    if ($Scheduler -eq 'Systemd' -and -not $target) {
        $note = Invoke-Systemctl ($user + 'daemon-reload')
        if ($note) { Write-Warning "Run to forget the removed units: $note" }
    }
}
