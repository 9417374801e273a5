function Remove-ReplicatedQuantumKey {
    <#
    .SYNOPSIS
        Destroys keys on this node and on every other node, all or nothing, in two phases.

    .DESCRIPTION
        Remove-ReplicatedQuantumKey deletes keys by label on this (main) node and on each node given
        with -Node. Each node first prepares the deletion (Submit-QuantumKeyTransaction -DeleteLabel: the
        keys are hidden from listing, counting and delivery); only when every node has prepared is the
        deletion committed and the keys destroyed everywhere. If any node cannot prepare it, every node
        shows the keys again and the function stops with ReplicationAborted. Every label must name a
        key on this node (else KeyNotFound, and nothing is deleted anywhere); another node that does not
        hold one of the keys skips it.

        Each node records the deleted labels, so a delayed or replayed key block can never bring a
        deleted key back through replication (KeyLabelDeleted). The transaction is journalled like Import-ReplicatedQuantumKey's, and
        Resume-QuantumKeyReplication finishes it after a crash.

        Destroying keys cannot be undone: the function asks for confirmation unless -Force is given.

    .PARAMETER Label
        Labels of the keys to destroy. Accepts the Label property of piped keys (Get-QuantumKey). All
        labels of the pipeline form one transaction.

    .PARAMETER Node
        Remote nodes or sites. A node: a hashtable or object with HostName and optionally Port,
        UserName, KeyFilePath, KnownHostsFile, ModulePath (what the node imports to load QKDLite;
        default QKDLite), Kme (its KME, for QKD keys) and Session (an open session from
        New-ReplicationSession to reuse; it is left open). A site: Name and Nodes (a list of such
        nodes sharing one key store, tried in order), and Via when it is reached through another site
        (its name, given with -Node too or configured, or that site itself with Name and Nodes, whose
        Sessions are then reused), as Get-ReplicationRemote returns it.

    .PARAMETER Remote
        Names of remote sites in the Replication section of node.json (see Get-ReplicationRemote).
        Without -Node and -Remote, every configured remote takes part.

    .PARAMETER TokenLabel
        This node's key store (a connected store). Default: the session's default key store.

    .PARAMETER Force
        Destroys without asking for confirmation (-WhatIf still wins).

    .EXAMPLE
        Get-QuantumKey -KeyId VPN-A-B | Select-Object -First 10 | Remove-ReplicatedQuantumKey -Node $nodes -Force

        Destroys the ten oldest keys of VPN-A-B on this node and on every other node.

    .OUTPUTS
        QKDLite.ReplicationResult
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('QKDLite.ReplicationResult')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('key_ID', 'KeyLabel')]
        [ValidateNotNullOrEmpty()]
        [string[]]$Label,

        [ValidateNotNullOrEmpty()]
        [object[]]$Node,

        [ValidateNotNullOrEmpty()]
        [string[]]$Remote,

        [string]$TokenLabel,

        [switch]$Force
    )
    begin {
        Assert-ReplicationHost -Cmdlet $PSCmdlet
        # Sites are checked before the first key arrives: a wrong name or node fails fast.
        $remotes = Resolve-ReplicationTarget -Cmdlet $PSCmdlet -Node $Node -Remote $Remote
        $labels = [System.Collections.Generic.List[string]]::new()
    }
    process {
        foreach ($item in $Label) { if (-not $labels.Contains($item)) { $labels.Add($item) } }
    }
    end {
        if ($labels.Count -eq 0) { return }
        # This node is the reference: a label it does not hold is a mistake, not a deletion to replicate
        # (a committed deletion keeps its labels from ever being stored again).
        $store = @{ Label = $labels.ToArray(); ErrorAction = 'SilentlyContinue' }
        if ($TokenLabel) { $store.TokenLabel = $TokenLabel }
        # A script block, not ForEach-Object -MemberName: that one honours -WhatIf and would return nothing.
        $held = @(QKDLite\Get-QuantumKey @store | ForEach-Object { $_.Label })
        $missing = @($labels | Where-Object { $held -cnotcontains $_ })
        if ($missing.Count -gt 0) {
            $PSCmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'KeyNotFound' -Category ObjectNotFound `
                        -Message "No key labelled '$($missing[0])' is in this node's key store. Nothing was deleted on any node." -Target $missing[0]))
        }
        $target = "$($labels.Count) key(s) on this node and $(@($remotes).Count) remote site(s) ($(@($remotes.Name) -join ', '))"
        if (-not ($Force -and -not $WhatIfPreference) -and -not $PSCmdlet.ShouldProcess($target, 'Destroy replicated quantum keys')) { return }
        Invoke-ReplicationTransaction -Cmdlet $PSCmdlet -Operation Delete -Labels $labels.ToArray() -Items $labels.ToArray() -Remotes $remotes -TokenLabel $TokenLabel
    }
}
