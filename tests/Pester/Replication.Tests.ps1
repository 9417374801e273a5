#Requires -Version 7.2
# Replication between two nodes over real OpenSSH servers on loopback: the channel (one sshd offering
# only a post-quantum key exchange, one only a classical one), and replicated import and delete with
# their journal, including the coordinator killed at every named step and then resumed.
# The remote node is a second data directory whose key store shares the transport key; its
# PowerShell runs as sshd's powershell subsystem.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'SshTestHelper.psm1') -Force
    $node = New-TestNode
    $remoteHome = New-TestDirectory
    $sshDirectory = New-TestDirectory
    $components = @(New-TestKeyComponent -Count 2)
    $null = Set-TransportKey -Component $components.Secure -ComponentCheckValue $components.CheckValue -Confirm:$false
    $otherComponents = @(New-TestKeyComponent -Count 2)
    Initialize-TestKeyStore -TokenLabel 'Other'
    $null = Set-TransportKey -TokenLabel 'Other' -Component $otherComponents.Secure -ComponentCheckValue $otherComponents.CheckValue -Confirm:$false
    # Keys made elsewhere under the shared transport key arrive as key blocks from this store.
    Initialize-TestKeyStore -TokenLabel 'Source'
    $null = Set-TransportKey -TokenLabel 'Source' -Component $components.Secure -ComponentCheckValue $components.CheckValue -Confirm:$false
    # Initialize-KeyStore made another store the session's default: make the node's own store the default again.
    $default = Get-TestKeyStoreConnection -TokenLabel 'QKDLite'
    Connect-KeyStore @default

    # The remote node: its own data directory, key store and (the same) transport key, made by another process.
    $init = Invoke-TestChildProcess -Environment @{ QKDLITE_HOME = $remoteHome } -ArgumentList @{ Hex = @($components.Hex); CheckValue = @($components.CheckValue) } -ScriptBlock {
        param($Hex, $CheckValue)
        $null = Initialize-KeyStore -NewPinFile -WarningAction SilentlyContinue -ErrorAction Stop
        $secure = @($Hex | ForEach-Object { ConvertTo-SecureString -String $_ -AsPlainText -Force })
        (Set-TransportKey -Component $secure -ComponentCheckValue $CheckValue -Confirm:$false -ErrorAction Stop).CheckValue
    }
    if ($init.TerminatingError) { throw "Remote node setup failed: $($init.TerminatingError.Message)" }
    $remoteCheckValue = @($init.Output)[0]

    $sshKeys = New-TestSshKeys -Directory $sshDirectory
    $pq = Start-TestSshd -Directory $sshDirectory -Keys $sshKeys -Name 'pq' -RemoteHome $remoteHome -KexAlgorithms 'sntrup761x25519-sha512@openssh.com'
    $classical = Start-TestSshd -Directory $sshDirectory -Keys $sshKeys -Name 'classical' -RemoteHome $remoteHome -KexAlgorithms 'curve25519-sha256'
    $user = [Environment]::UserName
    $module = Get-TestModulePath

    function Get-Connection($Server, [string]$KnownHosts) {
        @{
            HostName       = '127.0.0.1'
            Port           = $Server.Port
            UserName       = $user
            KeyFilePath    = $sshKeys.ClientKey
            KnownHostsFile = if ($KnownHosts) { $KnownHosts } else { $Server.KnownHosts }
        }
    }

    function Get-ErrorId([scriptblock]$Script) {
        try { & $Script; 'no error' } catch { $_.FullyQualifiedErrorId -replace ',.*$', '' }
    }
}

AfterAll {
    Get-PSSession | Remove-PSSession
    Stop-TestSshd $pq
    Stop-TestSshd $classical
    Remove-TestNode -Path $sshDirectory
    Remove-TestNode -Path $remoteHome
    Remove-TestNode -Path $node
}

