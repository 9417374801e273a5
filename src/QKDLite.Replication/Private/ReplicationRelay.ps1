# Chains A -> B -> C: a remote site reached through another (Via in node.json, or on a site given
# with -Node). This node stays the only coordinator and journals the far site as its own
# participant; each of that site's steps runs on a node of the relay site, which opens a
# post-quantum SSH session to the far site (New-ReplicationSession's rules apply there too) and runs
# the same idempotent step there, returning its answer. Connection details of the far site come from
# this node; the relay logs in with its own key and known-hosts files, named by those details.

# Commands outside a transaction's steps (maintenance's key count, Test-ReplicationNode's checks)
# take the same way: Invoke-SiteCommand on such a site sends the command as text, with its arguments
# and the route, to the first site of the chain, and the relay at each site passes it on.

# On a relay node: the sessions it opened to the next site, by node name, kept for the coordinator's
# next step. They live as long as this process, which is the coordinator's session to this node.
$script:RelaySessions = @{}

# What a relay node runs for a command of the coordinator: Invoke-RelayedCommand, an internal part of
# replication that the module does not export.
$script:RelayCommandScript = {
    param($Route, $Command, $CommandArguments)
    $replication = (Get-Module -Name QKDLite).NestedModules | Where-Object Name -EQ 'QKDLite.Replication'
    & $replication { param($Route, $Command, $CommandArguments) Invoke-RelayedCommand -Route $Route -Command $Command -ArgumentList $CommandArguments } $Route $Command $CommandArguments
}

