function Test-ReplicationNode {
    <#
    .SYNOPSIS
        Checks that another node is ready for replication: reachable, post-quantum SSH, QKDLite present, same transport key.

    .DESCRIPTION
        Test-ReplicationNode opens a session as New-ReplicationSession does, imports QKDLite on the node,
        and compares the check value of the node's transport key with this node's. It returns one
        ReplicationNodeStatus object (QKDLite.ReplicationNodeStatus) and does not stop on a failed check:
        Reachable (the SSH port answers), KeyExchange (the negotiated algorithm), PostQuantum,
        QKDLiteVersion (empty when QKDLite cannot be imported there), TransportKeyCheckValue (the
        node's), LocalTransportKeyCheckValue, TransportKeyMatches, Ready (every check passed), and
        Problem and ErrorId for the first check that failed.

        Transport keys are compared by check value only; no key material crosses the network.

    .PARAMETER HostName
        Name or address of the node.

    .PARAMETER Port
        SSH port of the node. Default 22.

    .PARAMETER UserName
        User to log in as on the node.

    .PARAMETER KeyFilePath
        Private key file for the SSH login.

    .PARAMETER KnownHostsFile
        Known-hosts file holding the node's host key. Default: ~/.ssh/known_hosts.

    .PARAMETER ModulePath
        What the node imports to load QKDLite: a module name on its PSModulePath, or the path of its
        QKDLite.psd1. Default: QKDLite.

    .PARAMETER TokenLabel
        This node's key store whose transport key is compared (a connected store). Default: the
        session's default key store.

    .PARAMETER ConnectTimeoutSeconds
        How long to wait for the node to answer. Default 15.

    .EXAMPLE
        Test-ReplicationNode -HostName node-b.example.net -UserName qkdlite -KeyFilePath ~/.ssh/qkdlite_ed25519

        Reports whether node B is ready: the negotiated key exchange, its QKDLite version and whether its
        transport key matches this node's.

    .EXAMPLE
        Import-Csv ./nodes.csv | Test-ReplicationNode | Where-Object { -not $_.Ready } | Format-List Node, ErrorId, Problem

        Checks every node listed in a CSV file (columns HostName, Port, UserName, KeyFilePath) and shows
        the ones that are not ready, with the reason.

    .OUTPUTS
        QKDLite.ReplicationNodeStatus
    #>
    [CmdletBinding()]
    [OutputType('QKDLite.ReplicationNodeStatus')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)][ValidateNotNullOrEmpty()][string]$HostName,
        [Parameter(ValueFromPipelineByPropertyName)][ValidateRange(1, 65535)][int]$Port = 22,
        [Parameter(ValueFromPipelineByPropertyName)][string]$UserName,
        [Parameter(ValueFromPipelineByPropertyName)][string]$KeyFilePath,
        [Parameter(ValueFromPipelineByPropertyName)][string]$KnownHostsFile,
        [Parameter(ValueFromPipelineByPropertyName)][ValidateNotNullOrEmpty()][string]$ModulePath = 'QKDLite',
        [string]$TokenLabel,
        [ValidateRange(1, 600)][int]$ConnectTimeoutSeconds = 15
    )
    process {
        Assert-ReplicationHost -Cmdlet $PSCmdlet
        $status = [ordered]@{
            PSTypeName                  = 'QKDLite.ReplicationNodeStatus'
            Node                        = Get-NodeName $HostName $Port $UserName
            Reachable                   = $false
            KeyExchange                 = $null
            PostQuantum                 = $false
            QKDLiteVersion              = $null
            TransportKeyCheckValue      = $null
            LocalTransportKeyCheckValue = $null
            TransportKeyMatches         = $false
            Ready                       = $false
            Problem                     = $null
            ErrorId                     = $null
        }
        $local = @{ ErrorAction = 'Stop' }
        if ($TokenLabel) { $local.TokenLabel = $TokenLabel }
        try { $status.LocalTransportKeyCheckValue = (QKDLite\Get-TransportKey @local).CheckValue } catch { Write-Verbose "This node has no transport key: $($_.Exception.Message)" }

        $client = [System.Net.Sockets.TcpClient]::new()
        try {
            $status.Reachable = $client.ConnectAsync($HostName, $Port).Wait($ConnectTimeoutSeconds * 1000) -and $client.Connected
        }
        catch { $status.Reachable = $false }
        finally { $client.Dispose() }
        if (-not $status.Reachable) {
            $status.ErrorId = 'ReplicationNodeUnreachable'
            $status.Problem = "Nothing answers on $HostName port $Port."
            return [pscustomobject]$status
        }

        $session = $null
        try {
            $connection = @{}
            foreach ($name in 'HostName', 'Port', 'UserName', 'KeyFilePath', 'KnownHostsFile', 'ConnectTimeoutSeconds') {
                if ($PSBoundParameters.ContainsKey($name)) { $connection[$name] = $PSBoundParameters[$name] }
            }
            $session = New-ReplicationSession @connection -ErrorAction Stop
            $status.KeyExchange = $session.KeyExchange
            $status.PostQuantum = $true
            $remote = Invoke-Command -Session $session -ErrorAction Stop -ArgumentList $ModulePath -ScriptBlock {
                param($ModulePath)
                $module = Import-Module -Name $ModulePath -PassThru -ErrorAction Stop -WarningAction SilentlyContinue | Where-Object Name -EQ 'QKDLite' | Select-Object -First 1
                $checkValue = $null
                $problem = $null
                try { $checkValue = (Get-TransportKey -ErrorAction Stop).CheckValue } catch { $problem = "$($_.FullyQualifiedErrorId -replace ',.*$', ''): $($_.Exception.Message)" }
                [pscustomobject]@{ Version = [string]$module.Version; CheckValue = $checkValue; Problem = $problem }
            }
            $status.QKDLiteVersion = $remote.Version
            $status.TransportKeyCheckValue = $remote.CheckValue
            $status.TransportKeyMatches = [bool]$remote.CheckValue -and $remote.CheckValue -ceq $status.LocalTransportKeyCheckValue
            if (-not $remote.CheckValue) {
                $status.ErrorId = 'ReplicationTransportKeyMissing'
                $status.Problem = "The node has no usable transport key: $($remote.Problem)"
            }
            elseif (-not $status.LocalTransportKeyCheckValue) {
                $status.ErrorId = 'ReplicationTransportKeyMissing'
                $status.Problem = 'This node has no transport key. Provision one with Set-TransportKey.'
            }
            elseif (-not $status.TransportKeyMatches) {
                $status.ErrorId = 'ReplicationTransportKeyMismatch'
                $status.Problem = "The node's transport key has check value $($remote.CheckValue); this node's has $($status.LocalTransportKeyCheckValue). Key blocks made here would be refused there."
            }
            else {
                $status.Ready = $true
            }
        }
        catch {
            $status.ErrorId = $_.FullyQualifiedErrorId -replace ',.*$', ''
            if ($status.PostQuantum -and -not $status.QKDLiteVersion) { $status.ErrorId = 'ReplicationModuleNotFound' }
            $status.Problem = $_.Exception.Message
        }
        finally {
            if ($session) { Remove-PSSession -Session $session }
        }
        [pscustomobject]$status
    }
}
