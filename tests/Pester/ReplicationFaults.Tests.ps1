#Requires -Version 7.2
# Replication to several remote sites configured in node.json, over real OpenSSH servers on loopback:
# site B has two nodes sharing one key store (high availability), site C one node. The remote sites
# configuration (Get-ReplicationRemote, -Remote), the pipeline, replicated QKD keys through the test
# KME, and the fault sweep: the coordinator killed at every named step of create, import and delete
# for this node and each remote role, the connections cut at each step, a remote down at prepare and
# at commit; then recovery, then the invariants of RELIABILITY.md.
# QKDLITE_SOAK_ITERATIONS (default 1) repeats the sweep with seeded random faults for a soak run.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'SshTestHelper.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'ReplicationTestHelper.psm1') -Force
    $sites = Initialize-TestReplicationSites
    $node = $sites.Node; $homeB = $sites.HomeB; $homeC = $sites.HomeC; $sshDirectory = $sites.SshDirectory
    $sshKeys = $sites.SshKeys; $pqKex = $sites.PqKex; $sshB1 = $sites.SshB1; $sshB2 = $sites.SshB2; $sshC = $sites.SshC
    $user = $sites.User; $module = $sites.Module; $knownHosts = $sites.KnownHosts
    # Every server started, also the ones restarted by a test, is stopped at the end.
    $servers = [System.Collections.Generic.List[object]]@($sshB1, $sshB2, $sshC)

    function Get-NodeEntry($Server, [string]$Kme) {
        $entry = [ordered]@{ HostName = '127.0.0.1'; Port = $Server.Port; UserName = $user; KeyFilePath = $sshKeys.ClientKey; KnownHostsFile = $knownHosts; ModulePath = $module; ConnectTimeoutSeconds = 60 }
        if ($Kme) { $entry.Kme = $Kme }
        $entry
    }

    function New-SiteSession($Server) {
        $connection = Get-NodeEntry $Server
        $connection.Remove('ModulePath')
        $session = New-ReplicationSession @connection
        $null = Invoke-Command -Session $session -ArgumentList $module { param($Module) Import-Module $Module -ErrorAction Stop }
        $session
    }

    # node.json: site B with two nodes (files relative to node.json), site C in the single-node shorthand.
    $configFile = Join-Path $node 'node.json'
    $configuration = Get-Content -Raw -LiteralPath $configFile | ConvertFrom-Json -AsHashtable
    $relativeKey = [IO.Path]::GetRelativePath($node, $sshKeys.ClientKey)
    $siteB = [ordered]@{ Name = 'siteB'; Nodes = @((Get-NodeEntry $sshB1 'LinkB'), (Get-NodeEntry $sshB2 'LinkB')) }
    $siteB.Nodes[0].KeyFilePath = $relativeKey
    $siteC = Get-NodeEntry $sshC
    $siteC.Name = 'siteC'
    $configuration['Replication'] = @{ Remotes = @($siteB, $siteC) }
    $configuration | ConvertTo-Json -Depth 8 | Set-Content -LiteralPath $configFile -Encoding utf8NoBOM
    $savedConfiguration = Get-Content -Raw -LiteralPath $configFile

    # Sessions for looking at the remote sites, reused by the coordinator in this process.
    $sessionB = New-SiteSession $sshB1
    $sessionC = New-SiteSession $sshC
    $reuse = @(
        @{ Name = 'siteB'; Nodes = @((Get-NodeEntry $sshB1) + @{ Session = $sessionB }) }
        @{ Name = 'siteC'; Nodes = @((Get-NodeEntry $sshC) + @{ Session = $sessionC }) }
    )

    function Get-ErrorId([scriptblock]$Script) {
        try { & $Script; 'no error' } catch { $_.FullyQualifiedErrorId -replace ',.*$', '' }
    }

    function New-SourceBlock([int]$Count = 2) {
        @(New-QuantumKey -TokenLabel Source -KeyId 'FAULT' -Count $Count | Export-QuantumKey -TokenLabel Source)
    }

    # The sites' state and the invariants (ReplicationTestHelper.psm1) on this file's sessions.
    function Get-SiteState([string[]]$Label, [string]$TransactionId) {
        Get-TestSiteState -Label $Label -TransactionId $TransactionId -SessionB $sessionB -SessionC $sessionC
    }
    function Assert-AllOrNothing([string[]]$Label, [bool]$Present, [string[]]$CheckValue, [string]$Because = '') {
        Assert-TestAllOrNothing -State (Get-SiteState $Label) -Label $Label -Present $Present -CheckValue $CheckValue -Because $Because
    }
    function Get-Entry([string]$Label) { Get-TestReplicationEntry -Label $Label }
}

