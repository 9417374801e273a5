function New-ReplicatedQuantumKey {
    <#
    .SYNOPSIS
        Creates keys on this node and on every other node, all or nothing, in two phases.

    .DESCRIPTION
        New-ReplicatedQuantumKey creates keys under a keyID on this (main) node from the system RNG
        (Classical), a QRNG, or the KME of a QKD link, and gives the same keys to each remote site
        (-Node, -Remote, or every remote of node.json), so that every node holds them with identical
        material, or none does.

        The labels (new UUIDs unless -Label is given) are journalled first, in this node's replication
        journal. This node then prepares the keys (New-QuantumKey -TransactionId: stored as pending,
        invisible to listing, counting and delivery) and wraps them into key blocks under the transport
        key; the key material never leaves an HSM unwrapped. Each other node prepares the blocks
        (Submit-QuantumKeyTransaction). Only when every node has prepared is the decision to commit
        journalled and carried out everywhere; otherwise every node drops the keys and the function
        stops with ReplicationAborted. After a crash, Resume-QuantumKeyReplication finishes the work
        from the journal.

        Keys from a KME (-Source Kme) never travel between nodes: this node takes them from its KME as
        the master SAE (ETSI "get key", with -SlaveSaeId), prepares them under the key_IDs the KME gave
        and journals those key_IDs; each remote site is told only the key_IDs and takes the same keys
        from its own KME as the slave SAE ("get key with key IDs"), preparing them in turn. The KME of a
        remote node is the one named by Kme in its entry (the name in that node's own node.json).
        A site reached through another (Via, a chain A -> B -> C) is not on this node's QKD link: it
        gets the QKD keys as key blocks under the transport key, which all nodes share, and needs no
        Kme.

        A remote site may list several nodes that share its key store: the first one that answers takes
        the work, and a node whose session breaks is replaced by the next. A site with Via is reached
        through the site it names: a node of that site relays each step to it (see
        about_QKDLite_Replication).

    .PARAMETER KeyId
        Purpose name of the new keys.

    .PARAMETER Count
        Number of keys (default 1, or the number of labels given).

    .PARAMETER Size
        Key size in bits, a multiple of 8 (default 256; with -Source Kme, default the KME's key size).

    .PARAMETER Source
        Classical (the system RNG, default), Qrng (with -Qrng) or Kme (with -Kme and -SlaveSaeId).

    .PARAMETER Qrng
        With -Source Qrng: the name of the QRNG in this node's node.json.

    .PARAMETER Kme
        With -Source Kme: the name of this node's KME in its node.json.

    .PARAMETER SlaveSaeId
        With -Source Kme: the SAE ID of the remote sites towards their KMEs, with which the KME shares
        the keys.

    .PARAMETER Label
        Labels for the new keys, one per key. Default: new UUIDs. Not with -Source Kme (the keys are
        labelled with their key_IDs).

    .PARAMETER Node
        Remote nodes or sites: hashtables or objects with HostName and optionally Port, UserName,
        KeyFilePath, KnownHostsFile, ModulePath, Kme and Session (see Import-ReplicatedQuantumKey), or
        sites with Name and Nodes (and Via, the site that relays to it) as Get-ReplicationRemote
        returns them. Via names another site given here or one of node.json, or is that site itself
        (Name and Nodes, whose Sessions are then reused for the relay).

    .PARAMETER Remote
        Names of remote sites in the Replication section of node.json. Without -Node and -Remote, every
        configured remote takes part.

    .PARAMETER TokenLabel
        This node's key store (a connected store). Default: the session's default key store.

    .EXAMPLE
        New-ReplicatedQuantumKey -KeyId PaymentMaster -Count 2 -Remote siteB, siteC

        Creates two 256-bit keys and stores them on this node and at sites B and C of node.json.

    .EXAMPLE
        New-ReplicatedQuantumKey -KeyId VPN-A-C -Count 100 -Source Qrng -Qrng lab-qrng -Node $nodes |
            Select-Object TransactionId, State, Remotes

        One hundred QRNG keys on every node, as one transaction.

    .EXAMPLE
        New-ReplicatedQuantumKey -KeyId LINK-A-B -Count 10 -Source Kme -Kme LinkA -SlaveSaeId SAE-B -Remote siteB

        Takes ten keys from this node's KME as master SAE; site B takes the same keys from its KME by
        key_ID. The key material never crosses the SSH channel.

    .OUTPUTS
        QKDLite.ReplicationResult
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('QKDLite.ReplicationResult')]
    param(
        [Parameter(Mandatory, Position = 0)][ValidateNotNullOrEmpty()][string]$KeyId,
        [Parameter(Position = 1)][ValidateRange(1, 100000)][int]$Count = 1,
        [int]$Size = 256,
        [ValidateSet('Classical', 'Qrng', 'Kme')][string]$Source = 'Classical',
        [ValidateNotNullOrEmpty()][string]$Qrng,
        [ValidateNotNullOrEmpty()][string]$Kme,
        [ValidateNotNullOrEmpty()][string]$SlaveSaeId,
        [ValidateNotNullOrEmpty()][string[]]$Label,
        [ValidateNotNullOrEmpty()][object[]]$Node,
        [ValidateNotNullOrEmpty()][string[]]$Remote,
        [string]$TokenLabel
    )
    Assert-ReplicationHost -Cmdlet $PSCmdlet
    $remotes = Resolve-ReplicationTarget -Cmdlet $PSCmdlet -Node $Node -Remote $Remote
    $create = @{ KeyId = $KeyId; Source = $Source }
    $remoteKme = $null
    if ($Source -eq 'Kme') {
        if (-not $Kme -or -not $SlaveSaeId -or $Label) {
            $PSCmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'KeySourceNotAvailable' -Category InvalidArgument `
                        -Message '-Source Kme needs -Kme (this node''s KME) and -SlaveSaeId (the remote sites'' SAE ID), and no -Label: the keys are labelled with their key_IDs. Nothing was created.' -Target 'Kme'))
        }
        # A site reached through another takes the keys as key blocks, so it needs no KME.
        $unbound = @(foreach ($site in $remotes) { if (-not (Test-RelayedSite $site)) { foreach ($member in $site.Nodes) { if (-not $member.Kme) { "$($member.Name) (remote $($site.Name))" } } } })
        if ($unbound.Count) {
            $PSCmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'ReplicationNodeKmeMissing' -Category InvalidArgument `
                        -Message "Node $($unbound[0]) names no Kme: each remote node must name the KME it takes QKD keys from (the name in that node's node.json). Nothing was created." -Target $unbound[0]))
        }
        try {
            $file = [QKDLite.Core.Configuration.QKDLitePaths]::DefaultConfigurationFile
            $masterSaeId = [QKDLite.Core.Configuration.NodeConfiguration]::Load($file).Kme($Kme, $file).SaeId
        }
        catch { $PSCmdlet.ThrowTerminatingError((ConvertTo-ReplicationErrorRecord $_)) }
        $labels = @()
        $create.Count = $Count
        $create.Kme = $Kme
        $create.SlaveSaeId = $SlaveSaeId
        if ($PSBoundParameters.ContainsKey('Size')) { $create.Size = $Size }
        $remoteKme = @{ KeyId = $KeyId; Size = $Size; MasterSaeId = $masterSaeId }
    }
    else {
        # @() around the whole if: an if statement unrolls a one-element array into a string, which has no Count under strict mode.
        $labels = @(if ($Label) { $Label } else { 1..$Count | ForEach-Object { [guid]::NewGuid().ToString() } })
        if ($Label -and $PSBoundParameters.ContainsKey('Count') -and $Count -ne $labels.Count) {
            $PSCmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'KeyLabelCountMismatch' -Category InvalidArgument `
                        -Message "$($labels.Count) labels were given for $Count keys; give one label per key or none. Nothing was created." -Target $Count))
        }
        $create.Label = $labels
        $create.Size = $Size
        if ($Qrng) { $create.Qrng = $Qrng }
    }
    $keys = if ($Source -eq 'Kme') { $Count } else { $labels.Count }
    $target = "$keys key(s) of keyID '$KeyId' on this node and at $(@($remotes).Count) remote site(s) ($(@($remotes.Name) -join ', '))"
    if (-not $PSCmdlet.ShouldProcess($target, "Create replicated quantum keys from the $Source source")) { return }
    Invoke-ReplicationTransaction -Cmdlet $PSCmdlet -Operation Create -KeyId $KeyId -Labels $labels -Remotes $remotes -TokenLabel $TokenLabel -Create $create -RemoteKme $remoteKme
}
