function Get-QuantumKeyReplication {
    <#
    .SYNOPSIS
        Lists the replication transactions in this node's journal.

    .DESCRIPTION
        Get-QuantumKeyReplication reads the main node's replication journal (replication/journal.db in
        the node's data directory) and returns one ReplicationResult per transaction, oldest first: its
        operation, labels, decision (Committed, Aborted, or empty while undecided), whether every node
        has carried the decision out (Finished), and each node's phase and last error.

    .PARAMETER TransactionId
        Only this transaction.

    .PARAMETER Unfinished
        Only transactions that some node has not finished: what Resume-QuantumKeyReplication works on.

    .EXAMPLE
        Get-QuantumKeyReplication -Unfinished

        Shows the transactions that a crash or an unreachable node left open.

    .EXAMPLE
        (Get-QuantumKeyReplication -TransactionId 5f0c2a9e41d84c11a0c5e7d1b9f3a2c4).Nodes

        Shows each node's phase and last error in one transaction.

    .OUTPUTS
        QKDLite.ReplicationResult
    #>
    [CmdletBinding()]
    [OutputType('QKDLite.ReplicationResult')]
    param(
        [ValidateNotNullOrEmpty()][string]$TransactionId,
        [switch]$Unfinished
    )
    $journal = $null
    try {
        $journal = Open-ReplicationJournal
        $entries = if ($TransactionId) { @($journal.Get($TransactionId) | Where-Object { $_ }) } elseif ($Unfinished) { @($journal.Unfinished()) } else { @($journal.All()) }
    }
    catch { $PSCmdlet.ThrowTerminatingError((ConvertTo-ReplicationErrorRecord $_)) }
    finally { if ($journal) { $journal.Dispose() } }
    foreach ($entry in $entries) { ConvertTo-ReplicationResult $entry }
}
