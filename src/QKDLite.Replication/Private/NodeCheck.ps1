# The checks of Test-ReplicationNode on one remote node, made from this node, or from the relay of a
# site reached Via another (the relay opens the session to the far node, as it does for the steps).

function Test-NodeConnection {
    <#
    Checks one node from where this runs: Reachable (its SSH port answers), the session as
    New-ReplicationSession opens it (KeyExchange, PostQuantum), QKDLite imported there
    (QKDLiteVersion) and the check value of its transport key (TransportKeyCheckValue, else
    TransportKeyProblem). ErrorId and Problem name the first failure. Never throws.
    -Connection holds New-ReplicationSession's parameters; -ConnectTimeoutSeconds bounds the port check.
    #>
    param([Parameter(Mandatory)][System.Collections.IDictionary]$Connection, [Parameter(Mandatory)][string]$ModulePath, [Parameter(Mandatory)][int]$ConnectTimeoutSeconds)
    $check = [ordered]@{
        Reachable              = $false
        KeyExchange            = $null
        PostQuantum            = $false
        QKDLiteVersion         = $null
        TransportKeyCheckValue = $null
        TransportKeyProblem    = $null
        ErrorId                = $null
        Problem                = $null
    }
    $port = if ($Connection['Port']) { [int]$Connection['Port'] } else { 22 }
    $client = [System.Net.Sockets.TcpClient]::new()
    try { $check.Reachable = $client.ConnectAsync($Connection['HostName'], $port).Wait($ConnectTimeoutSeconds * 1000) -and $client.Connected }
    catch { $check.Reachable = $false }
    finally { $client.Dispose() }
    if (-not $check.Reachable) {
        $check.ErrorId = 'ReplicationNodeUnreachable'
        $check.Problem = "Nothing answers on $($Connection['HostName']) port $port."
        return [pscustomobject]$check
    }

    $session = $null
    try {
        $session = New-ReplicationSession @Connection -ErrorAction Stop
        $check.KeyExchange = $session.KeyExchange
        $check.PostQuantum = $true
        $remote = Invoke-Command -Session $session -ErrorAction Stop -ArgumentList $ModulePath -ScriptBlock {
            param($ModulePath)
            $module = Import-Module -Name $ModulePath -PassThru -ErrorAction Stop -WarningAction SilentlyContinue | Where-Object Name -EQ 'QKDLite' | Select-Object -First 1
            $checkValue = $null
            $problem = $null
            try { $checkValue = (Get-TransportKey -ErrorAction Stop).CheckValue } catch { $problem = "$($_.FullyQualifiedErrorId -replace ',.*$', ''): $($_.Exception.Message)" }
            [pscustomobject]@{ Version = [string]$module.Version; CheckValue = $checkValue; Problem = $problem }
        }
        $check.QKDLiteVersion = $remote.Version
        $check.TransportKeyCheckValue = $remote.CheckValue
        $check.TransportKeyProblem = $remote.Problem
    }
    catch {
        $check.ErrorId = $_.FullyQualifiedErrorId -replace ',.*$', ''
        if ($check.PostQuantum -and -not $check.QKDLiteVersion) { $check.ErrorId = 'ReplicationModuleNotFound' }
        $check.Problem = $_.Exception.Message
    }
    finally {
        if ($session) { Remove-PSSession -Session $session }
    }
    [pscustomobject]$check
}

function Test-RelayedNodeConnection {
    <#
    Test-NodeConnection for node -Member of a site reached Via another, made on the relay site (a node
    of it that answers, with Invoke-SiteCommand's failover; itself reached through its own relay if
    it has one). The far node's files are the relay's (ConvertFrom-RelayConnection). When the relay
    site does not answer (or cannot make the checks), the result says so, naming both sites, with
    the error's id.
    #>
    param([Parameter(Mandatory)]$Site, [Parameter(Mandatory)]$Member, [Parameter(Mandatory)][int]$ConnectTimeoutSeconds)
    try {
        $check = Invoke-SiteCommand -Site $Site.Via -ArgumentList $Member.Connection, $Member.ModulePath, $ConnectTimeoutSeconds -ScriptBlock {
            param($Connection, $ModulePath, $ConnectTimeoutSeconds)
            # Internal parts of replication, which the module does not export.
            $replication = (Get-Module -Name QKDLite).NestedModules | Where-Object Name -EQ 'QKDLite.Replication'
            & $replication {
                param($Connection, $ModulePath, $ConnectTimeoutSeconds)
                Test-NodeConnection -Connection (ConvertFrom-RelayConnection $Connection) -ModulePath $ModulePath -ConnectTimeoutSeconds $ConnectTimeoutSeconds
            } $Connection $ModulePath $ConnectTimeoutSeconds
        }
        if ($check.Problem) { $check.Problem = "Remote $($Site.Name) did not pass the checks of its relay, remote $($Site.Via.Name): $($check.Problem)" }
        $check
    }
    catch {
        $why = if ($_.Exception -is [System.Management.Automation.RemoteException]) { 'which could not check it' } else { 'which did not answer' }
        [pscustomobject]@{
            Reachable = $false; KeyExchange = $null; PostQuantum = $false; QKDLiteVersion = $null; TransportKeyCheckValue = $null; TransportKeyProblem = $null
            ErrorId = $_.FullyQualifiedErrorId -replace ',.*$', ''
            Problem = "Remote $($Site.Name) is reached through remote $($Site.Via.Name), ${why}: $($_.Exception.Message)"
        }
    }
}

function ConvertTo-ReplicationNodeStatus {
    # Test-ReplicationNode's result for one node: its checks (Test-NodeConnection) and the comparison of its transport key with this node's.
    param([Parameter(Mandatory)]$Check, [Parameter(Mandatory)][string]$Node, [string]$Remote, [string]$Via, [string]$LocalCheckValue)
    $status = [ordered]@{
        PSTypeName                  = 'QKDLite.ReplicationNodeStatus'
        Node                        = $Node
        Remote                      = if ($Remote) { $Remote } else { $null }
        Via                         = if ($Via) { $Via } else { $null }
        Reachable                   = [bool]$Check.Reachable
        KeyExchange                 = $Check.KeyExchange
        PostQuantum                 = [bool]$Check.PostQuantum
        QKDLiteVersion              = $Check.QKDLiteVersion
        TransportKeyCheckValue      = $Check.TransportKeyCheckValue
        LocalTransportKeyCheckValue = if ($LocalCheckValue) { $LocalCheckValue } else { $null }
        TransportKeyMatches         = $false
        Ready                       = $false
        Problem                     = $Check.Problem
        ErrorId                     = $Check.ErrorId
    }
    if (-not $status.ErrorId) {
        $status.TransportKeyMatches = [bool]$Check.TransportKeyCheckValue -and $Check.TransportKeyCheckValue -ceq $LocalCheckValue
        if (-not $Check.TransportKeyCheckValue) {
            $status.ErrorId = 'ReplicationTransportKeyMissing'
            $status.Problem = "The node has no usable transport key: $($Check.TransportKeyProblem)"
        }
        elseif (-not $LocalCheckValue) {
            $status.ErrorId = 'ReplicationTransportKeyMissing'
            $status.Problem = 'This node has no transport key. Provision one with Set-TransportKey.'
        }
        elseif (-not $status.TransportKeyMatches) {
            $status.ErrorId = 'ReplicationTransportKeyMismatch'
            $status.Problem = "The node's transport key has check value $($Check.TransportKeyCheckValue); this node's has $LocalCheckValue. Key blocks made here would be refused there."
        }
        else {
            $status.Ready = $true
        }
    }
    [pscustomobject]$status
}
