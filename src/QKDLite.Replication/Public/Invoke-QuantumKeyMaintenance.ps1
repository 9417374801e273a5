function Invoke-QuantumKeyMaintenance {
    <#
    .SYNOPSIS
        Keeps at least the configured number of keys per keyID on this node and on its remote sites.

    .DESCRIPTION
        Invoke-QuantumKeyMaintenance is the job QKDLite nodes run every few minutes (see
        Register-QuantumKeyMaintenance). For each keyID in the Maintenance section of this node's
        node.json it counts the active keys here (Get-KeyCount) and on every remote site the entry
        names (sites of the Replication section, over post-quantum SSH), and, when every node holds
        the same number and it is below the entry's Minimum, creates the missing keys on all of them
        as one replicated transaction (New-ReplicatedQuantumKey).

        A site may list several nodes that share its key store (high availability): the keys are
        counted on the first node that answers, and a node that is down or whose session breaks is
        passed over for the next, as in every replicated operation (-Verbose says which node was
        passed over and why). The replicated create starts at the node that answered the count and
        fails over the same way. A site is unreachable only when none of its nodes answers.

        A site reached through another (Via in the Replication section, a chain A -> B -> C) is
        counted and topped up through that site, as every replicated operation reaches it: a node of
        the relay site (with the same failover) opens the session to the far site and runs the count
        there, and the replicated create takes the same way and sessions. The relay site need not be
        named in the entry. When the relay site does not answer, the keyID fails with the connection
        error's id and a message naming both sites ("Remote siteC is reached through remote siteB,
        which did not answer: ..."); so it does when the far site does not answer a relay that does
        ("Remote siteC did not answer its relay, remote siteB: ...").

        Before counting, it carries out every replication transaction that is decided but not yet
        finished on every node (a run that crashed, a node that was unreachable), as
        Resume-QuantumKeyReplication does, so that keys committed on one node and not yet on another
        do not count as a divergence. Transactions interrupted before their decision hold invisible
        keys that are not counted, and may belong to an operation running now: they are left to
        Resume-QuantumKeyReplication. A decided transaction that still cannot be finished stops only
        the keyIDs it may concern (its keyID, or a delete at one of their sites) that would need new
        keys; they fail with MaintenanceTransactionOpen, naming the nodes.

        Nodes that hold different numbers of keys have diverged: the function reports it (outcome
        Diverged, error MaintenanceNodesDiverged) and creates nothing for that keyID, because adding
        keys everywhere would hide the difference, not explain it. Find the cause with
        Get-QuantumKeyReplication -Unfinished (then Resume-QuantumKeyReplication) or by comparing the
        nodes' keys. Keys delivered on one side of an ETSI SAE pair and not yet on the other also
        show as a divergence until the other side has taken them.

        Each keyID gives one result: its counts before and after, the keys created, the transaction
        and the outcome (UpToDate, ToppedUp, WouldTopUp under -WhatIf, Diverged, Unfinished or
        Failed, with Failure KeyManagement or Replication). A keyID that fails also writes a
        non-terminating error; the others go on. A missing or invalid configuration, or a key store
        that cannot be opened, stops the function before anything is created; so does a remote site
        named in the Maintenance section that the Replication section does not define
        (MaintenanceRemoteNotConfigured). Two runs on one node never overlap: the second stops with
        MaintenanceAlreadyRunning.

        The key store's PIN comes from the PIN file or environment variable recorded in node.json,
        as for every QKDLite cmdlet; nothing prompts in a scheduled run.

    .PARAMETER KeyId
        Only these keyIDs of the Maintenance section (wildcards allowed). Default: all of them.

    .PARAMETER ConnectTimeoutSeconds
        Seconds to wait for the SSH connection to each remote node that does not set its own
        ConnectTimeoutSeconds in node.json (default 15).

    .EXAMPLE
        Invoke-QuantumKeyMaintenance

        Counts and tops up every keyID of the Maintenance section, for example:

        KeyId    Minimum Before Created After Remotes        Outcome
        -----    ------- ------ ------- ----- -------        -------
        VPN-A-B      100     93       7   100 siteB=100      ToppedUp

    .EXAMPLE
        Invoke-QuantumKeyMaintenance -Verbose

        Also says which transactions it finished first and which node of each site it passed over,
        for example: "Remote siteB: node qkdlite@b1.example.net:22 is not available
        (ReplicationNodeUnreachable: ...)."

    .EXAMPLE
        Invoke-QuantumKeyMaintenance -KeyId VPN-* -WhatIf

        Shows what a run would create for the VPN keyIDs, and creates nothing.

    .OUTPUTS
        QKDLite.MaintenanceResult
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('QKDLite.MaintenanceResult')]
    param(
        [Parameter(Position = 0)][SupportsWildcards()][ValidateNotNullOrEmpty()][string[]]$KeyId,
        [ValidateRange(1, 600)][int]$ConnectTimeoutSeconds = 15
    )
    Assert-ReplicationHost -Cmdlet $PSCmdlet
    $configuration = Get-MaintenanceConfiguration -Cmdlet $PSCmdlet
    $entries = @($configuration.KeyIds)
    if ($KeyId) {
        $entries = @($entries | Where-Object { $entry = $_; @($KeyId | Where-Object { $entry.KeyId -like $_ }).Count -gt 0 })
        if ($entries.Count -eq 0) {
            $PSCmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'MaintenanceKeyIdNotConfigured' -Category ObjectNotFound -Target ($KeyId -join ', ') `
                        -Message "The Maintenance section of '$($configuration.Path)' lists no keyID matching $($KeyId -join ', '). Configured: $(@($configuration.KeyIds.KeyId) -join ', ')."))
        }
    }
    # Every site is resolved before anything is touched: a configuration error changes nothing.
    $names = @($entries | ForEach-Object { @($_.Remotes) } | Select-Object -Unique)
    $configured = @(Get-MaintenanceSite -Cmdlet $PSCmdlet -Path $configuration.Path -Name $names -ConnectTimeoutSeconds $ConnectTimeoutSeconds)
    $sites = [ordered]@{}
    foreach ($name in $names) {
        $site = $configured | Where-Object { $_.Name -eq $name } | Select-Object -First 1
        $sites[$name] = [pscustomobject]@{ Site = $site; Counts = $null; Failure = $null }
    }

    $lock = Enter-MaintenanceLock -Cmdlet $PSCmdlet
    try {
        $keyIds = @($entries.KeyId)
        $steps = [Math]::Max(1, 1 + $sites.Count + $entries.Count)
        try { $store = QKDLite\Get-KeyStore -ErrorAction Stop }
        catch { $PSCmdlet.ThrowTerminatingError((ConvertTo-ReplicationErrorRecord $_)) }

        # What an earlier run left decided but not carried out everywhere is finished first, so that
        # the counts below are the ones the journal decided. What stays open only matters to a keyID
        # that it may concern and that would need new keys (see below).
        Write-Progress -Activity 'Key maintenance' -Status 'Finishing open replication transactions'
        $open = @()
        $openFailure = $null
        try { $open = @(Complete-MaintenanceOpenTransaction -Cmdlet $PSCmdlet -Sites $configured -DefaultTokenLabel $store.TokenLabel) }
        catch { $openFailure = ConvertTo-ReplicationErrorRecord $_ }

        $index = 1
        Write-Progress -Activity 'Key maintenance' -Status 'Counting keys on this node' -PercentComplete (100 * $index / $steps)
        try { $localCounts = @(QKDLite\Get-KeyCount -KeyId $keyIds -ErrorAction Stop) }
        catch { $PSCmdlet.ThrowTerminatingError((ConvertTo-ReplicationErrorRecord $_)) }

        foreach ($name in @($sites.Keys)) {
            Write-Progress -Activity 'Key maintenance' -Status "Counting keys on site $name" -PercentComplete (100 * $index++ / $steps)
            $site = $sites[$name]
            $wanted = @($entries | Where-Object { @($_.Remotes) -contains $name } | ForEach-Object { $_.KeyId })
            try { $site.Counts = Get-MaintenanceRemoteCount -Site $site.Site -KeyId $wanted }
            catch { $site.Failure = ConvertTo-ReplicationErrorRecord $_ }
        }

        foreach ($entry in $entries) {
            Write-Progress -Activity 'Key maintenance' -Status "keyID $($entry.KeyId)" -PercentComplete (100 * $index++ / $steps)
            $local = $localCounts | Where-Object { $_.KeyId -eq $entry.KeyId } | Select-Object -First 1
            $here = if ($local) { [int]$local.Count } else { 0 }
            $result = New-MaintenanceResult -Entry $entry -Before $here
            $failure = $null
            foreach ($name in @($entry.Remotes)) {
                $site = $sites[$name]
                if ($site.Failure) {
                    $result.Remotes += [pscustomobject]@{ PSTypeName = 'QKDLite.MaintenanceRemoteCount'; Name = $name; Before = $null; After = $null }
                    if (-not $failure) { $failure = $site.Failure }
                    continue
                }
                $count = [int]$site.Counts[$entry.KeyId]
                $result.Remotes += [pscustomobject]@{ PSTypeName = 'QKDLite.MaintenanceRemoteCount'; Name = $name; Before = $count; After = $count }
            }
            if ($failure) {
                Complete-MaintenanceFailure -Cmdlet $PSCmdlet -Result $result -Failure Replication -Record $failure
                $result
                continue
            }
            $different = @($result.Remotes | Where-Object { $_.Before -ne $here })
            if ($different.Count -or $here -lt $entry.Minimum) {
                # An open transaction of this keyID (or a delete, whose keyID the journal does not know,
                # at one of its sites) may be why the counts differ, and would make a top-up count wrong.
                $blocking = @($open | Where-Object { $_.KeyId -eq $entry.KeyId -or (-not $_.KeyId -and @($_.Participants | Where-Object { @($entry.Remotes) -contains $_.Node }).Count) })
                $record = $openFailure
                if (-not $record -and $blocking.Count) {
                    $pending = @(foreach ($transaction in $blocking) {
                            foreach ($state in @($transaction.Participants | Where-Object { $_.Phase -ne $transaction.Decision })) {
                                if ($state.Error) { "$($state.Node) of $($transaction.TransactionId) ($($state.Error))" } else { "$($state.Node) of $($transaction.TransactionId)" }
                            }
                        }) -join '; '
                    $record = New-ReplicationError -ErrorId 'MaintenanceTransactionOpen' -Category ConnectionError -Target $entry.KeyId `
                        -Message "KeyID '$($entry.KeyId)' has $($blocking.Count) replication transaction(s) decided but not carried out on every node: $pending. Nothing was created for it, because the counts are not final until they are. Run Resume-QuantumKeyReplication once the nodes are reachable (the next maintenance run also tries)."
                }
                if ($record) {
                    Complete-MaintenanceFailure -Cmdlet $PSCmdlet -Result $result -Failure Replication -Record $record
                    $result
                    continue
                }
            }
            if ($different.Count) {
                $counts = (@("this node $here") + @($result.Remotes | ForEach-Object { "$($_.Name) $($_.Before)" })) -join ', '
                $record = New-ReplicationError -ErrorId 'MaintenanceNodesDiverged' -Category InvalidResult -Target $entry.KeyId `
                    -Message "KeyID '$($entry.KeyId)' has different numbers of active keys on the nodes of the pair ($counts). Nothing was created for it: topping up would hide the difference. Look for open transactions with Get-QuantumKeyReplication -Unfinished and finish them with Resume-QuantumKeyReplication, or compare the nodes' keys with Get-QuantumKey."
                $result.Outcome = 'Diverged'
                Complete-MaintenanceFailure -Cmdlet $PSCmdlet -Result $result -Failure Replication -Record $record
                $result
                continue
            }
            if ($here -ge $entry.Minimum) {
                $result.Outcome = 'UpToDate'
                $result
                continue
            }
            $missing = $entry.Minimum - $here
            $target = "$missing key(s) of keyID '$($entry.KeyId)' on this node and on $(@($entry.Remotes) -join ', ')"
            if (-not $PSCmdlet.ShouldProcess($target, "Top up to $($entry.Minimum) keys per node")) {
                $result.Outcome = 'WouldTopUp'
                $result
                continue
            }
            $nodes = @(foreach ($name in @($entry.Remotes)) { Get-MaintenanceSiteNode -Site $sites[$name].Site })
            $create = @{ KeyId = $entry.KeyId; Count = $missing; Size = $entry.Size; Source = [string]$entry.Source; Node = $nodes; ErrorAction = 'Stop'; Confirm = $false; WhatIf = $false }
            if ($entry.Qrng) { $create.Qrng = $entry.Qrng }
            try { $replicated = New-ReplicatedQuantumKey @create }
            catch {
                $record = ConvertTo-ReplicationErrorRecord $_
                Complete-MaintenanceFailure -Cmdlet $PSCmdlet -Result $result -Failure (Get-MaintenanceFailureKind -Record $record) -Record $record
                $result
                continue
            }
            $result.TransactionId = $replicated.TransactionId
            $result.Labels = @($replicated.Labels)
            $result.Created = $result.Labels.Count
            $result.After = $here + $result.Created
            foreach ($remote in $result.Remotes) { $remote.After = $remote.Before + $result.Created }
            $result.Outcome = 'ToppedUp'
            if (-not $replicated.Finished) {
                $pending = @($replicated.Nodes | Where-Object { "$($_.Phase)" -ne "$($replicated.Decision)" } | ForEach-Object { $_.Node }) -join ', '
                $record = New-ReplicationError -ErrorId 'MaintenanceTransactionUnfinished' -Category ConnectionError -Target $replicated.TransactionId `
                    -Message "The $($result.Created) new key(s) of keyID '$($entry.KeyId)' are committed (transaction $($replicated.TransactionId)), but node(s) $pending have not made them visible yet. Run Resume-QuantumKeyReplication once they are reachable."
                $result.Outcome = 'Unfinished'
                Complete-MaintenanceFailure -Cmdlet $PSCmdlet -Result $result -Failure Replication -Record $record
            }
            $result
        }
    }
    finally {
        Write-Progress -Activity 'Key maintenance' -Completed
        # Not under -WhatIf: the sessions are closed in any case.
        & { $WhatIfPreference = $false; Close-ReplicationSites -Participants $configured }
        $lock.Dispose()
    }
}
