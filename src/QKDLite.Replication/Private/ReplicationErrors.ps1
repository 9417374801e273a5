# Errors of the replication functions: stable ids, as the cmdlets have.

function New-ReplicationError {
    param(
        [Parameter(Mandatory)][string]$ErrorId,
        [Parameter(Mandatory)][System.Management.Automation.ErrorCategory]$Category,
        [Parameter(Mandatory)][string]$Message,
        [object]$Target,
        [Exception]$InnerException
    )
    $exception = if ($InnerException) { [InvalidOperationException]::new($Message, $InnerException) } else { [InvalidOperationException]::new($Message) }
    [System.Management.Automation.ErrorRecord]::new($exception, $ErrorId, $Category, $Target)
}

function Assert-ReplicationHost {
    param([Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet)
    if ($PSVersionTable.PSVersion.Major -lt 7) {
        $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'ReplicationNeedsPowerShell7' -Category NotInstalled `
                    -Message 'Replication runs PowerShell remoting over SSH, which needs PowerShell 7 or later on both nodes.'))
    }
}
