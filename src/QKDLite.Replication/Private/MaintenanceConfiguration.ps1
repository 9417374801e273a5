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

function Get-MaintenanceRemoteNode {
    <#
    The remote sites named -Name, from the node configuration's Replication section, each as a -Node
    hashtable for the replication functions (a site's HostName at top level, else the first of its
    Nodes). Interim reader of the agreed section shape: replace it with Get-ReplicationRemote once
    that function is part of the module.
    #>
    param(
        [Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet,
        [Parameter(Mandatory)][string]$Path,
        [Parameter(Mandatory)][string[]]$Name
    )
    $sites = @()
    try {
        $json = Get-Content -Raw -LiteralPath $Path -ErrorAction Stop | ConvertFrom-Json -ErrorAction Stop
        if ($json.PSObject.Properties['Replication'] -and $json.Replication -and $json.Replication.PSObject.Properties['Remotes']) { $sites = @($json.Replication.Remotes | Where-Object { $_ }) }
    }
    catch {
        $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'NodeConfigurationInvalid' -Category InvalidData -Target $Path `
                    -Message "The node configuration '$Path' could not be read: $($_.Exception.Message)" -InnerException $_.Exception))
    }
    foreach ($siteName in $Name) {
        $site = $sites | Where-Object { $_.PSObject.Properties['Name'] -and $_.Name -eq $siteName } | Select-Object -First 1
        $entry = $null
        if ($site) {
            if ($site.PSObject.Properties['HostName'] -and $site.HostName) { $entry = $site }
            elseif ($site.PSObject.Properties['Nodes'] -and @($site.Nodes).Count -gt 0) { $entry = @($site.Nodes)[0] }
        }
        if (-not $entry -or -not $entry.PSObject.Properties['HostName'] -or -not $entry.HostName) {
            $known = @($sites | Where-Object { $_.PSObject.Properties['Name'] } | ForEach-Object { $_.Name })
            $list = if ($known.Count) { $known -join ', ' } else { 'none' }
            $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'MaintenanceRemoteNotConfigured' -Category ObjectNotFound -Target $siteName `
                        -Message "The Maintenance section names remote site '$siteName', which the Replication section of '$Path' does not define with a HostName (defined: $list)."))
        }
        $node = @{ Name = $siteName }
        foreach ($property in 'HostName', 'Port', 'UserName', 'KeyFilePath', 'KnownHostsFile', 'ModulePath', 'ConnectTimeoutSeconds') {
            if ($entry.PSObject.Properties[$property] -and $null -ne $entry.$property -and "$($entry.$property)" -ne '') { $node[$property] = $entry.$property }
        }
        $node
    }
}
