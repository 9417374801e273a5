function Resume-QuantumKeyReplication {
    <#
    .SYNOPSIS
        Finishes or aborts every replication transaction that a crash or an unreachable node left open.

    .DESCRIPTION
        Resume-QuantumKeyReplication reads this node's replication journal and, for each unfinished
        transaction (or the one named by -TransactionId): if its decision is Committed, tells every node
        that has not confirmed it to commit; otherwise it journals the decision Aborted (a transaction
        interrupted before its decision never commits) and tells every node to abort, including nodes
        that may never have prepared it, so that a delayed prepare is refused there later.

        Every step is idempotent on every node, so running it again, or after a partial run, is safe.
        A node that still cannot be reached keeps the transaction unfinished, with a warning; run the
        function again later. It returns one ReplicationResult per transaction it worked on.

    .PARAMETER Node
        The remote nodes or sites, as for Import-ReplicatedQuantumKey. Nodes named in the journal but
        not given here are left as they are, with a warning.

    .PARAMETER Remote
        Names of remote sites in the Replication section of node.json. Without -Node and -Remote,
        every configured remote is reached (and, with none configured, only this node is finished).

    .PARAMETER TransactionId
        Only this transaction. Default: every unfinished transaction.

    .EXAMPLE
        Resume-QuantumKeyReplication

        After a restart of the main node: completes or aborts everything the journal has open, reaching
        the remotes configured in node.json.

    .EXAMPLE
        Get-QuantumKeyReplication -Unfinished | Format-Table TransactionId, Operation, Decision

        Shows what a resume would work on.

    .OUTPUTS
        QKDLite.ReplicationResult
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('QKDLite.ReplicationResult')]
    param(
        [ValidateNotNullOrEmpty()][object[]]$Node,
        [ValidateNotNullOrEmpty()][string[]]$Remote,
        [ValidateNotNullOrEmpty()][string]$TransactionId
    )
    Assert-ReplicationHost -Cmdlet $PSCmdlet
    $remotes = @(Resolve-ReplicationTarget -Cmdlet $PSCmdlet -Node $Node -Remote $Remote -AllowNone)
    $local = [pscustomobject]@{ Name = [QKDLite.Core.Replication.ReplicationJournal]::LocalNode }
    $participants = @($local) + $remotes
    $defaultToken = (QKDLite\Get-KeyStore -ErrorAction Stop).TokenLabel
    $journal = $null
    try {
        try {
            $journal = Open-ReplicationJournal
            $entries = if ($TransactionId) {
                $one = $journal.Get($TransactionId)
                if (-not $one) { throw [QKDLite.Core.Errors.QKDLiteException]::new('TransactionNotFound', 'ObjectNotFound', "Transaction '$TransactionId' is not in the replication journal.", $TransactionId, $null) }
                @($one)
            }
            else { @($journal.Unfinished()) }
        }
        catch { $PSCmdlet.ThrowTerminatingError((ConvertTo-ReplicationErrorRecord $_)) }
        foreach ($entry in $entries) {
            if ($entry.Finished) { ConvertTo-ReplicationResult $entry; continue }
            $action = if ($entry.Decision -eq [QKDLite.Core.Replication.TransactionPhase]::Committed) { 'Commit' } else { 'Abort' }
            if (-not $PSCmdlet.ShouldProcess("transaction $($entry.TransactionId) ($($entry.Operation) of $($entry.Labels.Count) key(s))", $action)) { continue }
            # Undecided means interrupted before every node prepared, or before the decision was journalled: abort.
            if ($null -eq $entry.Decision) { $entry = $journal.Decide($entry.TransactionId, [QKDLite.Core.Replication.TransactionPhase]::Aborted) }
            # This node's store by its label only when it is not the default one (a fresh process connects the default).
            $token = if ($entry.TokenLabel -ceq $defaultToken) { $null } else { $entry.TokenLabel }
            $entry = Complete-ReplicationEntry -Journal $journal -Entry $entry -Participants $participants -TokenLabel $token
            ConvertTo-ReplicationResult $entry
        }
    }
    finally {
        Close-ReplicationSites -Participants $participants
        if ($journal) { $journal.Dispose() }
    }
}
