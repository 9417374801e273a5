# Remote sites: the -Node and -Remote parameters of the replication functions, and the Replication
# section of node.json. A site is one participant of a transaction (one name in the journal) with one
# or more nodes that share its key store, tried in order: the first healthy one takes the work.

$script:SiteNodeProperties = 'HostName', 'Port', 'UserName', 'KeyFilePath', 'KnownHostsFile', 'ModulePath', 'Kme', 'ConnectTimeoutSeconds', 'Session'

function Get-ReplicationConfigurationFile {
    [QKDLite.Core.Configuration.QKDLitePaths]::DefaultConfigurationFile
}

function Read-ReplicationSettings {
    # The Replication section of node.json, or $null when the file or the section is missing.
    $file = Get-ReplicationConfigurationFile
    if (-not (Test-Path -LiteralPath $file)) { return $null }
    [QKDLite.Core.Configuration.NodeConfiguration]::Load($file).Replication
}

function ConvertFrom-RemoteSettings {
    # A configured remote as the site object that -Node takes and Get-ReplicationRemote returns.
    param([Parameter(Mandatory)][QKDLite.Core.Configuration.ReplicationRemote]$Remote, [Parameter(Mandatory)][string]$ConfigurationDirectory)
    $nodes = foreach ($node in $Remote.EffectiveNodes()) {
        # Files of this node are taken relative to node.json, as the other sections' paths are. A site
        # reached Via another is logged into by the relaying node, from its files: a relative path
        # there is resolved on that node (Resolve-RelayFilePath).
        $resolve = { param($Path) if ($Path -and -not $Remote.Via) { [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($ConfigurationDirectory, $Path)) } elseif ($Path) { $Path } else { $null } }
        [pscustomobject]@{
            PSTypeName            = 'QKDLite.ReplicationRemoteNode'
            HostName              = $node.HostName
            Port                  = $node.Port
            UserName              = $node.UserName
            KeyFilePath           = & $resolve $node.KeyFilePath
            KnownHostsFile        = & $resolve $node.KnownHostsFile
            ModulePath            = $node.ModulePath
            Kme                   = $node.Kme
            ConnectTimeoutSeconds = $node.ConnectTimeoutSeconds
        }
    }
    [pscustomobject]@{
        PSTypeName = 'QKDLite.ReplicationRemote'
        Name       = $Remote.Name
        Via        = $Remote.Via
        Nodes      = @($nodes)
    }
}

