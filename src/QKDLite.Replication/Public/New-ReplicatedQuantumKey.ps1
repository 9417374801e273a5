function New-ReplicatedQuantumKey {
    <#
    .SYNOPSIS
        Creates keys on this node and on every other node, all or nothing, in two phases.

    .DESCRIPTION
        New-ReplicatedQuantumKey creates keys under a keyID on this (main) node from the system RNG
        (Classical) or a QRNG, and gives the same keys to each node given with -Node, so that every node
        holds them with identical material, or none does.

        The labels (new UUIDs unless -Label is given) are journalled first, in this node's replication
        journal. This node then prepares the keys (New-QuantumKey -TransactionId: stored as pending,
        invisible to listing, counting and delivery) and wraps them into key blocks under the transport
        key; the key material never leaves an HSM unwrapped. Each other node prepares the blocks
        (Submit-QuantumKeyTransaction). Only when every node has prepared is the decision to commit
        journalled and carried out everywhere; otherwise every node drops the keys and the function
        stops with ReplicationAborted. After a crash, Resume-QuantumKeyReplication finishes the work
        from the journal.

        Keys from a KME (QKD) are not replicated by this function in this version.

    .PARAMETER KeyId
        Purpose name of the new keys.

    .PARAMETER Count
        Number of keys (default 1, or the number of labels given).

    .PARAMETER Size
        Key size in bits, a multiple of 8 (default 256).

    .PARAMETER Source
        Classical (the system RNG, default) or Qrng (with -Qrng).

    .PARAMETER Qrng
        With -Source Qrng: the name of the QRNG in this node's node.json.

    .PARAMETER Label
        Labels for the new keys, one per key. Default: new UUIDs.

    .PARAMETER Node
        The other nodes, as for Import-ReplicatedQuantumKey.

    .PARAMETER TokenLabel
        This node's key store (a connected store). Default: the session's default key store.

    .EXAMPLE
        New-ReplicatedQuantumKey -KeyId PaymentMaster -Count 2 -Node $nodes

        Creates two 256-bit keys and stores them on this node and on every node in $nodes.

    .EXAMPLE
        New-ReplicatedQuantumKey -KeyId VPN-A-C -Count 100 -Source Qrng -Qrng lab-qrng -Node $nodes |
            Select-Object TransactionId, Decision, Finished

        One hundred QRNG keys on every node, as one transaction.

    .OUTPUTS
        QKDLite.ReplicationResult
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('QKDLite.ReplicationResult')]
    param(
        [Parameter(Mandatory, Position = 0)][ValidateNotNullOrEmpty()][string]$KeyId,
        [Parameter(Position = 1)][ValidateRange(1, 100000)][int]$Count = 1,
        [int]$Size = 256,
        [ValidateSet('Classical', 'Qrng')][string]$Source = 'Classical',
        [ValidateNotNullOrEmpty()][string]$Qrng,
        [ValidateNotNullOrEmpty()][string[]]$Label,
        [Parameter(Mandatory)][ValidateNotNullOrEmpty()][object[]]$Node,
        [string]$TokenLabel
    )
    Assert-ReplicationHost -Cmdlet $PSCmdlet
    $labels = if ($Label) { @($Label) } else { @(1..$Count | ForEach-Object { [guid]::NewGuid().ToString() }) }
    if ($Label -and $PSBoundParameters.ContainsKey('Count') -and $Count -ne $labels.Count) {
        $PSCmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'KeyLabelCountMismatch' -Category InvalidArgument `
                    -Message "$($labels.Count) labels were given for $Count keys; give one label per key or none. Nothing was created." -Target $Count))
    }
    $create = @{ KeyId = $KeyId; Label = $labels; Size = $Size; Source = $Source }
    if ($Qrng) { $create.Qrng = $Qrng }
    $target = "$($labels.Count) key(s) of keyID '$KeyId' on this node and $(@($Node).Count) other node(s)"
    if (-not $PSCmdlet.ShouldProcess($target, "Create replicated quantum keys from the $Source source")) { return }
    Invoke-ReplicationTransaction -Cmdlet $PSCmdlet -Operation Create -KeyId $KeyId -Labels $labels -Node $Node -TokenLabel $TokenLabel -Create $create
}