AfterAll {
    Get-PSSession | Remove-PSSession
    foreach ($server in $servers) { Stop-TestSshd $server }
    foreach ($path in $sshDirectory, $homeB, $homeC, $node) { Remove-TestNode -Path $path }
}

Describe 'Remote sites from node.json' {
    It 'lists the configured sites with their nodes, files taken relative to node.json' {
        $remotes = @(Get-ReplicationRemote)
        $remotes.Name | Should -Be @('siteB', 'siteC')
        $remotes[0].PSObject.TypeNames | Should -Contain 'QKDLite.ReplicationRemote'
        $remotes[0].Nodes.Port | Should -Be @($sshB1.Port, $sshB2.Port)
        $remotes[0].Nodes[0].KeyFilePath | Should -BeExactly $sshKeys.ClientKey
        $remotes[0].Nodes.Kme | Should -Be @('LinkB', 'LinkB')
        $remotes[1].Nodes.Count | Should -Be 1
        $remotes[1].Nodes[0].Port | Should -Be $sshC.Port
        (Get-ReplicationRemote -Name 'site?').Count | Should -Be 2
        (Get-ReplicationRemote -Name 'SITEC').Name | Should -Be 'siteC'
        Get-ErrorId { Get-ReplicationRemote -Name 'siteZ' } | Should -Be 'ReplicationRemoteNotFound'
        (Get-ReplicationRemote | Format-Table | Out-String -Width 300) | Should -Match "siteB\s+$user@127\.0\.0\.1:$($sshB1.Port) \[KME LinkB\], $user@127\.0\.0\.1:$($sshB2.Port)"
    }

    It 'completes -Remote with the configured site names' {
        Get-TestCompletion 'New-ReplicatedQuantumKey -KeyId X -Remote s' | Should -Be @('siteB', 'siteC')
        Get-TestCompletion 'Remove-ReplicatedQuantumKey -Remote siteC' | Should -Be @('siteC')
    }

    It 'refuses a Replication section that is not valid, naming the problem: <Problem>' -ForEach @(
        @{ Problem = 'used twice'; Remotes = @(@{ Name = 'x'; HostName = 'a' }, @{ Name = 'X'; HostName = 'b' }) }
        @{ Problem = 'has no node'; Remotes = @(@{ Name = 'x' }) }
        @{ Problem = 'has no HostName'; Remotes = @(@{ Name = 'x'; Nodes = @(@{ Port = 22 }) }) }
        @{ Problem = 'port 70000'; Remotes = @(@{ Name = 'x'; Nodes = @(@{ HostName = 'a'; Port = 70000 }) }) }
        @{ Problem = 'has no Name'; Remotes = @(@{ HostName = 'a' }) }
    ) {
        $broken = Get-Content -Raw -LiteralPath $configFile | ConvertFrom-Json -AsHashtable
        $broken['Replication'] = @{ Remotes = $Remotes }
        try {
            $broken | ConvertTo-Json -Depth 8 | Set-Content -LiteralPath $configFile -Encoding utf8NoBOM
            $failure = $null
            try { $null = Get-ReplicationRemote } catch { $failure = $_ }
            $failure.FullyQualifiedErrorId | Should -BeLike 'ReplicationConfigurationInvalid*'
            $failure.Exception.Message | Should -Match ([regex]::Escape($Problem))
            $before = @(Get-QuantumKeyReplication).Count
            Get-ErrorId { New-ReplicatedQuantumKey -KeyId 'NOPE' -Remote siteB } | Should -Be 'ReplicationConfigurationInvalid'
            @(Get-QuantumKeyReplication).Count | Should -Be $before -Because 'nothing was journalled'
        }
        finally { Set-Content -LiteralPath $configFile -Value $savedConfiguration -NoNewline }
    }

    It 'refuses an operation without any remote, when node.json names none' {
        $bare = Get-Content -Raw -LiteralPath $configFile | ConvertFrom-Json -AsHashtable
        $bare.Remove('Replication')
        try {
            $bare | ConvertTo-Json -Depth 8 | Set-Content -LiteralPath $configFile -Encoding utf8NoBOM
            $before = @(Get-QuantumKeyReplication).Count
            Get-ErrorId { New-ReplicatedQuantumKey -KeyId 'NOPE' } | Should -Be 'ReplicationNoRemote'
            @(Get-QuantumKeyReplication).Count | Should -Be $before
            @(Get-QuantumKey -KeyId 'NOPE' -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
        }
        finally { Set-Content -LiteralPath $configFile -Value $savedConfiguration -NoNewline }
    }
}

Describe 'Replication to several sites' {
    It 'creates keys on this node and at every configured site by default, and reports them' {
        $result = New-ReplicatedQuantumKey -KeyId 'MULTI' -Count 2
        $result.State | Should -Be 'Committed'
        $result.Remotes | Should -Be @('siteB', 'siteC')
        @($result.Nodes.Phase | Select-Object -Unique) | Should -Be 'Committed'
        Assert-AllOrNothing $result.Labels $true
        $table = $result | Format-Table | Out-String -Width 300
        $table | Should -Match 'TransactionId\s+Operation\s+KeyId\s+Keys\s+State\s+Remotes'
        $table | Should -Match "$($result.TransactionId)\s+Create\s+MULTI\s+2\s+Committed\s+siteB \(Committed\), siteC \(Committed\)"
    }

    It 'takes the next node of a site when the first does not answer' {
        $dead = (Get-NodeEntry @{ Port = (Get-TestFreePortNumber) })
        $site = [pscustomobject]@{ Name = 'siteB'; Nodes = @($dead, (Get-NodeEntry $sshB2)) }
        $blocks = New-SourceBlock
        $before = (Get-Content -Raw -LiteralPath $sshB2.LogPath).Length
        $output = @($blocks | Import-ReplicatedQuantumKey -Node $site -Verbose 4>&1)
        $verbose = @($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
        $result = @($output | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })[0]
        $result.State | Should -Be 'Committed'
        $result.Remotes | Should -Be @('siteB')
        ($verbose.Message -join "`n") | Should -Match "127\.0\.0\.1:$($dead.Port) is not available"
        (Get-Content -Raw -LiteralPath $sshB2.LogPath).Substring($before) | Should -Match 'Accepted publickey' -Because 'the second node took the work'
        $state = Get-SiteState @($blocks.Label)
        $state.siteB.Visible | Should -Be @($blocks.CheckValue)
    }

    It 'makes this node''s keys of a create while the session to a slow first node is still opening' {
        # This node accepts connections and never answers: a session's setup waits out its timeout.
        $silent = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $silent.Start()
        try {
            $slow = Get-NodeEntry @{ Port = $silent.LocalEndpoint.Port }
            $slow.ConnectTimeoutSeconds = 8
            $site = [pscustomobject]@{ Name = 'siteB'; Nodes = @($slow, (Get-NodeEntry $sshB2)) }
            $start = [DateTimeOffset]::UtcNow
            $output = @(New-ReplicatedQuantumKey -KeyId 'EARLY' -Count 3 -Node $site -Verbose 4>&1)
            $result = @($output | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })[0]
            $result.State | Should -Be 'Committed'
            $passedOver = @($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -match "127\.0\.0\.1:$($slow.Port) is not available" })
            $passedOver.Count | Should -Be 1 -Because 'the silent node is waited for once, then the next node takes every step'
            ([DateTimeOffset]::UtcNow - $start).TotalSeconds | Should -BeGreaterThan 8 -Because 'the first node was waited for'
            foreach ($key in @($result.Labels | ForEach-Object { Get-QuantumKey -Label $_ })) {
                $key.Created | Should -BeLessThan $start.AddSeconds(8) -Because 'this node made its keys while the first node''s session was opening'
            }
            $state = Get-SiteState @($result.Labels)
            @($state.local.Visible).Count | Should -Be 3
            @($state.siteB.Visible) | Should -Be @($state.local.Visible) -Because 'the second node of site B holds the same keys'
        }
        finally { $silent.Stop() }
    }

    It 'takes keys from the pipeline: Export | Import, Get-QuantumKey | Remove, with -WhatIf changing nothing' {
        $blocks = New-SourceBlock 3
        $journalled = @(Get-QuantumKeyReplication).Count
        $blocks | Import-ReplicatedQuantumKey -Remote siteB, siteC -WhatIf
        @(Get-QuantumKeyReplication).Count | Should -Be $journalled -Because '-WhatIf journals nothing'
        Assert-AllOrNothing @($blocks.Label) $false

        $imported = Get-QuantumKey -TokenLabel Source -Label $blocks.Label | Export-QuantumKey -TokenLabel Source | Import-ReplicatedQuantumKey -Node $reuse
        $imported.Operation | Should -Be 'Import'
        @($imported.Labels) | Should -Be @($blocks.Label)
        Assert-AllOrNothing @($blocks.Label) $true @($blocks.CheckValue)

        Get-QuantumKey -Label $blocks[0].Label, $blocks[1].Label | Remove-ReplicatedQuantumKey -Remote siteB -WhatIf
        Assert-AllOrNothing @($blocks.Label) $true
        $removed = Get-QuantumKey -Label $blocks[0].Label, $blocks[1].Label | Remove-ReplicatedQuantumKey -Node $reuse -Force
        $removed.State | Should -Be 'Committed'
        @($removed.Labels) | Should -Be @($blocks[0].Label, $blocks[1].Label)
        Assert-AllOrNothing @($blocks[0].Label, $blocks[1].Label) $false
        Assert-AllOrNothing @($blocks[2].Label) $true @($blocks[2].CheckValue)
    }
}