function Get-ConfiguredRemote {
    <# The configured sites named by $Name (all when none is named); an unknown name is a terminating error. #>
    param([Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet, [string[]]$Name)
    try { $settings = Read-ReplicationSettings }
    catch { $Cmdlet.ThrowTerminatingError((ConvertTo-ReplicationErrorRecord $_)) }
    $remotes = if ($settings) { @($settings.Remotes) } else { @() }
    $directory = Split-Path -Parent (Get-ReplicationConfigurationFile)
    if (-not $Name) {
        foreach ($remote in $remotes) { ConvertFrom-RemoteSettings -Remote $remote -ConfigurationDirectory $directory }
        return
    }
    foreach ($wanted in $Name) {
        $matched = @($remotes | Where-Object { $_.Name -like $wanted })
        if ($matched.Count -eq 0) {
            $known = if ($remotes.Count) { ($remotes.Name -join ', ') } else { 'none' }
            $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'ReplicationRemoteNotFound' -Category ObjectNotFound `
                        -Message "No remote named '$wanted' is in the Replication section of '$(Get-ReplicationConfigurationFile)'. Configured: $known." -Target $wanted))
        }
        foreach ($remote in $matched) { ConvertFrom-RemoteSettings -Remote $remote -ConfigurationDirectory $directory }
    }
}

function Get-ItemValue {
    param($Item, [string]$Property)
    if ($Item -is [System.Collections.IDictionary]) { return $Item[$Property] }
    if ($Item.PSObject.Properties[$Property]) { return $Item.$Property }
    $null
}

function ConvertTo-SiteNode {
    # One node of a site: its connection, module path, KME name, and an open session if one was given.
    param([Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet, [Parameter(Mandatory)]$Item, [string]$Site)
    $values = @{}
    foreach ($property in $script:SiteNodeProperties) {
        $value = Get-ItemValue $Item $property
        if ($null -ne $value -and "$value" -ne '') { $values[$property] = $value }
    }
    if (-not $values.ContainsKey('HostName')) {
        $where = if ($Site) { " of remote '$Site'" } else { '' }
        $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'ReplicationNodeInvalid' -Category InvalidArgument `
                    -Message "A node$where has no HostName. Give each node as a hashtable or object with HostName (and optionally Port, UserName, KeyFilePath, KnownHostsFile, ModulePath, Kme), or a site with Name and Nodes." -Target $Item))
    }
    if (-not $values.ContainsKey('Port')) { $values.Port = 22 }
    $name = Get-NodeName -HostName $values.HostName -Port ([int]$values.Port) -UserName $values['UserName']
    $connection = @{}
    foreach ($key in 'HostName', 'Port', 'UserName', 'KeyFilePath', 'KnownHostsFile', 'ConnectTimeoutSeconds') {
        if ($values.ContainsKey($key)) { $connection[$key] = $values[$key] }
    }
    $session = $null
    if ($values.ContainsKey('Session')) {
        $session = $values.Session
        if ($session -isnot [System.Management.Automation.Runspaces.PSSession]) {
            $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'ReplicationNodeInvalid' -Category InvalidArgument -Message "The Session given for node $name is not a PSSession." -Target $name))
        }
        # A session that broke since is replaced by a new one, as one that breaks during the work is.
        if ($session.State -ne 'Opened') { Write-Verbose "The session given for node $name is $($session.State); a new one is opened when needed."; $session = $null }
    }
    [pscustomobject]@{
        Name        = $name
        Connection  = $connection
        ModulePath  = if ($values.ContainsKey('ModulePath')) { [string]$values.ModulePath } else { 'QKDLite' }
        Kme         = if ($values.ContainsKey('Kme')) { [string]$values.Kme } else { $null }
        Session     = $session
        OwnsSession = $null -eq $session
        Ready       = $false
    }
}

function ConvertTo-ReplicationNode {
    <#
    Normalises -Node and -Remote into sites, the remote participants of a transaction. -Node takes
    single nodes (hashtables or objects with HostName, Port, UserName, KeyFilePath, KnownHostsFile,
    ModulePath, Kme, and optionally an open Session from New-ReplicationSession to reuse) and sites
    (Name plus Nodes, and Via when the site is reached through another, as Get-ReplicationRemote
    returns them); -Remote names sites in node.json. A single node is journalled as user@host:port,
    a site by its name. A reused session is left open, one opened here is closed after the operation.
    Via becomes the relay site object (Resolve-ReplicationRelay); it may also be given as that site
    itself (Name and Nodes, with their sessions to reuse), as maintenance does.
    #>
    param([Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet, [object[]]$Node, [string[]]$Remote)
    $items = @(@($Node | Where-Object { $null -ne $_ }) + @(if ($Remote) { Get-ConfiguredRemote -Cmdlet $Cmdlet -Name $Remote }))
    $names = @{}
    $sites = [System.Collections.Generic.List[object]]::new()
    foreach ($item in $items) {
        $siteNodes = Get-ItemValue $item 'Nodes'
        $siteName = Get-ItemValue $item 'Name'
        if ($null -ne $siteNodes) {
            if (-not $siteName) {
                $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'ReplicationNodeInvalid' -Category InvalidArgument -Message 'A remote site with Nodes has no Name.' -Target $item))
            }
            $members = @(foreach ($member in @($siteNodes)) { ConvertTo-SiteNode -Cmdlet $Cmdlet -Item $member -Site $siteName })
            if ($members.Count -eq 0) {
                $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'ReplicationNodeInvalid' -Category InvalidArgument -Message "Remote '$siteName' has no node." -Target $siteName))
            }
            $name = [string]$siteName
        }
        else {
            $members = @(ConvertTo-SiteNode -Cmdlet $Cmdlet -Item $item -Site $siteName)
            $name = if ($siteName) { [string]$siteName } else { $members[0].Name }
        }
        if ($name -ceq [QKDLite.Core.Replication.ReplicationJournal]::LocalNode -or $names.ContainsKey($name)) {
            $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'ReplicationNodeInvalid' -Category InvalidArgument -Message "Node $name is given twice." -Target $name))
        }
        $names[$name] = $true
        $via = Get-ItemValue $item 'Via'
        # Via names the relay site, or is that site itself (Name and Nodes), whose sessions are then reused.
        $relay = if (-not $via) { $null }
        elseif ($via -isnot [string] -and $null -ne (Get-ItemValue $via 'Nodes')) { @(ConvertTo-ReplicationNode -Cmdlet $Cmdlet -Node @($via))[0] }
        else { [string]$via }
        $sites.Add([pscustomobject]@{ Name = $name; Nodes = $members; Current = 0; Via = $relay })
    }
    Resolve-ReplicationRelay -Cmdlet $Cmdlet -Site $sites.ToArray()
    $sites
}

