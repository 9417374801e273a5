# Chains A -> B -> C: a remote site reached through another (Via in node.json, or on a site given
# with -Node). This node stays the only coordinator and journals the far site as its own
# participant; each of that site's steps runs on a node of the relay site, which opens a
# post-quantum SSH session to the far site (New-ReplicationSession's rules apply there too) and runs
# the same idempotent step there, returning its answer. Connection details of the far site come from
# this node; the relay logs in with its own key and known-hosts files, named by those details.

# On a relay node: the sessions it opened to the next site, by node name, kept for the coordinator's
# next step. They live as long as this process, which is the coordinator's session to this node.
$script:RelaySessions = @{}

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

function Invoke-RelayedRemoteStep {
    <#
    On the coordinator: runs one step of a site reached Via another by sending it, with the route of
    sites still to go, to the first site of the chain (Invoke-RemoteStep: that site's nodes with
    their failover). When that site does not answer, the error names both sites.
    #>
    param([Parameter(Mandatory)]$Site, [Parameter(Mandatory)][hashtable]$Arguments)
    $route = @()
    $first = $Site
    while (Test-RelayedSite $first) {
        $route = @(ConvertTo-RelayHop $first) + $route
        $first = $first.Via
    }
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
    $members = foreach ($node in @($hop.Nodes)) {
        $connection = @{}
        foreach ($key in $node.Connection.Keys) { $connection[$key] = $node.Connection[$key] }
        foreach ($key in 'KeyFilePath', 'KnownHostsFile') {
            if ($connection.ContainsKey($key)) { $connection[$key] = Resolve-RelayFilePath $connection[$key] }
        }
        [pscustomobject]@{ Name = $node.Name; Connection = $connection; ModulePath = $node.ModulePath; Kme = $node.Kme; Session = $script:RelaySessions[$node.Name]; OwnsSession = $true; Ready = $false }
    }
    $site = [pscustomobject]@{ Name = $hop.Name; Nodes = @($members); Current = 0; Via = $null }
    try {
        Invoke-RelayCrashPoint -Step "Relaying:$($Arguments.Step):$($hop.Name)" -Armed $Arguments['RelayCrashAt']
        $output = Invoke-RemoteStep -Site $site -Arguments $inner
        Invoke-RelayCrashPoint -Step "Relayed:$($Arguments.Step):$($hop.Name)" -Armed $Arguments['RelayCrashAt']
        $output
    }
    catch {
        throw (Add-RelayContext -ErrorRecord $_ -Message "Remote $($hop.Name) did not answer its relay, remote $($hop.Via):")
    }
    finally {
        foreach ($member in $site.Nodes) { if ($member.Session) { $script:RelaySessions[$member.Name] = $member.Session } else { $script:RelaySessions.Remove($member.Name) } }
    }
}