function Resolve-ReplicationRelay {
    <#
    Replaces each site's Via (a name) by the relay site object: one of the sites given (so its
    sessions are shared), else the configured remote of that name. Refuses a site reached Via itself
    or in a cycle (ReplicationNodeInvalid) and a Via that names no site (ReplicationRemoteNotFound).
    #>
    param([Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet, [AllowEmptyCollection()][object[]]$Site)
    $byName = @{}
    foreach ($one in $Site) { $byName[$one.Name] = $one }
    foreach ($one in $Site) {
        if ($one.Via -isnot [string]) { continue }
        if ($one.Via -eq $one.Name) {
            $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'ReplicationNodeInvalid' -Category InvalidArgument `
                        -Message "Remote '$($one.Name)' is reached Via itself. Via names the remote site that relays to it. Nothing was changed." -Target $one.Name))
        }
        $relay = $byName[$one.Via]
        if (-not $relay) {
            $settings = $null
            try { $settings = Read-ReplicationSettings } catch { $Cmdlet.ThrowTerminatingError((ConvertTo-ReplicationErrorRecord $_)) }
            if (-not $settings -or -not $settings.Find($one.Via)) {
                $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'ReplicationRemoteNotFound' -Category ObjectNotFound `
                            -Message "Remote '$($one.Name)' is reached Via '$($one.Via)', which is neither given with -Node nor a remote in '$(Get-ReplicationConfigurationFile)'. Nothing was changed." -Target $one.Via))
            }
            # The configured relay, with its own Via resolved in turn (node.json has no cycle: it is validated).
            $relay = @(ConvertTo-ReplicationNode -Cmdlet $Cmdlet -Remote ([WildcardPattern]::Escape($settings.Find($one.Via).Name)))[0]
        }
        $one.Via = $relay
    }
    foreach ($one in $Site) {
        $path = @($one.Name)
        for ($hop = $one.Via; $hop; $hop = $hop.Via) {
            $looped = $path -contains $hop.Name
            $path += $hop.Name
            if ($looped) {
                $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'ReplicationNodeInvalid' -Category InvalidArgument `
                            -Message "The remotes $($path -join ' -> ') are reached Via each other in a cycle. Nothing was changed." -Target $one.Name))
            }
            if ($hop.Via -is [string]) { break }
        }
    }
}

function Test-RelayedSite {
    # True for a participant reached through another site.
    param($Participant)
    [bool]($Participant.PSObject.Properties['Via'] -and $Participant.Via)
}

function ConvertTo-RelayHop {
    # What a relay needs to reach one site: its name and each node's connection, module path and
    # KME name, as plain hashtables (they cross the remoting channel).
    param([Parameter(Mandatory)]$Site)
    @{
        Name  = $Site.Name
        Via   = $Site.Via.Name
        Nodes = @(foreach ($member in $Site.Nodes) {
                @{ Name = $member.Name; Connection = $member.Connection.Clone(); ModulePath = $member.ModulePath; Kme = $member.Kme }
            })
    }
}

function Add-RelayContext {
    <#
    An error of a relayed step that did not come back as an answer from the far side (it is not a
    RemoteException: no session, or the session broke) gets a message naming both sites; its error
    id and category stay. An answer passes through unchanged, with its own id.
    #>
    param([Parameter(Mandatory)][System.Management.Automation.ErrorRecord]$ErrorRecord, [Parameter(Mandatory)][string]$Message)
    if ($ErrorRecord.Exception -is [System.Management.Automation.RemoteException]) { return $ErrorRecord }
    $exception = [InvalidOperationException]::new("$Message $($ErrorRecord.Exception.Message)", $ErrorRecord.Exception)
    $id = $ErrorRecord.FullyQualifiedErrorId -replace ',.*$', ''
    [System.Management.Automation.ErrorRecord]::new($exception, $id, $ErrorRecord.CategoryInfo.Category, $ErrorRecord.TargetObject)
}

function Get-RelayRoute {
    # The first site of the chain to -Site (one this node reaches itself), and the hops from there on
    # to -Site, as the relays take them (ConvertTo-RelayHop). Returns the two as a pair.
    param([Parameter(Mandatory)]$Site)
    $route = @()
    $first = $Site
    while (Test-RelayedSite $first) {
        $route = @(ConvertTo-RelayHop $first) + $route
        $first = $first.Via
    }
    $first, $route
}

function Invoke-RelayedRemoteStep {
    <#
    On the coordinator: runs one step of a site reached Via another by sending it, with the route of
    sites still to go, to the first site of the chain (Invoke-RemoteStep: that site's nodes with
    their failover). When that site does not answer, the error names both sites.
    #>
    param([Parameter(Mandatory)]$Site, [Parameter(Mandatory)][hashtable]$Arguments)
    $first, $route = Get-RelayRoute $Site
    $call = $Arguments.Clone()
    $call.Route = $route
    # Test only: named relay steps where the relaying process is to be killed. The coordinating
    # process carries the setting and sends it with the step, so that only the relay of this
    # coordinator's transactions dies there, and a resume or an inspecting session does not.
    if ($env:QKDLITE_TEST_RELAY_CRASH_AT) { $call.RelayCrashAt = $env:QKDLITE_TEST_RELAY_CRASH_AT }
    try { Invoke-RemoteStep -Site $first -Arguments $call }
    catch {
        throw (Add-RelayContext -ErrorRecord $_ -Message "Remote $($Site.Name) is reached through remote $($first.Name), which did not answer:")
    }
}

function Invoke-RelayCrashPoint {
    # Test only: the relay of a step dies here (SIGKILL, as a power cut) when the coordinator named the
    # step: Relaying:<Step>:<site> before the step goes on to the site, Relayed:<Step>:<site> after its
    # answer and before the relay answers. Several steps may be named, separated by commas.
    param([Parameter(Mandatory)][string]$Step, [string]$Armed)
    if ($Armed -and ($Armed -split ',' | ForEach-Object Trim) -ccontains $Step) {
        [System.Diagnostics.Process]::GetCurrentProcess().Kill()
        Start-Sleep -Seconds 60
    }
}

function Resolve-RelayFilePath {
    # A key or known-hosts file named for the far site is a file of the relay node: a relative path is
    # taken relative to the relay node's node.json, as its own configuration's paths are.
    param([string]$Path)
    if (-not $Path -or [System.IO.Path]::IsPathRooted($Path) -or $Path.StartsWith('~')) { return $Path }
    $directory = Split-Path -Parent ([QKDLite.Core.Configuration.QKDLitePaths]::DefaultConfigurationFile)
    [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($directory, $Path))
}

function ConvertFrom-RelayConnection {
    # On a relay node: a connection of the far site as New-ReplicationSession takes it, its files those of this node.
    param([Parameter(Mandatory)][System.Collections.IDictionary]$Connection)
    $resolved = @{}
    foreach ($key in $Connection.Keys) { $resolved[$key] = $Connection[$key] }
    foreach ($key in 'KeyFilePath', 'KnownHostsFile') {
        if ($resolved.ContainsKey($key)) { $resolved[$key] = Resolve-RelayFilePath $resolved[$key] }
    }
    $resolved
}

function ConvertFrom-RelayHop {
    # On a relay node: the next site of a route as a site object, with the sessions this process keeps to its nodes.
    param([Parameter(Mandatory)]$Hop)
    $members = foreach ($node in @($Hop.Nodes)) {
        [pscustomobject]@{ Name = $node.Name; Connection = (ConvertFrom-RelayConnection $node.Connection); ModulePath = $node.ModulePath; Kme = $node.Kme; Session = $script:RelaySessions[$node.Name]; OwnsSession = $true; Ready = $false }
    }
    [pscustomobject]@{ Name = $Hop.Name; Nodes = @($members); Current = 0; Via = $null }
}

function Save-RelaySession {
    # On a relay node: keeps the sessions of -Site (from ConvertFrom-RelayHop) for the coordinator's next call.
    param([Parameter(Mandatory)]$Site)
    foreach ($member in $Site.Nodes) { if ($member.Session) { $script:RelaySessions[$member.Name] = $member.Session } else { $script:RelaySessions.Remove($member.Name) } }
}

function Invoke-RelayedStep {
    <#
    On the relay node: runs the step on the next site of the route (its nodes in order, with the same
    failover as the coordinator's Invoke-RemoteStep) and returns its answer. The sessions opened here
    are kept for the coordinator's next step (a transaction's prepare and commit share them) and end
    with this process. An error of the far site comes back with its own id; a far site that does not
    answer is an error naming both sites.
    #>
    param([Parameter(Mandatory)][hashtable]$Arguments)
    $route = @($Arguments['Route'])
    $hop = $route[0]
    $inner = $Arguments.Clone()
    $inner.Remove('Route')
    if ($route.Count -gt 1) { $inner.Route = @($route | Select-Object -Skip 1) }
    $site = ConvertFrom-RelayHop $hop
    try {
        Invoke-RelayCrashPoint -Step "Relaying:$($Arguments.Step):$($hop.Name)" -Armed $Arguments['RelayCrashAt']
        $output = Invoke-RemoteStep -Site $site -Arguments $inner
        Invoke-RelayCrashPoint -Step "Relayed:$($Arguments.Step):$($hop.Name)" -Armed $Arguments['RelayCrashAt']
        $output
    }
    catch {
        throw (Add-RelayContext -ErrorRecord $_ -Message "Remote $($hop.Name) did not answer its relay, remote $($hop.Via):")
    }
    finally { Save-RelaySession -Site $site }
}

function Invoke-RelayedSiteCommand {
    <#
    On the coordinator: Invoke-SiteCommand for a site reached Via another. The command goes as text,
    with its arguments and the route of sites still to go, to the first site of the chain (its nodes
    with their failover), whose relay passes it on (Invoke-RelayedCommand). When that site does not
    answer, the error names both sites.
    #>
    param([Parameter(Mandatory)]$Site, [Parameter(Mandatory)][scriptblock]$ScriptBlock, [object[]]$ArgumentList = @())
    $first, $route = Get-RelayRoute $Site
    try { Invoke-SiteCommand -Site $first -ScriptBlock $script:RelayCommandScript -ArgumentList $route, $ScriptBlock.ToString(), $ArgumentList }
    catch {
        throw (Add-RelayContext -ErrorRecord $_ -Message "Remote $($Site.Name) is reached through remote $($first.Name), which did not answer:")
    }
}

function Invoke-RelayedCommand {
    <#
    On a relay node: runs a command of the coordinator on the next site of the route (its nodes in
    order, with Invoke-SiteCommand's failover), or passes it on to that site's relay when the route
    goes further, and returns the output. The sessions opened here are kept for the coordinator's
    next call. An error of the far site comes back with its own id; a far site that does not answer
    is an error naming both sites.
    #>
    param([Parameter(Mandatory)][object[]]$Route, [Parameter(Mandatory)][string]$Command, [object[]]$ArgumentList = @())
    $hop = $Route[0]
    $site = ConvertFrom-RelayHop $hop
    try {
        if ($Route.Count -gt 1) {
            $further = @($Route | Select-Object -Skip 1)
            Invoke-SiteCommand -Site $site -ScriptBlock $script:RelayCommandScript -ArgumentList $further, $Command, $ArgumentList
        }
        else { Invoke-SiteCommand -Site $site -ScriptBlock ([scriptblock]::Create($Command)) -ArgumentList $ArgumentList }
    }
    catch {
        throw (Add-RelayContext -ErrorRecord $_ -Message "Remote $($hop.Name) did not answer its relay, remote $($hop.Via):")
    }
    finally { Save-RelaySession -Site $site }
}
