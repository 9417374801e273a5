function Test-ReplicationNode {
    <#
    .SYNOPSIS
        Checks that another node is ready for replication: reachable, post-quantum SSH, QKDLite present, same transport key.

    .DESCRIPTION
        Test-ReplicationNode opens a session as New-ReplicationSession does, imports QKDLite on the node,
        and compares the check value of the node's transport key with this node's. It returns one
        ReplicationNodeStatus object (QKDLite.ReplicationNodeStatus) per node checked and does not stop
        on a failed check:
        Reachable (the SSH port answers), KeyExchange (the negotiated algorithm), PostQuantum,
        QKDLiteVersion (empty when QKDLite cannot be imported there), TransportKeyCheckValue (the
        node's), LocalTransportKeyCheckValue, TransportKeyMatches, Ready (every check passed), and
        Problem and ErrorId for the first check that failed, besides Node, Remote and Via.

        Transport keys are compared by check value only; no key material crosses the network.

        A node of a site reached through another (Via in node.json, a chain A -> B -> C) is checked from
        that site, as its replication steps run there: a node of the relay site (the first that
        answers, the others in turn) makes the checks (its SSH connection to the node, with the relay's
        key and known-hosts files, QKDLite and the transport key there) and reports them; the check value
        is compared here. Give -Remote to check the configured sites' nodes this way, or -Via with a
        node's settings. The result's Remote names the site (with -Remote) and Via the site it was
        reached through (empty when this node checked it itself). When the relay site does not answer,
        the node is not ready and Problem names both sites ("Remote siteC is reached through remote
        siteB, which did not answer: ..."), with the connection error's id.

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

    .PARAMETER Via
        Name of the remote site in the Replication section of node.json through which the node is
        reached: the checks are made from a node of that site. The node's KeyFilePath and
        KnownHostsFile are then files on the relaying node (a relative path is taken relative to its
        node.json).

    .PARAMETER Remote
        Names of remote sites in the Replication section of node.json (wildcards allowed): every node of
        each is checked, a site with Via through its relay. An unknown name is ReplicationRemoteNotFound.

    .PARAMETER TokenLabel
        This node's key store whose transport key is compared (a connected store). Default: the
        session's default key store.

    .PARAMETER ConnectTimeoutSeconds
        How long to wait for the node (and a relay site's node) to answer, unless node.json sets its
        own ConnectTimeoutSeconds. Default 15.

    .EXAMPLE
        Test-ReplicationNode -HostName node-b.example.net -UserName qkdlite -KeyFilePath ~/.ssh/qkdlite_ed25519

        Reports whether node B is ready: the negotiated key exchange, its QKDLite version and whether its
        transport key matches this node's.

    .EXAMPLE
        Import-Csv ./nodes.csv | Test-ReplicationNode | Where-Object { -not $_.Ready } | Format-List Node, ErrorId, Problem

        Checks every node listed in a CSV file (columns HostName, Port, UserName, KeyFilePath) and shows
        the ones that are not ready, with the reason.

    .EXAMPLE
        Test-ReplicationNode -Remote siteB, siteC | Format-Table Node, Remote, Via, Ready, ErrorId

        Checks every node of the configured sites siteB and siteC; siteC, reached Via siteB, is checked
        from a node of siteB, and its result shows Via siteB.

    .OUTPUTS
        QKDLite.ReplicationNodeStatus
    #>
    [CmdletBinding(DefaultParameterSetName = 'Node')]
    [OutputType('QKDLite.ReplicationNodeStatus')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName, ParameterSetName = 'Node')][ValidateNotNullOrEmpty()][string]$HostName,
        [Parameter(ValueFromPipelineByPropertyName, ParameterSetName = 'Node')][ValidateRange(1, 65535)][int]$Port = 22,
        [Parameter(ValueFromPipelineByPropertyName, ParameterSetName = 'Node')][string]$UserName,
        [Parameter(ValueFromPipelineByPropertyName, ParameterSetName = 'Node')][string]$KeyFilePath,
        [Parameter(ValueFromPipelineByPropertyName, ParameterSetName = 'Node')][string]$KnownHostsFile,
        [Parameter(ValueFromPipelineByPropertyName, ParameterSetName = 'Node')][ValidateNotNullOrEmpty()][string]$ModulePath = 'QKDLite',
        [Parameter(ValueFromPipelineByPropertyName, ParameterSetName = 'Node')][string]$Via,
        [Parameter(Mandatory, ParameterSetName = 'Remote')][SupportsWildcards()][ValidateNotNullOrEmpty()][string[]]$Remote,
        [string]$TokenLabel,
        [ValidateRange(1, 600)][int]$ConnectTimeoutSeconds = 15
    )
    process {
        Assert-ReplicationHost -Cmdlet $PSCmdlet
        $localCheckValue = $null
        $local = @{ ErrorAction = 'Stop' }
        if ($TokenLabel) { $local.TokenLabel = $TokenLabel }
        try { $localCheckValue = (QKDLite\Get-TransportKey @local).CheckValue } catch { Write-Verbose "This node has no transport key: $($_.Exception.Message)" }

        # The nodes to check, in sites: the configured ones, or the node given, reached Via a site if named.
        $sites = @()
        try {
            if ($PSCmdlet.ParameterSetName -eq 'Remote') { $sites = @(ConvertTo-ReplicationNode -Cmdlet $PSCmdlet -Remote $Remote) }
            else {
                $node = @{ ModulePath = $ModulePath }
                foreach ($name in 'HostName', 'Port', 'UserName', 'KeyFilePath', 'KnownHostsFile', 'ConnectTimeoutSeconds') {
                    if ($PSBoundParameters.ContainsKey($name)) { $node[$name] = $PSBoundParameters[$name] }
                }
                if (-not $node.ContainsKey('Port')) { $node.Port = $Port }
                $item = @{ Name = Get-NodeName $HostName $Port $UserName; Nodes = @($node) }
                if ($Via) { $item.Via = $Via }
                $sites = @(ConvertTo-ReplicationNode -Cmdlet $PSCmdlet -Node $item)
            }
            # -ConnectTimeoutSeconds for every node on the way that does not set its own.
            foreach ($member in @($sites | ForEach-Object { for ($site = $_; $site; $site = $site.Via) { $site.Nodes } })) {
                if ($PSBoundParameters.ContainsKey('ConnectTimeoutSeconds') -and -not $member.Connection.ContainsKey('ConnectTimeoutSeconds')) { $member.Connection.ConnectTimeoutSeconds = $ConnectTimeoutSeconds }
            }

            foreach ($site in $sites) {
                foreach ($member in $site.Nodes) {
                    $timeout = if ($member.Connection.ContainsKey('ConnectTimeoutSeconds')) { [int]$member.Connection.ConnectTimeoutSeconds } else { $ConnectTimeoutSeconds }
                    $check = if (Test-RelayedSite $site) { Test-RelayedNodeConnection -Site $site -Member $member -ConnectTimeoutSeconds $timeout }
                    else { Test-NodeConnection -Connection $member.Connection -ModulePath $member.ModulePath -ConnectTimeoutSeconds $timeout }
                    ConvertTo-ReplicationNodeStatus -Check $check -Node $member.Name -Remote $(if ($PSCmdlet.ParameterSetName -eq 'Remote') { $site.Name }) `
                        -Via $(if (Test-RelayedSite $site) { $site.Via.Name }) -LocalCheckValue $localCheckValue
                }
            }
        }
        finally { Close-ReplicationSites -Participants $sites }
    }
}
