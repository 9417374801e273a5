function Import-ReplicatedQuantumKey {
    <#
    .SYNOPSIS
        Imports key blocks on this node and on every other node, all or nothing, in two phases.

    .DESCRIPTION
        Import-ReplicatedQuantumKey stores the keys of key blocks on this (main) node and on each node
        given with -Node, so that every node holds them with identical material, or none does.

        It journals the transaction (labels and nodes, never key material) in this node's replication
        journal, then asks each node, this one first, to prepare it (Submit-QuantumKeyTransaction: the
        block is verified under that node's transport key and its key stored as pending, invisible to
        listing, counting and delivery). Only when every node has prepared does it journal the decision
        to commit and tell every node (Complete-QuantumKeyTransaction); if any node cannot prepare, it
        journals an abort and every node drops what it prepared (Undo-QuantumKeyTransaction), and the
        function stops with ReplicationAborted naming the node and the cause.

        If this process stops in between, Resume-QuantumKeyReplication finishes the transaction from the
        journal: it commits what was decided committed and aborts everything else. A node that cannot
        be reached for the decision keeps the transaction open in the journal (Finished is false, and a
        warning says which node); Resume-QuantumKeyReplication completes it later.

        Each remote node is reached over SSH with a post-quantum key exchange (see New-ReplicationSession)
        and must run QKDLite with a key store that shares this node's transport key (Test-ReplicationNode).

    .PARAMETER KeyBlock
        Key blocks to import: KeyBlock objects from Export-QuantumKey, or their one-line text. Blocks from
        the whole pipeline form one transaction.

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
        This node's key store (a connected store). Default: the session's default key store. Remote
        nodes use their own default key store.

    .EXAMPLE
        $nodes = @(@{ HostName = 'node-b.example.net'; UserName = 'qkdlite'; KeyFilePath = '~/.ssh/qkdlite_ed25519' })
        Import-QuantumKey -Path ./from-site-d.blocks -WhatIf
        Get-Content ./from-site-d.blocks | Import-ReplicatedQuantumKey -Node $nodes

        Imports the keys of a key block file on this node and on node B, as one transaction.

    .EXAMPLE
        Get-QuantumKey -TokenLabel Staging -KeyId VPN-A-B | Export-QuantumKey -TokenLabel Staging | Import-ReplicatedQuantumKey -Node $nodes

        Moves staged keys into production on every node at once.

    .OUTPUTS
        QKDLite.ReplicationResult: TransactionId, Operation, Decision, Finished, KeyId, Labels, Nodes.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('QKDLite.ReplicationResult')]
    param(
        [Parameter(Mandatory, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('Text')]
        [ValidateNotNullOrEmpty()]
        [string[]]$KeyBlock,

        [ValidateNotNullOrEmpty()]
        [object[]]$Node,

        [ValidateNotNullOrEmpty()]
        [string[]]$Remote,

        [string]$TokenLabel
    )
    begin {
        Assert-ReplicationHost -Cmdlet $PSCmdlet
        # Sites are checked before the first key arrives: a wrong name or node fails fast.
        $remotes = Resolve-ReplicationTarget -Cmdlet $PSCmdlet -Node $Node -Remote $Remote
        $blocks = [System.Collections.Generic.List[string]]::new()
    }
    process {
        foreach ($text in $KeyBlock) { if ($text.Trim()) { $blocks.Add($text.Trim()) } }
    }
    end {
        if ($blocks.Count -eq 0) { return }
        $labels = [System.Collections.Generic.List[string]]::new()
        $keyIds = [System.Collections.Generic.HashSet[string]]::new([StringComparer]::OrdinalIgnoreCase)
        foreach ($text in $blocks) {
            try { $header = [QKDLite.Core.KeyBlocks.KeyBlock]::Parse($text) }
            catch { $PSCmdlet.ThrowTerminatingError((ConvertTo-ReplicationErrorRecord $_)) }
            if ($labels.Contains($header.Label)) {
                $PSCmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'DuplicateKeyLabel' -Category InvalidArgument -Message "Key label '$($header.Label)' appears twice among the key blocks. Nothing was imported." -Target $header.Label))
            }
            $labels.Add($header.Label)
            $null = $keyIds.Add($header.KeyId)
        }
        $keyId = if ($keyIds.Count -eq 1) { @($keyIds)[0] } else { $null }
        $target = "$($labels.Count) key(s) on this node and $(@($remotes).Count) remote site(s) ($(@($remotes.Name) -join ', '))"
        if (-not $PSCmdlet.ShouldProcess($target, 'Import replicated quantum keys')) { return }
        Invoke-ReplicationTransaction -Cmdlet $PSCmdlet -Operation Import -KeyId $keyId -Labels $labels.ToArray() -Items $blocks.ToArray() -Remotes $remotes -TokenLabel $TokenLabel
    }
}