function Resolve-ReplicationTarget {
    <#
    The remote sites of an operation: -Node and -Remote, or every configured remote when neither is
    given. An operation with no remote at all is refused (ReplicationNoRemote).
    #>
    param([Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet, [object[]]$Node, [string[]]$Remote, [switch]$AllowNone)
    if (-not $Node -and -not $Remote) {
        $configured = @(Get-ConfiguredRemote -Cmdlet $Cmdlet)
        if ($configured.Count -eq 0 -and -not $AllowNone) {
            $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'ReplicationNoRemote' -Category InvalidArgument `
                        -Message "No remote node was given and the Replication section of '$(Get-ReplicationConfigurationFile)' names none. Give -Node or -Remote, or configure Replication.Remotes in node.json. Nothing was changed." ))
        }
        return @(if ($configured.Count) { ConvertTo-ReplicationNode -Cmdlet $Cmdlet -Node $configured })
    }
    @(ConvertTo-ReplicationNode -Cmdlet $Cmdlet -Node $Node -Remote $Remote)
}

function Close-ReplicationSites {
    param([object[]]$Participants)
    foreach ($participant in @($Participants)) {
        # A site reached Via another: the relay site's sessions too (it may be no participant itself).
        for ($site = $participant; $site; $site = if ($site.PSObject.Properties['Via']) { $site.Via } else { $null }) {
            if (-not $site.PSObject.Properties['Nodes']) { break }
            foreach ($member in $site.Nodes) {
                if ($member.Session -and $member.OwnsSession) { Remove-PSSession -Session $member.Session -ErrorAction Ignore; $member.Session = $null }
            }
        }
    }
}

function Get-RemoteNameCompletion {
    # Argument completion of -Remote: the site names of node.json.
    param($commandName, $parameterName, $wordToComplete, $commandAst, $fakeBoundParameters)
    $settings = try { Read-ReplicationSettings } catch { $null }
    if (-not $settings) { return }
    foreach ($remote in $settings.Remotes) {
        if ($remote.Name -like "$wordToComplete*") {
            $text = if ($remote.Name -match '[\s,;''"]') { "'$($remote.Name -replace "'", "''")'" } else { $remote.Name }
            [System.Management.Automation.CompletionResult]::new($text, $remote.Name, 'ParameterValue', "Remote site $($remote.Name) ($(@($remote.EffectiveNodes()).Count) node(s))")
        }
    }
}
