# What scheduled maintenance reads from the node configuration (node.json): its own Maintenance
# section (parsed and validated by QKDLite.Core) and the remote sites of the Replication section.

function Get-MaintenanceConfiguration {
    <# The node configuration file and its validated Maintenance entries; a missing or invalid file or section is a terminating error. #>
    param([Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet)
    $path = [QKDLite.Core.Configuration.QKDLitePaths]::DefaultConfigurationFile
    try { $configuration = [QKDLite.Core.Configuration.NodeConfiguration]::Load($path) }
    catch { $Cmdlet.ThrowTerminatingError((ConvertTo-ReplicationErrorRecord $_)) }
    if (-not $configuration.Maintenance -or $configuration.Maintenance.KeyIds.Count -eq 0) {
        $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'MaintenanceNotConfigured' -Category ObjectNotFound -Target $path `
                    -Message "The node configuration '$path' lists no keyIDs to maintain. Add a Maintenance section, for example: `"Maintenance`": { `"KeyIds`": [ { `"KeyId`": `"VPN-A-B`", `"Minimum`": 100, `"Remotes`": [`"siteB`"] } ] } (see about_QKDLite_Replication)."))
    }
    [pscustomobject]@{ Path = $path; KeyIds = @($configuration.Maintenance.KeyIds) }
}

function Get-MaintenanceSite {
    <#
    Every remote site of the Replication section, as the replication functions take them (each with
    its nodes in the order they are tried), after checking that each site named in -Name is defined:
    an unknown one is a terminating error (MaintenanceRemoteNotConfigured) before anything is touched.
    The sites not named are there for finishing open transactions that involve them.
    A node without its own ConnectTimeoutSeconds waits -ConnectTimeoutSeconds.
    #>
    param(
        [Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet,
        [Parameter(Mandatory)][string]$Path,
        [string[]]$Name = @(),
        [Parameter(Mandatory)][int]$ConnectTimeoutSeconds
    )
    $configured = @(Get-ConfiguredRemote -Cmdlet $Cmdlet)
    foreach ($siteName in $Name) {
        if (@($configured | Where-Object { $_.Name -eq $siteName }).Count -eq 0) {
            $list = if ($configured.Count) { @($configured | ForEach-Object { $_.Name }) -join ', ' } else { 'none' }
            $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'MaintenanceRemoteNotConfigured' -Category ObjectNotFound -Target $siteName `
                        -Message "The Maintenance section names remote site '$siteName', which the Replication section of '$Path' does not define (defined: $list)."))
        }
    }
    $sites = @(if ($configured.Count) { ConvertTo-ReplicationNode -Cmdlet $Cmdlet -Node $configured })
    foreach ($member in @($sites | ForEach-Object { $_.Nodes })) {
        if (-not $member.Connection.ContainsKey('ConnectTimeoutSeconds')) { $member.Connection.ConnectTimeoutSeconds = $ConnectTimeoutSeconds }
    }
    $sites
}