Describe 'Replication channel' {
    Context 'a node whose sshd offers a post-quantum key exchange' {
        BeforeAll {
            $connection = Get-Connection $pq
            $session = New-ReplicationSession @connection
        }

        AfterAll {
            if ($session) { Remove-PSSession -Session $session }
        }

        It 'opens a PowerShell 7 session and names the post-quantum key exchange, as the server logged it' {
            $session.State | Should -Be 'Opened'
            $session.KeyExchange | Should -BeExactly 'sntrup761x25519-sha512@openssh.com'
            Invoke-Command -Session $session { $PSVersionTable.PSVersion.Major } | Should -BeGreaterOrEqual 7
            Get-Content -Raw -LiteralPath $pq.LogPath | Should -Match 'kex: algorithm: sntrup761x25519-sha512@openssh\.com'
            Get-Content -Raw -LiteralPath $pq.LogPath | Should -Not -Match 'kex: algorithm: (curve25519|ecdh|diffie)'
        }

        It 'is ready by Test-ReplicationNode: QKDLite there and the same transport key' {
            $status = Test-ReplicationNode @connection -ModulePath $module
            $status.PSObject.TypeNames | Should -Contain 'QKDLite.ReplicationNodeStatus'
            $status.Problem | Should -BeNullOrEmpty
            $status.Ready | Should -BeTrue
            $status.Reachable | Should -BeTrue
            $status.PostQuantum | Should -BeTrue
            $status.KeyExchange | Should -BeExactly 'sntrup761x25519-sha512@openssh.com'
            $status.QKDLiteVersion | Should -Be (Import-PowerShellDataFile -LiteralPath $module).ModuleVersion
            $status.TransportKeyCheckValue | Should -BeExactly $remoteCheckValue
            $status.TransportKeyMatches | Should -BeTrue
        }

        It 'reports another transport key by check value, without failing' {
            $status = Test-ReplicationNode @connection -ModulePath $module -TokenLabel 'Other'
            $status.Ready | Should -BeFalse
            $status.PostQuantum | Should -BeTrue
            $status.TransportKeyMatches | Should -BeFalse
            $status.ErrorId | Should -Be 'ReplicationTransportKeyMismatch'
            $status.Problem | Should -Match $remoteCheckValue
        }

        It 'reports a node without QKDLite' {
            $status = Test-ReplicationNode @connection -ModulePath (Join-Path $sshDirectory 'missing/QKDLite.psd1')
            $status.Ready | Should -BeFalse
            $status.PostQuantum | Should -BeTrue
            $status.ErrorId | Should -Be 'ReplicationModuleNotFound'
        }

        It 'carries key blocks to the node, which prepares them invisibly and commits them' {
            $keys = @(New-QuantumKey -KeyId 'OVER-SSH' -Count 2)
            $blocks = @($keys | Export-QuantumKey | ForEach-Object Text)
            $id = [guid]::NewGuid().ToString('N')
            $result = Invoke-Command -Session $session -ArgumentList $module, $id, $blocks -ScriptBlock {
                param($Module, $Id, $Blocks)
                Import-Module $Module -ErrorAction Stop
                $prepared = $Blocks | Submit-QuantumKeyTransaction -TransactionId $Id -ErrorAction Stop
                $visibleBefore = @(Get-QuantumKey -KeyId 'OVER-SSH').Count
                $committed = Complete-QuantumKeyTransaction -TransactionId $Id -ErrorAction Stop
                [pscustomobject]@{
                    Prepared      = [string]$prepared.Phase
                    VisibleBefore = $visibleBefore
                    Committed     = [string]$committed.Phase
                    CheckValues   = @(Get-QuantumKey -KeyId 'OVER-SSH' | ForEach-Object CheckValue)
                }
            }
            $result.Prepared | Should -Be 'Prepared'
            $result.VisibleBefore | Should -Be 0
            $result.Committed | Should -Be 'Committed'
            @($result.CheckValues | Sort-Object) | Should -Be @($keys.CheckValue | Sort-Object)
        }
    }

    Context 'a node that cannot negotiate a post-quantum key exchange' {
        It 'is refused with ReplicationKeyExchangeNotPostQuantum, naming what it offers' {
            $connection = Get-Connection $classical
            $failure = $null
            try { $null = New-ReplicationSession @connection } catch { $failure = $_ }
            $failure | Should -Not -BeNullOrEmpty
            $failure.FullyQualifiedErrorId | Should -BeLike 'ReplicationKeyExchangeNotPostQuantum*'
            $failure.CategoryInfo.Category | Should -Be 'SecurityError'
            $failure.Exception.Message | Should -Match 'curve25519-sha256'
            $failure.Exception.Message | Should -Match 'post-quantum'
            Get-Content -Raw -LiteralPath $classical.LogPath | Should -Match 'no matching key exchange method'
            @(Get-PSSession | Where-Object { $_.ComputerName -eq '127.0.0.1' -and $_.Port -eq $classical.Port }) | Should -BeNullOrEmpty
        }

        It 'is not ready by Test-ReplicationNode, with the same cause' {
            $connection = Get-Connection $classical
            $status = Test-ReplicationNode @connection -ModulePath $module
            $status.Reachable | Should -BeTrue
            $status.PostQuantum | Should -BeFalse
            $status.Ready | Should -BeFalse
            $status.ErrorId | Should -Be 'ReplicationKeyExchangeNotPostQuantum'
        }
    }

    Context 'host keys and reachability' {
        It 'refuses a node whose host key differs from the known one' {
            $changed = Join-Path $sshDirectory 'known_hosts-changed'
            $other = (Get-Content -LiteralPath "$($sshKeys.OtherHostKey).pub" -TotalCount 1).Split(' ')
            Set-Content -LiteralPath $changed -Value "[127.0.0.1]:$($pq.Port) $($other[0]) $($other[1])"
            $connection = Get-Connection $pq $changed
            Get-ErrorId { New-ReplicationSession @connection } | Should -Be 'ReplicationHostKeyChanged'
        }

        It 'refuses a node whose host key is not known' {
            $empty = Join-Path $sshDirectory 'known_hosts-empty'
            Set-Content -LiteralPath $empty -Value ''
            $connection = Get-Connection $pq $empty
            Get-ErrorId { New-ReplicationSession @connection } | Should -Be 'ReplicationHostKeyUnknown'
        }

        It 'reports a node where nothing listens as unreachable' {
            $closed = @{ Port = (& { $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start(); $p = $l.LocalEndpoint.Port; $l.Stop(); $p }); KnownHosts = $pq.KnownHosts }
            $connection = Get-Connection $closed
            Get-ErrorId { New-ReplicationSession @connection -ConnectTimeoutSeconds 5 } | Should -Be 'ReplicationNodeUnreachable'
            $status = Test-ReplicationNode @connection -ConnectTimeoutSeconds 5
            $status.Reachable | Should -BeFalse
            $status.ErrorId | Should -Be 'ReplicationNodeUnreachable'
        }

        It 'reports it as one error, without ssh''s own messages on the console' {
            # ssh writes to the process's stderr, past PowerShell's streams: only a child process shows it.
            $port = & { $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start(); $p = $l.LocalEndpoint.Port; $l.Stop(); $p }
            $child = Invoke-TestChildProcess -ArgumentList @{ Port = $port; KnownHosts = $pq.KnownHosts } -ScriptBlock {
                param($Port, $KnownHosts)
                try { New-ReplicationSession -HostName 127.0.0.1 -Port $Port -KnownHostsFile $KnownHosts -ConnectTimeoutSeconds 5 } catch { 'refused: ' + $_.FullyQualifiedErrorId }
            }
            $child.Output | Should -Be 'refused: ReplicationNodeUnreachable,New-ReplicationSession'
            $console = @("$($child.StdOut)`n$($child.StdErr)" -split "`n")
            @($console | Where-Object { $_ -match 'ssh:|Connection refused' }) | Should -BeNullOrEmpty
        }
    }

    Context 'help' {
        It 'documents <_> with a synopsis, every parameter and an example' -ForEach @('New-ReplicationSession', 'Test-ReplicationNode', 'New-ReplicatedQuantumKey', 'Import-ReplicatedQuantumKey', 'Remove-ReplicatedQuantumKey', 'Resume-QuantumKeyReplication', 'Get-QuantumKeyReplication', 'Get-ReplicationRemote') {
            $help = Get-Help $_ -Full
            $help.Synopsis | Should -Not -BeLike "$_ *"
            @($help.Examples.Example).Count | Should -BeGreaterThan 0
            $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
            $documented = @($help.Parameters.Parameter | Where-Object { ($_.Description | Out-String).Trim() } | ForEach-Object Name)
            @((Get-Command $_).Parameters.Keys | Where-Object { $_ -notin $common -and $_ -notin $documented }) | Should -BeNullOrEmpty
        }
    }
}