Describe 'Replicated QKD keys' {
    BeforeAll {
        $kme = Start-TestKme -Directory (Join-Path $node 'kme')
        $pool = { (Invoke-TestKmeControl -Kme $kme -Path 'control/pool' | Select-Object -First 1) }
        Set-TestKeySource -Kme @(New-TestKmeSettings -Kme $kme -Name 'LinkA' -Client 'SAE-A' -Side A)
        $savedConfiguration = Get-Content -Raw -LiteralPath $configFile
        $mainHome = $env:QKDLITE_HOME
        try {
            $env:QKDLITE_HOME = $homeB
            Set-TestKeySource -Kme @(New-TestKmeSettings -Kme $kme -Name 'LinkB' -Client 'SAE-B' -Side B)
        }
        finally { $env:QKDLITE_HOME = $mainHome }
        $siteBKme = @{ Name = 'siteB'; Nodes = @((Get-NodeEntry $sshB1 'LinkB') + @{ Session = $sessionB }) }
    }

    AfterAll {
        Stop-TestKme -Kme $kme
    }

    It 'takes keys from this node''s KME as master, and the site takes the same keys from its KME by key_ID' {
        $result = New-ReplicatedQuantumKey -KeyId 'QKD' -Count 3 -Source Kme -Kme LinkA -SlaveSaeId 'SAE-B' -Node $siteBKme
        $result.State | Should -Be 'Committed'
        @($result.Labels).Count | Should -Be 3
        $local = @($result.Labels | ForEach-Object { Get-QuantumKey -Label $_ })
        $local.Source | Select-Object -Unique | Should -Be 'Kme'
        $remote = Invoke-Command -Session $sessionB -ArgumentList (, @($result.Labels)) { param($Label) @(Get-QuantumKey -Label $Label | Select-Object Label, @{ Name = 'Source'; Expression = { "$($_.Source)" } }, CheckValue) }
        @($remote.CheckValue) | Should -Be @($local.CheckValue) -Because 'both sides got the same key for each key_ID'
        $remote.Source | Select-Object -Unique | Should -Be 'Kme'
        $requests = @(Invoke-TestKmeControl -Kme $kme -Path 'control/B/requests')
        ($requests | ConvertTo-Json -Depth 6) | Should -Match ([regex]::Escape($result.Labels[0]))
        (Get-QuantumKeyReplication -TransactionId $result.TransactionId).Labels | Should -Be @($result.Labels)
    }

    It 'refuses a site node that names no KME, before taking any key' {
        $before = @(Get-QuantumKeyReplication).Count
        $failure = $null
        try { $null = New-ReplicatedQuantumKey -KeyId 'QKD' -Source Kme -Kme LinkA -SlaveSaeId 'SAE-B' -Remote siteC } catch { $failure = $_ }
        $failure.FullyQualifiedErrorId | Should -BeLike 'ReplicationNodeKmeMissing*'
        $failure.Exception.Message | Should -Match 'siteC'
        @(Get-QuantumKeyReplication).Count | Should -Be $before
    }

    It 'aborts on both sides when the site cannot take the keys from its KME' {
        $wrong = @{ Name = 'siteB'; Nodes = @((Get-NodeEntry $sshB1 'NoSuchKme') + @{ Session = $sessionB }) }
        $failure = $null
        try { $null = New-ReplicatedQuantumKey -KeyId 'QKD-FAIL' -Count 2 -Source Kme -Kme LinkA -SlaveSaeId 'SAE-B' -Node $wrong } catch { $failure = $_ }
        $failure.FullyQualifiedErrorId | Should -BeLike 'ReplicationAborted*'
        $failure.Exception.Message | Should -Match 'NoSuchKme'
        $entry = @(Get-QuantumKeyReplication)[-1]
        $entry.Operation | Should -Be 'Create'
        $entry.State | Should -Be 'Aborted'
        @($entry.Labels).Count | Should -Be 2 -Because 'the key_IDs were journalled before the site heard them'
        @(Get-QuantumKey -KeyId 'QKD-FAIL' -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
        (Get-SiteState $entry.Labels).local.Held | Should -Be 0
        (Get-SiteState $entry.Labels).siteB.Held | Should -Be 0
    }
}

Describe 'Fault sweep' {
    BeforeAll {
        $iterations = if ($env:QKDLITE_SOAK_ITERATIONS) { [int]$env:QKDLITE_SOAK_ITERATIONS } else { 1 }
        $seed = if ($env:QKDLITE_SOAK_SEED) { [int]$env:QKDLITE_SOAK_SEED } else { Get-Random -Maximum 1000000 }
        Write-Host "Fault sweep: $iterations iteration(s), seed $seed (set QKDLITE_SOAK_SEED to repeat)."
        $random = [System.Random]::new($seed)
        $steps = 'Begun', 'Prepared:local', 'Prepared:siteB', 'Prepared:siteC', 'Decided', 'Finished:local', 'Finished:siteB', 'Finished:siteC'
        $operations = 'Create', 'Import', 'Delete'
        # In CI (two rounds of four): delete before and after the decision, at this node and at each
        # site, and for create and import a remote site's prepare and another's finish
        # (Replication.Tests.ps1 kills create and import at this node's steps with one remote). A soak
        # run covers every step of every operation, then draws at random.
        $ciDeleteSteps = 'Prepared:local', 'Prepared:siteC', 'Decided', 'Finished:siteB'
        $plan = @(foreach ($operation in $operations) {
                foreach ($step in $steps) {
                    $inCi = if ($operation -eq 'Delete') { $step -in $ciDeleteSteps } else { $step -in 'Prepared:siteB', 'Finished:siteC' }
                    if ($iterations -gt 1 -or $inCi) { [pscustomobject]@{ Operation = $operation; Step = $step } }
                }
            })
        for ($i = 2; $i -le $iterations; $i++) {
            $plan += [pscustomobject]@{ Operation = $operations[$random.Next($operations.Count)]; Step = $steps[$random.Next($steps.Count)] }
        }

        $crashes = [System.Collections.Generic.List[object]]::new()
        $running = [System.Collections.Generic.List[object]]::new()
        foreach ($case in $plan) {
            $labels = $null; $checkValues = $null; $arguments = $null
            switch ($case.Operation) {
                'Create' {
                    $labels = @([guid]::NewGuid().ToString(), [guid]::NewGuid().ToString())
                    $arguments = @{ Operation = 'Create'; Label = $labels }
                }
                'Import' {
                    $blocks = New-SourceBlock
                    $labels = @($blocks.Label); $checkValues = @($blocks.CheckValue)
                    $arguments = @{ Operation = 'Import'; Blocks = @($blocks.Text) }
                }
                'Delete' {
                    $blocks = New-SourceBlock
                    $null = $blocks | Import-ReplicatedQuantumKey -Node $reuse
                    $labels = @($blocks.Label); $checkValues = @($blocks.CheckValue)
                    $arguments = @{ Operation = 'Delete'; Label = $labels; Blocks = @($blocks.Text) }
                }
            }
            $child = Start-TestChildProcess -Environment @{ QKDLITE_TEST_CRASH_AT = $case.Step } -ArgumentList $arguments -ScriptBlock {
                param($Operation, $Label, $Blocks)
                switch ($Operation) {
                    'Create' { New-ReplicatedQuantumKey -KeyId 'FAULT' -Label $Label -Remote siteB, siteC -ErrorAction Stop }
                    'Import' { $Blocks | Import-ReplicatedQuantumKey -Remote siteB, siteC -ErrorAction Stop }
                    'Delete' { Remove-ReplicatedQuantumKey -Label $Label -Remote siteB, siteC -Force -ErrorAction Stop }
                }
            }
            $crash = [pscustomobject]@{ Operation = $case.Operation; Step = $case.Step; Labels = $labels; CheckValues = $checkValues; Blocks = $arguments['Blocks']; Child = $child }
            $crashes.Add($crash)
            $running.Add($crash)
            # A few at a time: each child opens two SSH sessions, each a PowerShell on the other side.
            if ($running.Count -ge 4) {
                foreach ($waiting in $running) { $waiting.Child = Wait-TestChildProcess -Child $waiting.Child -TimeoutSeconds 240 }
                $running.Clear()
            }
        }
        foreach ($waiting in $running) { $waiting.Child = Wait-TestChildProcess -Child $waiting.Child -TimeoutSeconds 240 }
        # Commit is decided from 'Decided' on; a delete that commits removes the keys.
        foreach ($crash in $crashes) {
            $committed = $crash.Step -eq 'Decided' -or $crash.Step -like 'Finished:*'
            $crash | Add-Member -NotePropertyName Committed -NotePropertyValue $committed
            $crash | Add-Member -NotePropertyName Present -NotePropertyValue ($committed -ne ($crash.Operation -eq 'Delete'))
            $crash | Add-Member -NotePropertyName Entry -NotePropertyValue (Get-Entry $crash.Labels[0])
            $crash | Add-Member -NotePropertyName Before -NotePropertyValue (Get-SiteState $crash.Labels)
        }
        # One recovery for everything the sweep left open, as after a restart of the main node.
        $resumed = @(Resume-QuantumKeyReplication -Node $reuse)
    }

    It 'the coordinator died at each step before reporting, with its transaction journalled' {
        # Delete at four steps (this node and each site, before and after the decision), and two remote
        # steps each of create and import (every step in a soak run).
        $crashes.Count | Should -BeGreaterOrEqual 8
        $crashes.Count | Should -Be $plan.Count
        foreach ($crash in $crashes) {
            $nodes = ($crash.Entry.Nodes | ForEach-Object { "$($_.Node) $($_.Phase) $($_.Error)" }) -join '; '
            $crash.Child.TerminatingError | Should -BeNullOrEmpty -Because "$($crash.Operation) at $($crash.Step) was to be killed there, not stopped by an error ($($crash.Child.TerminatingError.Message); $nodes)"
            $crash.Child.ExitCode | Should -Not -Be 0
            $crash.Child.Output | Should -BeNullOrEmpty
            $crash.Entry | Should -Not -BeNullOrEmpty -Because "the child journalled before its step ($($crash.Child.TerminatingError.Message) $($crash.Child.StdErr))"
            $crash.Entry.Finished | Should -BeFalse
            $crash.Entry.Remotes | Should -Be @('siteB', 'siteC')
        }
    }

    It 'before recovery nothing undecided is visible anywhere, and nothing decided is lost' {
        foreach ($crash in $crashes) {
            foreach ($site in 'local', 'siteB', 'siteC') {
                $state = $crash.Before.$site
                $because = "($($crash.Operation) at $($crash.Step), seed $seed, $site)"
                if ($crash.Operation -eq 'Delete') {
                    # A prepared deletion hides the keys (held, not lost) until the decision; once commit
                    # is decided they are never shown again.
                    if ($crash.Committed) { $state.Visible | Should -BeNullOrEmpty -Because $because }
                    else { (@($state.Visible).Count + $state.Held) | Should -Be $crash.Labels.Count -Because $because }
                }
                elseif ($crash.Committed) { (@($state.Visible).Count + $state.Held) | Should -Be $crash.Labels.Count -Because "every node holds each key, visible or pending $because" }
                else { $state.Visible | Should -BeNullOrEmpty -Because "nothing undecided is visible $because" }
            }
        }
    }

    It 'recovery finishes every transaction with its decision, and the invariants hold' {
        $resumed | Should -Not -BeNullOrEmpty
        foreach ($crash in $crashes) {
            $because = "($($crash.Operation) at $($crash.Step), seed $seed)"
            $entry = Get-QuantumKeyReplication -TransactionId $crash.Entry.TransactionId
            $entry.State | Should -Be $(if ($crash.Committed) { 'Committed' } else { 'Aborted' }) -Because $because
            Assert-AllOrNothing $crash.Labels $crash.Present $(if ($crash.Present) { $crash.CheckValues }) $because
        }
    }

    It 'a replayed prepare of a decided transaction, or of deleted keys, is refused everywhere (no resurrection)' {
        foreach ($crash in @($crashes | Where-Object { $_.Blocks })) {
            $because = "($($crash.Operation) at $($crash.Step), seed $seed)"
            foreach ($session in $sessionB, $sessionC) {
                $late = Invoke-Command -Session $session -ArgumentList $crash.Entry.TransactionId, (, @($crash.Blocks)) {
                    param($Id, $Blocks)
                    try { $Blocks | Submit-QuantumKeyTransaction -TransactionId $Id -ErrorAction Stop; 'accepted' } catch { $_.FullyQualifiedErrorId -replace ',.*$', '' }
                }
                $late | Should -Be 'TransactionAlreadyDecided' -Because $because
            }
            Assert-AllOrNothing $crash.Labels $crash.Present $(if ($crash.Present) { $crash.CheckValues }) $because
        }
        # Delete committed: the deleted keys never come back, not even through a new transaction.
        $deleted = @($crashes | Where-Object { $_.Operation -eq 'Delete' -and $_.Committed })[0]
        $failure = $null
        try { $null = $deleted.Blocks | Import-ReplicatedQuantumKey -Node $reuse } catch { $failure = $_ }
        $failure.Exception.InnerException.ErrorId | Should -Be 'KeyLabelDeleted'
        Assert-AllOrNothing $deleted.Labels $false
    }
}

Describe 'Connections cut and remotes down' {
    BeforeAll {
        # One child process runs every operation with its SSH connections cut at one step each; the
        # coordinator reopens a broken session once (every step is idempotent), so each either
        # commits or aborts, and recovery finishes what could not be carried out.
        # In CI the three distinct gaps, one operation each: before site C's prepare, before any commit,
        # before site C's commit. A soak run cuts every operation at every gap.
        $soak = $env:QKDLITE_SOAK_ITERATIONS -and [int]$env:QKDLITE_SOAK_ITERATIONS -gt 1
        $cutSteps = if ($soak) { 'Prepared:siteB', 'Prepared:siteC', 'Decided', 'Finished:local', 'Finished:siteB' } else { 'Prepared:siteB', 'Decided', 'Finished:siteB' }
        $cases = [System.Collections.Generic.List[object]]::new()
        $operations = 'Create', 'Import', 'Delete'
        foreach ($operation in $operations) {
            $stepsHere = if ($soak) { $cutSteps } else { $cutSteps[[array]::IndexOf($operations, $operation)] }
            foreach ($step in $stepsHere) {
                $blocks = New-SourceBlock
                if ($operation -eq 'Delete') { $null = $blocks | Import-ReplicatedQuantumKey -Node $reuse }
                $labels = if ($operation -eq 'Create') { @([guid]::NewGuid().ToString(), [guid]::NewGuid().ToString()) } else { @($blocks.Label) }
                $cases.Add([pscustomobject]@{ Operation = $operation; Step = $step; Label = $labels; Blocks = @($blocks.Text) })
            }
        }
        $cut = Start-TestChildProcess -ArgumentList @{ Cases = @($cases) } -ScriptBlock {
            param($Cases)
            foreach ($case in $Cases) {
                $env:QKDLITE_TEST_CUT_AT = $case.Step
                $outcome = try {
                    $result = switch ($case.Operation) {
                        'Create' { New-ReplicatedQuantumKey -KeyId 'CUT' -Label $case.Label -Remote siteB, siteC -ErrorAction Stop -WarningAction SilentlyContinue }
                        'Import' { $case.Blocks | Import-ReplicatedQuantumKey -Remote siteB, siteC -ErrorAction Stop -WarningAction SilentlyContinue }
                        'Delete' { Remove-ReplicatedQuantumKey -Label $case.Label -Remote siteB, siteC -Force -ErrorAction Stop -WarningAction SilentlyContinue }
                    }
                    $result.State
                }
                catch { $_.FullyQualifiedErrorId -replace ',.*$', '' }
                [pscustomobject]@{ Operation = $case.Operation; Step = $case.Step; Outcome = $outcome }
            }
        }

        # Site C down at commit: a coordinator killed once commit was decided (it runs beside the cuts);
        # site C is down while recovery commits.
        $blocksDownAtCommit = New-SourceBlock
        $killed = Start-TestChildProcess -Environment @{ QKDLITE_TEST_CRASH_AT = 'Decided' } -ArgumentList @{ Blocks = @($blocksDownAtCommit.Text) } -ScriptBlock {
            param($Blocks)
            $Blocks | Import-ReplicatedQuantumKey -Remote siteB, siteC -ErrorAction Stop
        }
        $killed = Wait-TestChildProcess -Child $killed -TimeoutSeconds 240
        $cut = Wait-TestChildProcess -Child $cut -TimeoutSeconds 600

        # Site C down at prepare: its sshd stopped before the transaction. Only now: the cuts need it.
        $blocksDownAtPrepare = New-SourceBlock
        Stop-TestSshd $sshC
        $downAtPrepare = $null
        try { $null = $blocksDownAtPrepare | Import-ReplicatedQuantumKey -Remote siteB, siteC -WarningAction SilentlyContinue } catch { $downAtPrepare = $_ }
        $entryDownAtPrepare = Get-Entry $blocksDownAtPrepare[0].Label

        $entryDownAtCommit = Get-Entry $blocksDownAtCommit[0].Label
        $resumedWhileDown = @(Resume-QuantumKeyReplication -Remote siteB, siteC -TransactionId $entryDownAtCommit.TransactionId -WarningVariable downWarning -WarningAction SilentlyContinue)
        $stateWhileDown = Get-TestSiteState -Label @($blocksDownAtCommit.Label) -SessionB $sessionB
        $sshC = Start-TestSshd -Directory $sshDirectory -Keys $sshKeys -Name 'c' -RemoteHome $homeC -KexAlgorithms $pqKex -Port $sshC.Port
        $servers.Add($sshC)
        $sessionC = New-SiteSession $sshC

        $resumed = @(Resume-QuantumKeyReplication -Remote siteB, siteC)
    }

    It 'each operation with its connections cut at a step commits or aborts, and recovery leaves every node consistent' {
        $cut.TerminatingError | Should -BeNullOrEmpty -Because "$($cut.StdErr)"
        @($cut.Output).Count | Should -Be $cases.Count
        foreach ($case in $cases) {
            $outcome = @($cut.Output | Where-Object { $_.Operation -eq $case.Operation -and $_.Step -eq $case.Step })[0].Outcome
            $because = "($($case.Operation) cut at $($case.Step): $outcome)"
            $outcome | Should -BeIn 'Committed', 'Committing', 'ReplicationAborted' -Because $because
            $entry = Get-QuantumKeyReplication -TransactionId (Get-Entry $case.Label[0]).TransactionId
            $entry.Finished | Should -BeTrue -Because $because
            $committed = $entry.Decision -eq 'Committed'
            # A cut after the decision can delay, never reverse it.
            if ($case.Step -in 'Decided', 'Finished:local', 'Finished:siteB') { $committed | Should -BeTrue -Because $because }
            $present = $committed -ne ($case.Operation -eq 'Delete')
            Assert-AllOrNothing $case.Label $present -Because $because
        }
    }

    It 'aborts everywhere when a site is down at prepare time, and finishes the abort there when it is back' {
        $downAtPrepare.FullyQualifiedErrorId | Should -BeLike 'ReplicationAborted*'
        $downAtPrepare.Exception.Message | Should -Match 'siteC'
        $entryDownAtPrepare.State | Should -Be 'Aborting'
        ($entryDownAtPrepare.Nodes | Where-Object Node -EQ 'siteC').Error | Should -Match 'ReplicationNodeUnreachable'
        ($entryDownAtPrepare.Nodes | Where-Object Node -EQ 'siteB').Phase | Should -Be 'Aborted'
        (Get-QuantumKeyReplication -TransactionId $entryDownAtPrepare.TransactionId).State | Should -Be 'Aborted'
        Assert-AllOrNothing @($blocksDownAtPrepare.Label) $false
    }

    It 'keeps a commit for a site that is down at commit time, and carries it out when it is back' {
        $killed.ExitCode | Should -Not -Be 0
        $resumedWhileDown[0].State | Should -Be 'Committing'
        ($resumedWhileDown[0].Nodes | Where-Object Node -EQ 'siteC').Phase | Should -Be 'Prepared'
        ($resumedWhileDown[0].Nodes | Where-Object Node -EQ 'siteB').Phase | Should -Be 'Committed'
        "$downWarning" | Should -Match 'siteC could not carry it out'
        @($stateWhileDown.local.Visible) | Should -Be @($blocksDownAtCommit.CheckValue)
        @($stateWhileDown.siteB.Visible) | Should -Be @($blocksDownAtCommit.CheckValue)
        (Get-QuantumKeyReplication -TransactionId $entryDownAtCommit.TransactionId).State | Should -Be 'Committed'
        Assert-AllOrNothing @($blocksDownAtCommit.Label) $true @($blocksDownAtCommit.CheckValue)
    }
}