Describe 'Replicated import and delete' {
    BeforeAll {
        $pqConnection = Get-Connection $pq
        $nodes = @($pqConnection + @{ ModulePath = $module })
        $remoteName = "$user@127.0.0.1:$($pq.Port)"
        $remote = New-ReplicationSession @pqConnection
        $null = Invoke-Command -Session $remote -ArgumentList $module { param($Module) Import-Module $Module -ErrorAction Stop }
        # The same node reached through the open session (opening one costs seconds on a busy machine).
        $reuse = @($pqConnection + @{ ModulePath = $module; Session = $remote })

        function New-SourceBlock([int]$Count = 2) {
            @(New-QuantumKey -TokenLabel Source -KeyId 'REPL' -Count $Count | Export-QuantumKey -TokenLabel Source)
        }

        # What each node shows for these labels: check values of visible keys, and keys held prepared.
        function Get-NodeState([string[]]$Label) {
            $local = [pscustomobject]@{
                Visible = @($Label | ForEach-Object { (Get-QuantumKey -Label $_ -ErrorAction SilentlyContinue).CheckValue } | Where-Object { $_ })
                Held    = [int](@(Get-QuantumKeyTransaction -InDoubt | Where-Object { @($_.Labels | Where-Object { $_ -in $Label }).Count } | Measure-Object -Property HeldKeys -Sum).Sum)
            }
            $far = Invoke-Command -Session $remote -ArgumentList (, $Label) {
                param($Label)
                [pscustomobject]@{
                    Visible = @($Label | ForEach-Object { (Get-QuantumKey -Label $_ -ErrorAction SilentlyContinue).CheckValue } | Where-Object { $_ })
                    Held    = [int](@(Get-QuantumKeyTransaction -InDoubt | Where-Object { @($_.Labels | Where-Object { $_ -in $Label }).Count } | Measure-Object -Property HeldKeys -Sum).Sum)
                }
            }
            [pscustomobject]@{ Local = $local; Remote = $far }
        }

        # Invariants: all or nothing per label, identical check values on both nodes (and the expected
        # ones, when known), nothing left pending anywhere. -Key: objects with Label (and CheckValue).
        function Assert-AllOrNothing($Key, [bool]$Present) {
            $labels = @($Key.Label)
            $state = Get-NodeState $labels
            if ($Present) {
                @($state.Local.Visible).Count | Should -Be $labels.Count -Because 'this node shows every committed key'
                @($state.Remote.Visible) | Should -Be @($state.Local.Visible) -Because 'the other node holds the same keys'
                if ($Key[0].PSObject.Properties['CheckValue']) { @($state.Local.Visible) | Should -Be @($Key.CheckValue) }
            }
            else {
                @($state.Local.Visible) | Should -BeNullOrEmpty -Because 'this node shows none of the keys'
                @($state.Remote.Visible) | Should -BeNullOrEmpty -Because 'the other node shows none of the keys'
            }
            $state.Local.Held | Should -Be 0 -Because 'nothing stays pending on this node'
            $state.Remote.Held | Should -Be 0 -Because 'nothing stays pending on the other node'
        }

        # The coordinator killed at each named step (QKDLITE_TEST_CRASH_AT), all at once: each child
        # process replicates its own keys and dies at its step.
        $crashSteps = 'Begun', 'Prepared:local', 'Prepared:remote', 'Decided', 'Finished:local', 'Finished:remote', 'Create at Prepared:local', 'Create at Decided'
        $crashes = @{}
        foreach ($step in $crashSteps) {
            $crashAt = ($step -replace '^Create at ', '') -replace 'remote', $remoteName
            if ($step -like 'Create*') {
                # The keys are made by the coordinator itself; only their labels are known beforehand.
                $made = @(1..2 | ForEach-Object { [pscustomobject]@{ Label = [guid]::NewGuid().ToString() } })
                $child = Start-TestChildProcess -Environment @{ QKDLITE_TEST_CRASH_AT = $crashAt } -ArgumentList @{ Label = @($made.Label); Node = $nodes[0] } -ScriptBlock {
                    param($Label, $Node)
                    New-ReplicatedQuantumKey -KeyId 'REPL-NEW' -Label $Label -Node @($Node) -ErrorAction Stop
                }
            }
            else {
                $made = New-SourceBlock
                $child = Start-TestChildProcess -Environment @{ QKDLITE_TEST_CRASH_AT = $crashAt } -ArgumentList @{ Blocks = @($made.Text); Node = $nodes[0] } -ScriptBlock {
                    param($Blocks, $Node)
                    $Blocks | Import-ReplicatedQuantumKey -Node @($Node) -ErrorAction Stop
                }
            }
            $crashes[$step] = [pscustomobject]@{ Blocks = $made; Child = $child }
        }
        foreach ($step in $crashSteps) { $crashes[$step].Child = Wait-TestChildProcess -Child $crashes[$step].Child -TimeoutSeconds 180 }
    }

    AfterAll {
        if ($remote) { Remove-PSSession -Session $remote }
    }

    It 'imports key blocks on both nodes as one committed, journalled transaction' {
        $blocks = New-SourceBlock
        $result = $blocks | Import-ReplicatedQuantumKey -Node $nodes
        $result.PSObject.TypeNames | Should -Contain 'QKDLite.ReplicationResult'
        $result.Decision | Should -Be 'Committed'
        $result.Finished | Should -BeTrue
        @($result.Nodes.Node) | Should -Be @('local', $remoteName)
        @($result.Nodes.Phase | Select-Object -Unique) | Should -Be 'Committed'
        Assert-AllOrNothing $blocks $true
        (Get-QuantumKeyReplication -TransactionId $result.TransactionId).Labels | Should -Be @($blocks.Label)
    }

    It 'aborts on every node when one node cannot prepare, and says which and why' {
        $blocks = New-SourceBlock
        # The other node already holds a different key under the second label: it refuses the block.
        $null = Invoke-Command -Session $remote -ArgumentList $blocks[1].Label { param($Label) New-QuantumKey -KeyId 'CLASH' -Label $Label }
        $failure = $null
        try { $null = $blocks | Import-ReplicatedQuantumKey -Node $reuse } catch { $failure = $_ }
        $failure.FullyQualifiedErrorId | Should -BeLike 'ReplicationAborted*'
        $failure.Exception.Message | Should -Match ([regex]::Escape($remoteName))
        $failure.Exception.Message | Should -Match 'already holds a key'
        $entry = @(Get-QuantumKeyReplication | Where-Object { $_.Labels -contains $blocks[0].Label })[-1]
        $entry.Decision | Should -Be 'Aborted'
        $entry.Finished | Should -BeTrue
        (Get-NodeState @($blocks[0].Label)).Local.Visible | Should -BeNullOrEmpty
        Assert-AllOrNothing @($blocks[0]) $false
    }

    It 'deletes on both nodes, and a replay of the deleted keys is refused on both' {
        $blocks = New-SourceBlock
        $null = $blocks | Import-ReplicatedQuantumKey -Node $reuse
        Get-ErrorId { Remove-ReplicatedQuantumKey -Label $blocks[0].Label, 'no-such-key' -Node $reuse -Force } | Should -Be 'KeyNotFound'
        @((Get-NodeState @($blocks.Label)).Remote.Visible).Count | Should -Be 2
        $result = Remove-ReplicatedQuantumKey -Label $blocks.Label -Node $reuse -Force
        $result.Decision | Should -Be 'Committed'
        $result.Finished | Should -BeTrue
        Assert-AllOrNothing $blocks $false
        $failure = $null
        try { $null = $blocks | Import-ReplicatedQuantumKey -Node $reuse } catch { $failure = $_ }
        $failure.FullyQualifiedErrorId | Should -BeLike 'ReplicationAborted*'
        $failure.Exception.InnerException.ErrorId | Should -Be 'KeyLabelDeleted'
        $replayed = Invoke-Command -Session $remote -ArgumentList (, @($blocks.Text)) {
            param($Blocks)
            try { $Blocks | Submit-QuantumKeyTransaction -TransactionId ([guid]::NewGuid().ToString('N')) -ErrorAction Stop; 'accepted' } catch { $_.FullyQualifiedErrorId -replace ',.*$', '' }
        }
        $replayed | Should -Be 'KeyLabelDeleted'
        Assert-AllOrNothing $blocks $false
    }

    It 'aborts when a node is down at prepare time, and tells that node once it is back' {
        $port = Get-TestFreePortNumber
        $known = New-TestKnownHosts -Path (Join-Path $sshDirectory 'known_hosts-returning') -Keys $sshKeys -Port $port
        $returning = @{ HostName = '127.0.0.1'; Port = $port; UserName = $user; KeyFilePath = $sshKeys.ClientKey; KnownHostsFile = $known; ModulePath = $module; ConnectTimeoutSeconds = 5 }
        $blocks = New-SourceBlock
        $failure = $null
        try { $null = $blocks | Import-ReplicatedQuantumKey -Node @($returning) -WarningAction SilentlyContinue } catch { $failure = $_ }
        $failure.FullyQualifiedErrorId | Should -BeLike 'ReplicationAborted*'
        $failure.Exception.Message | Should -Match 'not reachable'
        $entry = @(Get-QuantumKeyReplication | Where-Object { $_.Labels -contains $blocks[0].Label })[-1]
        $entry.Decision | Should -Be 'Aborted'
        $entry.Finished | Should -BeFalse -Because 'the node that was down has not heard the abort yet'
        ($entry.Nodes | Where-Object Node -NE 'local').Error | Should -Match 'ReplicationNodeUnreachable'
        (Get-NodeState @($blocks.Label)).Local.Held | Should -Be 0
        $back = Start-TestSshd -Directory $sshDirectory -Keys $sshKeys -Name 'returning' -RemoteHome $remoteHome -KexAlgorithms 'sntrup761x25519-sha512@openssh.com' -Port $port
        try {
            $resumed = @(Resume-QuantumKeyReplication -Node @($returning) -TransactionId $entry.TransactionId)
            $resumed[0].Finished | Should -BeTrue
            $resumed[0].Decision | Should -Be 'Aborted'
        }
        finally { Stop-TestSshd $back }
        # The node recorded the abort: a prepare of that transaction arriving late is refused there.
        (Invoke-Command -Session $remote -ArgumentList $entry.TransactionId { param($Id) Get-QuantumKeyTransaction -TransactionId $Id }).Phase | Should -Be 'Aborted'
        Assert-AllOrNothing $blocks $false
    }

    It 'creates keys on this node and gives them to the other node as key blocks, all or nothing' {
        $result = New-ReplicatedQuantumKey -KeyId 'REPL-NEW' -Count 3 -Node $reuse
        $result.Operation | Should -Be 'Create'
        $result.Decision | Should -Be 'Committed'
        $result.Finished | Should -BeTrue
        $created = @($result.Labels | ForEach-Object { Get-QuantumKey -Label $_ })
        $created.Count | Should -Be 3
        $created | ForEach-Object { $_.Source | Should -Be 'Classical'; $_.KeyId | Should -Be 'REPL-NEW' }
        Assert-AllOrNothing $created $true
    }

    It 'creates nothing anywhere when the other node refuses one of the keys' {
        $labels = @([guid]::NewGuid().ToString(), [guid]::NewGuid().ToString())
        $null = Invoke-Command -Session $remote -ArgumentList $labels[1] { param($Label) New-QuantumKey -KeyId 'CLASH' -Label $Label }
        $failure = $null
        try { $null = New-ReplicatedQuantumKey -KeyId 'REPL-NEW' -Label $labels -Node $reuse } catch { $failure = $_ }
        $failure.FullyQualifiedErrorId | Should -BeLike 'ReplicationAborted*'
        Assert-AllOrNothing ([pscustomobject]@{ Label = $labels[0] }) $false
        (Get-NodeState @($labels[1])).Local.Visible | Should -BeNullOrEmpty
        (Get-NodeState @($labels[1])).Local.Held | Should -Be 0
    }

    Context 'a create made and prepared in chunks, this node and the other side by side' {
        BeforeAll {
            # Two keys per chunk, so that a handful of keys crosses several chunks.
            $replication = (Get-Module QKDLite).NestedModules | Where-Object Name -EQ 'QKDLite.Replication'
            $chunkSize = & $replication { $script:StreamedPrepareChunkSize }
            & $replication { $script:StreamedPrepareChunkSize = 2 }
        }
        AfterAll {
            & $replication { param($Size) $script:StreamedPrepareChunkSize = $Size } $chunkSize
        }

        It 'commits every key of every chunk on both nodes, in order, with the same check values' {
            $labels = @(1..5 | ForEach-Object { [guid]::NewGuid().ToString() })
            $result = New-ReplicatedQuantumKey -KeyId 'REPL-CHUNK' -Label $labels -Node $reuse
            $result.Decision | Should -Be 'Committed'
            $result.Finished | Should -BeTrue
            @($result.Labels) | Should -Be $labels
            $created = @($labels | ForEach-Object { Get-QuantumKey -Label $_ })
            $created.Count | Should -Be 5
            Assert-AllOrNothing $created $true
        }

        It 'creates nothing anywhere when the other node refuses a key of a later chunk, and says why' {
            $labels = @(1..5 | ForEach-Object { [guid]::NewGuid().ToString() })
            $null = Invoke-Command -Session $remote -ArgumentList $labels[3] { param($Label) New-QuantumKey -KeyId 'CLASH' -Label $Label }
            $failure = $null
            try { $null = New-ReplicatedQuantumKey -KeyId 'REPL-CHUNK' -Label $labels -Node $reuse } catch { $failure = $_ }
            $failure.FullyQualifiedErrorId | Should -BeLike 'ReplicationAborted*'
            $failure.Exception.Message | Should -Match ([regex]::Escape($remoteName))
            $failure.Exception.Message | Should -Match 'already holds a key'
            Assert-AllOrNothing @($labels[0, 1, 2, 4] | ForEach-Object { [pscustomobject]@{ Label = $_ } }) $false
            (Get-NodeState @($labels[3])).Local.Visible | Should -BeNullOrEmpty
            (Get-NodeState @($labels[3])).Local.Held | Should -Be 0
        }

        It 'creates nothing anywhere when this node refuses a key of a later chunk, and says why' {
            # This node makes its chunks on a runspace of its own while the other node prepares: its
            # refusal must still stop the stream and abort what the other node prepared.
            $labels = @(1..5 | ForEach-Object { [guid]::NewGuid().ToString() })
            $null = New-QuantumKey -KeyId 'CLASH' -Label $labels[3]
            $failure = $null
            try { $null = New-ReplicatedQuantumKey -KeyId 'REPL-CHUNK' -Label $labels -Node $reuse } catch { $failure = $_ }
            $failure.FullyQualifiedErrorId | Should -BeLike 'ReplicationAborted*'
            $failure.Exception.Message | Should -Match ("node {0} could not prepare" -f [regex]::Escape([QKDLite.Core.Replication.ReplicationJournal]::LocalNode))
            $failure.Exception.Message | Should -Match 'already holds a key'
            Assert-AllOrNothing @($labels[0, 1, 2, 4] | ForEach-Object { [pscustomobject]@{ Label = $_ } }) $false
            (Get-NodeState @($labels[3])).Remote.Visible | Should -BeNullOrEmpty
            (Get-NodeState @($labels[3])).Remote.Held | Should -Be 0
        }
    }

    Context 'the coordinator killed at <Step>, then Resume-QuantumKeyReplication' -ForEach @(
        @{ Step = 'Begun'; Committed = $false }
        @{ Step = 'Prepared:local'; Committed = $false }
        @{ Step = 'Prepared:remote'; Committed = $false }
        @{ Step = 'Decided'; Committed = $true }
        @{ Step = 'Finished:local'; Committed = $true }
        @{ Step = 'Finished:remote'; Committed = $true }
        @{ Step = 'Create at Prepared:local'; Committed = $false }
        @{ Step = 'Create at Decided'; Committed = $true }
    ) {
        BeforeAll {
            $blocks = $crashes[$Step].Blocks
            $child = $crashes[$Step].Child
            $entry = @(Get-QuantumKeyReplication | Where-Object { $_.Labels -contains $blocks[0].Label })[-1]
        }

        It 'died at that step, before it could report anything' {
            $child.ExitCode | Should -Not -Be 0
            $child.Output | Should -BeNullOrEmpty
            $entry | Should -Not -BeNullOrEmpty -Because "the child journalled its transaction before its step ($($child.TerminatingError.Message) $($child.StdErr))"
            $entry.Finished | Should -BeFalse
        }

        It 'before recovery, shows the keys nowhere unless commit was decided, and then loses none' {
            $state = Get-NodeState @($blocks.Label)
            if ($Committed) {
                # Decided: each node holds every key, visible if it got the commit already, else pending.
                (@($state.Local.Visible).Count + $state.Local.Held) | Should -Be @($blocks).Count
                (@($state.Remote.Visible).Count + $state.Remote.Held) | Should -Be @($blocks).Count
            }
            else {
                $state.Local.Visible | Should -BeNullOrEmpty
                $state.Remote.Visible | Should -BeNullOrEmpty
            }
        }

        It 'is finished by recovery: <Committed> means present with the same key on both nodes, else on neither' {
            $resumed = @(Resume-QuantumKeyReplication -Node $reuse -TransactionId $entry.TransactionId)
            $resumed.Count | Should -Be 1
            $resumed[0].Finished | Should -BeTrue
            $resumed[0].Decision | Should -Be $(if ($Committed) { 'Committed' } else { 'Aborted' })
            Assert-AllOrNothing $blocks $Committed
            # Recovery again changes nothing; a replayed prepare of the decided transaction is refused.
            @(Resume-QuantumKeyReplication -Node $reuse -TransactionId $entry.TransactionId)[0].Decision | Should -Be $resumed[0].Decision
            $replay = @(if ($blocks[0].PSObject.Properties['Text']) { $blocks.Text } elseif ($Committed) { $blocks.Label | Export-QuantumKey | ForEach-Object Text })
            if ($replay.Count) {
                $late = Invoke-Command -Session $remote -ArgumentList $entry.TransactionId, (, $replay) {
                    param($Id, $Blocks)
                    try { $Blocks | Submit-QuantumKeyTransaction -TransactionId $Id -ErrorAction Stop; 'accepted' } catch { $_.FullyQualifiedErrorId -replace ',.*$', '' }
                }
                $late | Should -Be 'TransactionAlreadyDecided'
            }
            Assert-AllOrNothing $blocks $Committed
        }
    }
}
