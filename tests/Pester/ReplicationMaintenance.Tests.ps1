#Requires -Version 7.2
# Scheduled key maintenance between two nodes over a real OpenSSH server on loopback (post-quantum
# key exchange): Invoke-QuantumKeyMaintenance tops up, leaves enough alone, changes nothing under
# -WhatIf and reports diverged nodes, finishes what a crashed run left decided, and fails over to the
# second node of a site (two sshd sharing one key store) when the first is stopped; the scheduled entry script exits 0, 1, 2, 4 (and their sums)
# per failure class and sends its lines through the real `logger` to a syslog socket this test
# listens on; Register/Unregister-QuantumKeyMaintenance write a real crontab entry, systemd units
# that systemd-analyze verifies, and a Task Scheduler definition.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'SshTestHelper.psm1') -Force
    $node = New-TestNode
    $remoteHome = New-TestDirectory
    $work = New-TestDirectory
    $components = @(New-TestKeyComponent -Count 2)
    $null = Set-TransportKey -Component $components.Secure -ComponentCheckValue $components.CheckValue -Confirm:$false

    $init = Invoke-TestChildProcess -Environment @{ QKDLITE_HOME = $remoteHome } -ArgumentList @{ Hex = @($components.Hex); CheckValue = @($components.CheckValue) } -ScriptBlock {
        param($Hex, $CheckValue)
        $null = Initialize-KeyStore -NewPinFile -WarningAction SilentlyContinue -ErrorAction Stop
        $secure = @($Hex | ForEach-Object { ConvertTo-SecureString -String $_ -AsPlainText -Force })
        $null = Set-TransportKey -Component $secure -ComponentCheckValue $CheckValue -Confirm:$false -ErrorAction Stop
    }
    if ($init.TerminatingError) { throw "Remote node setup failed: $($init.TerminatingError.Message)" }

    $sshKeys = New-TestSshKeys -Directory $work
    $pq = Start-TestSshd -Directory $work -Keys $sshKeys -Name 'pq' -RemoteHome $remoteHome -KexAlgorithms 'sntrup761x25519-sha512@openssh.com'
    $classical = Start-TestSshd -Directory $work -Keys $sshKeys -Name 'classical' -RemoteHome $remoteHome -KexAlgorithms 'curve25519-sha256'
    # A second node of the remote site, sharing its key store; a test stops it to see maintenance fail over.
    $pqFirst = Start-TestSshd -Directory $work -Keys $sshKeys -Name 'pq-first' -RemoteHome $remoteHome -KexAlgorithms 'sntrup761x25519-sha512@openssh.com'
    $module = Get-TestModulePath
    $user = [Environment]::UserName
    $script:EntryScript = Join-Path (Get-TestRepoRoot) 'src/QKDLite.Replication/Scripts/Invoke-QKDLiteMaintenance.ps1'

    function Get-Site([string]$Name, $Server, [int]$Port) {
        @{ Name = $Name; Nodes = @(@{ HostName = '127.0.0.1'; Port = $(if ($Port) { $Port } else { $Server.Port }); UserName = $user; KeyFilePath = $sshKeys.ClientKey; KnownHostsFile = $Server.KnownHosts; ModulePath = $module; ConnectTimeoutSeconds = 60 }) }
    }

    # A site whose nodes (tried in this order) are the given servers, or free ports where no server listens.
    function Get-HighAvailabilitySite([string]$Name, [object[]]$Server) {
        $nodes = foreach ($one in $Server) {
            if ($one -is [int]) { (Get-Site $Name $pq $one).Nodes[0] } else { (Get-Site $Name $one).Nodes[0] }
        }
        @{ Name = $Name; Nodes = @($nodes) }
    }

    # Writes node.json of -Directory with the key store section of this node (PIN file -PinFile, token
    # -TokenLabel) and the given Maintenance and Replication sections.
    function Set-TestNodeConfiguration([string]$Directory, $Maintenance, $Remotes, [string]$PinFile, [string]$TokenLabel) {
        $configuration = Get-Content -Raw -LiteralPath (Join-Path $node 'node.json') | ConvertFrom-Json -AsHashtable
        if ($PinFile) { $configuration.KeyStore.PinFile = $PinFile }
        if ($TokenLabel) { $configuration.KeyStore.TokenLabel = $TokenLabel }
        if ($null -ne $Maintenance) { $configuration.Maintenance = $Maintenance } else { $configuration.Remove('Maintenance') }
        $configuration.Replication = @{ Remotes = @($Remotes) }
        $null = New-Item -ItemType Directory -Force -Path $Directory
        $configuration | ConvertTo-Json -Depth 8 | Set-Content -LiteralPath (Join-Path $Directory 'node.json')
    }

    function Get-RemoteCount([string]$KeyId) {
        Invoke-Command -Session $remote -ArgumentList $KeyId { param($KeyId) (Get-KeyCount -KeyId $KeyId).Count }
    }

    # Runs the entry script as a scheduler would (pwsh -NoProfile -File) for the node data directory of
    # each case, all at once, each with a syslog socket of its own (datagram, as /dev/log) that the real
    # `logger` writes to; reads the sockets while they run (the kernel queues only a few datagrams).
    function Invoke-EntryScript([System.Collections.IDictionary]$Case) {
        # This PowerShell, started directly (dotnet pwsh.dll for the .NET tool), as the scheduler entries do.
        $command = if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { @([Environment]::ProcessPath, (Join-Path $PSHOME 'pwsh.dll')) } else { @([Environment]::ProcessPath) }
        $running = foreach ($name in $Case.Keys) {
            $socketPath = Join-Path $work "syslog-$name.sock"
            $socket = [System.Net.Sockets.Socket]::new([System.Net.Sockets.AddressFamily]::Unix, [System.Net.Sockets.SocketType]::Dgram, [System.Net.Sockets.ProtocolType]::Unspecified)
            $socket.Bind([System.Net.Sockets.UnixDomainSocketEndPoint]::new($socketPath))
            $info = [System.Diagnostics.ProcessStartInfo]::new($command[0])
            foreach ($argument in @($command | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $script:EntryScript, '-DataDirectory', $Case[$name])) { $info.ArgumentList.Add($argument) }
            $info.UseShellExecute = $false
            $info.RedirectStandardOutput = $true
            $info.RedirectStandardError = $true
            $null = $info.Environment.Remove('SOFTHSM2_CONF')
            $null = $info.Environment.Remove('QKDLITE_HOME')
            $info.Environment['QKDLITE_SYSLOG_SOCKET'] = $socketPath
            $process = [System.Diagnostics.Process]::Start($info)
            [pscustomobject]@{ Name = $name; Process = $process; Socket = $socket; StdOut = $process.StandardOutput.ReadToEndAsync(); StdErr = $process.StandardError.ReadToEndAsync(); Log = [System.Collections.Generic.List[string]]::new() }
        }
        $buffer = [byte[]]::new(65536)
        $deadline = [DateTime]::UtcNow.AddSeconds(240)
        try {
            do {
                Start-Sleep -Milliseconds 50
                $done = @($running | Where-Object { $_.Process.HasExited }).Count -eq @($running).Count
                foreach ($run in $running) { while ($run.Socket.Available -gt 0) { $run.Log.Add([Text.Encoding]::UTF8.GetString($buffer, 0, $run.Socket.Receive($buffer))) } }
            } until ($done -or [DateTime]::UtcNow -gt $deadline)
            if (-not $done) { throw "Entry script runs did not finish: $(@($running | Where-Object { -not $_.Process.HasExited } | ForEach-Object { $_.Name }) -join ', ')" }
            $results = @{}
            foreach ($run in $running) {
                $run.Process.WaitForExit()
                $results[$run.Name] = [pscustomobject]@{ ExitCode = $run.Process.ExitCode; Log = @($run.Log); StdOut = $run.StdOut.Result; StdErr = $run.StdErr.Result }
            }
            $results
        }
        finally {
            foreach ($run in $running) {
                if (-not $run.Process.HasExited) { $run.Process.Kill($true) }
                $run.Socket.Dispose()
            }
        }
    }

    $remote = New-ReplicationSession -HostName 127.0.0.1 -Port $pq.Port -UserName $user -KeyFilePath $sshKeys.ClientKey -KnownHostsFile $pq.KnownHosts
    $null = Invoke-Command -Session $remote -ArgumentList $module { param($Module) Import-Module $Module -ErrorAction Stop }
    $pinText = (Get-Content -Raw -LiteralPath (Get-Content -Raw (Join-Path $node 'node.json') | ConvertFrom-Json).KeyStore.PinFile).Trim()
}

AfterAll {
    Get-PSSession | Remove-PSSession
    Stop-TestSshd $pq
    Stop-TestSshd $classical
    Stop-TestSshd $pqFirst
    Remove-TestNode -Path $work
    Remove-TestNode -Path $remoteHome
    Remove-TestNode -Path $node
}

Describe 'Invoke-QuantumKeyMaintenance' {
    BeforeAll {
        Set-TestNodeConfiguration -Directory $node -Maintenance @{ KeyIds = @(@{ KeyId = 'MAINT-A'; Minimum = 3; Remotes = @('siteB') }) } -Remotes @(Get-Site 'siteB' $pq)
    }

    It 'tops up this node and the remote site to the minimum, as one committed transaction' {
        $result = @(Invoke-QuantumKeyMaintenance)
        $result.Count | Should -Be 1
        $result[0].PSObject.TypeNames | Should -Contain 'QKDLite.MaintenanceResult'
        $result[0].Outcome | Should -Be 'ToppedUp'
        $result[0].Failure | Should -Be 'None'
        ($result[0].KeyId, $result[0].Before, $result[0].Created, $result[0].After) | Should -Be @('MAINT-A', 0, 3, 3)
        $result[0].Remotes[0].Name | Should -Be 'siteB'
        ($result[0].Remotes[0].Before, $result[0].Remotes[0].After) | Should -Be @(0, 3)
        (Get-KeyCount -KeyId MAINT-A).Count | Should -Be 3
        Get-RemoteCount 'MAINT-A' | Should -Be 3
        $journal = Get-QuantumKeyReplication -TransactionId $result[0].TransactionId
        $journal.Decision | Should -Be 'Committed'
        $journal.Finished | Should -BeTrue
        @($journal.Labels | Sort-Object) | Should -Be @($result[0].Labels | Sort-Object)
        $view = $result | Format-Table | Out-String -Width 200
        $view | Should -Match 'MAINT-A\s+3\s+0\s+3\s+3\s+siteB=3\s+ToppedUp'
    }

    It 'creates nothing when every node holds enough keys' {
        $transactions = @(Get-QuantumKeyReplication).Count
        $result = Invoke-QuantumKeyMaintenance
        $result.Outcome | Should -Be 'UpToDate'
        $result.Created | Should -Be 0
        $result.TransactionId | Should -BeNullOrEmpty
        @(Get-QuantumKeyReplication).Count | Should -Be $transactions
        (Get-KeyCount -KeyId MAINT-A).Count | Should -Be 3
    }

    It 'changes nothing under -WhatIf, and says what it would create' {
        Set-TestNodeConfiguration -Directory $node -Maintenance @{ KeyIds = @(@{ KeyId = 'MAINT-A'; Minimum = 5; Remotes = @('siteB') }) } -Remotes @(Get-Site 'siteB' $pq)
        $transactions = @(Get-QuantumKeyReplication).Count
        $result = Invoke-QuantumKeyMaintenance -WhatIf
        $result.Outcome | Should -Be 'WouldTopUp'
        $result.Created | Should -Be 0
        @(Get-QuantumKeyReplication).Count | Should -Be $transactions
        (Get-KeyCount -KeyId MAINT-A).Count | Should -Be 3
        Get-RemoteCount 'MAINT-A' | Should -Be 3
    }

    It 'reports nodes holding different numbers of keys as diverged, and creates nothing' {
        $extra = Invoke-Command -Session $remote { (New-QuantumKey -KeyId 'MAINT-A').Label }
        try {
            $errors = @()
            $result = Invoke-QuantumKeyMaintenance -ErrorVariable errors -ErrorAction SilentlyContinue
            $result.Outcome | Should -Be 'Diverged'
            $result.Failure | Should -Be 'Replication'
            $result.ErrorId | Should -Be 'MaintenanceNodesDiverged'
            $result.Created | Should -Be 0
            $errors[0].FullyQualifiedErrorId | Should -BeLike 'MaintenanceNodesDiverged*'
            $errors[0].Exception.Message | Should -Match 'this node 3, siteB 4'
            (Get-KeyCount -KeyId MAINT-A).Count | Should -Be 3
        }
        finally { Invoke-Command -Session $remote -ArgumentList $extra { param($Label) Remove-QuantumKey -Label $Label -Force } }
    }

    It 'stops before touching anything when a remote site is not in the Replication section' {
        Set-TestNodeConfiguration -Directory $node -Maintenance @{ KeyIds = @(@{ KeyId = 'MAINT-A'; Minimum = 9; Remotes = @('siteX') }) } -Remotes @(Get-Site 'siteB' $pq)
        $failure = $null
        try { $null = Invoke-QuantumKeyMaintenance } catch { $failure = $_ }
        $failure.FullyQualifiedErrorId | Should -BeLike 'MaintenanceRemoteNotConfigured*'
        $failure.Exception.Message | Should -Match "'siteX'.*defined: siteB"
        (Get-KeyCount -KeyId MAINT-A).Count | Should -Be 3
    }

    Context 'transactions an earlier run left open' {
        BeforeAll {
            Set-TestNodeConfiguration -Directory $node -Maintenance @{ KeyIds = @(@{ KeyId = 'MAINT-R'; Minimum = 3; Remotes = @('siteB') }) } -Remotes @(Get-Site 'siteB' $pq)
            # Two coordinators, side by side, die once this node has committed: the remote store holds
            # their keys only prepared. One replicated to site B of node.json; the other to the same
            # store given as a single node (journalled as user@host:port, which maintenance cannot reach).
            $single = (Get-Site 'siteB' $pq).Nodes[0]
            $children = @(
                Start-TestChildProcess -Environment @{ QKDLITE_TEST_CRASH_AT = 'Finished:local' } -ScriptBlock {
                    New-ReplicatedQuantumKey -KeyId 'MAINT-R' -Count 2 -Remote siteB -ErrorAction Stop
                }
                Start-TestChildProcess -Environment @{ QKDLITE_TEST_CRASH_AT = 'Finished:local' } -ArgumentList @{ Node = $single } -ScriptBlock {
                    param($Node)
                    New-ReplicatedQuantumKey -KeyId 'MAINT-O' -Count 2 -Node $Node -ErrorAction Stop
                }
            )
            $crashed = @(foreach ($child in $children) { Wait-TestChildProcess -Child $child -TimeoutSeconds 240 })
        }

        It 'finishes a transaction a crashed run left committed on this node only, then counts and tops up' {
            $crashed[0].ExitCode | Should -Not -Be 0 -Because 'the coordinator was killed'
            $open = @(Get-QuantumKeyReplication -Unfinished | Where-Object KeyId -EQ 'MAINT-R')
            $open.Count | Should -Be 1
            (Get-KeyCount -KeyId MAINT-R).Count | Should -Be 2
            Get-RemoteCount 'MAINT-R' | Should -Be 0

            # The other open transaction (keyID MAINT-O, a node not in node.json) stays open with a warning.
            $result = Invoke-QuantumKeyMaintenance -WarningAction SilentlyContinue
            $result.Outcome | Should -Be 'ToppedUp'
            ($result.Before, $result.Created, $result.After) | Should -Be @(2, 1, 3)
            ($result.Remotes[0].Before, $result.Remotes[0].After) | Should -Be @(2, 3)
            (Get-QuantumKeyReplication -TransactionId $open[0].TransactionId).Finished | Should -BeTrue
            Get-RemoteCount 'MAINT-R' | Should -Be 3
        }

        It 'leaves a keyID alone while a transaction of it cannot be finished, naming the node, and tops up the others' {
            $crashed[1].ExitCode | Should -Not -Be 0 -Because 'the coordinator was killed'
            Set-TestNodeConfiguration -Directory $node -Remotes @(Get-Site 'siteB' $pq) -Maintenance @{ KeyIds = @(
                    @{ KeyId = 'MAINT-O'; Minimum = 3; Remotes = @('siteB') }
                    @{ KeyId = 'MAINT-P'; Minimum = 1; Remotes = @('siteB') }
                ) }
            $open = @(Get-QuantumKeyReplication -Unfinished | Where-Object KeyId -EQ 'MAINT-O')
            $open.Count | Should -Be 1
            try {
                $errors = @()
                $warnings = @()
                $results = @(Invoke-QuantumKeyMaintenance -ErrorVariable errors -ErrorAction SilentlyContinue -WarningVariable warnings -WarningAction SilentlyContinue)
                $blocked = $results | Where-Object KeyId -EQ 'MAINT-O'
                $blocked.Outcome | Should -Be 'Failed'
                $blocked.Failure | Should -Be 'Replication'
                $blocked.ErrorId | Should -Be 'MaintenanceTransactionOpen'
                $blocked.Created | Should -Be 0
                $blocked.Error | Should -Match ([regex]::Escape("$user@127.0.0.1:$($pq.Port) of $($open[0].TransactionId)"))
                @($errors | Where-Object { $_.FullyQualifiedErrorId -like 'MaintenanceTransactionOpen*' }).Count | Should -Be 1
                (@($warnings) -join "`n") | Should -Match ([regex]::Escape("node $user@127.0.0.1:$($pq.Port) was not given"))
                (Get-KeyCount -KeyId MAINT-O).Count | Should -Be 2
                ($results | Where-Object KeyId -EQ 'MAINT-P').Outcome | Should -Be 'ToppedUp'
                Get-RemoteCount 'MAINT-P' | Should -Be 1
            }
            finally { $null = Resume-QuantumKeyReplication -Node $single -TransactionId $open[0].TransactionId }
            Get-RemoteCount 'MAINT-O' | Should -Be 2
        }
    }

    Context 'a remote site with two nodes sharing one key store' {
        BeforeAll {
            Set-TestNodeConfiguration -Directory $node -Maintenance @{ KeyIds = @(@{ KeyId = 'MAINT-HA'; Minimum = 2; Remotes = @('siteB') }) } -Remotes @(Get-HighAvailabilitySite 'siteB' $pqFirst, $pq)
        }

        It 'counts and tops up through the first node while it is up' {
            $result = Invoke-QuantumKeyMaintenance -Verbose 4>&1
            $verbose = @($result | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
            $result = @($result | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
            $result.Outcome | Should -Be 'ToppedUp' -Because ($verbose -join "`n")
            $result.Created | Should -Be 2
            $verbose -join "`n" | Should -Not -Match 'is not available'
            Get-RemoteCount 'MAINT-HA' | Should -Be 2
        }

        It 'fails over to the second node when the first one''s sshd is stopped, and says which node it passed over' {
            Stop-TestSshd $pqFirst
            Set-TestNodeConfiguration -Directory $node -Maintenance @{ KeyIds = @(@{ KeyId = 'MAINT-HA'; Minimum = 4; Remotes = @('siteB') }) } -Remotes @(Get-HighAvailabilitySite 'siteB' $pqFirst, $pq)
            $result = Invoke-QuantumKeyMaintenance -Verbose 4>&1
            $verbose = @($result | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
            $result = @($result | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
            $result.Outcome | Should -Be 'ToppedUp' -Because "$($result.ErrorId) $($result.Error)"
            ($result.Before, $result.Created, $result.After) | Should -Be @(2, 2, 4)
            ($result.Remotes[0].Before, $result.Remotes[0].After) | Should -Be @(2, 4)
            (Get-KeyCount -KeyId MAINT-HA).Count | Should -Be 4
            Get-RemoteCount 'MAINT-HA' | Should -Be 4
            $passedOver = @($verbose | Where-Object { $_ -match "siteB: node \S+@127\.0\.0\.1:$($pqFirst.Port) is not available \(ReplicationNodeUnreachable" })
            $passedOver.Count | Should -BeGreaterThan 0 -Because ($verbose -join "`n")
            (Get-QuantumKeyReplication -TransactionId $result.TransactionId).Finished | Should -BeTrue
        }
    }

    It 'documents <_> with a synopsis, every parameter and an example' -ForEach @('Invoke-QuantumKeyMaintenance', 'Register-QuantumKeyMaintenance', 'Unregister-QuantumKeyMaintenance') {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeLike "$_ *"
        @($help.Examples.Example).Count | Should -BeGreaterThan 0
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
        $documented = @($help.Parameters.Parameter | Where-Object { ($_.Description | Out-String).Trim() } | ForEach-Object Name)
        @((Get-Command $_).Parameters.Keys | Where-Object { $_ -notin $common -and $_ -notin $documented }) | Should -BeNullOrEmpty
    }
}

Describe 'The scheduled entry script' {
    BeforeAll {
        $maintained = @{ KeyIds = @(@{ KeyId = 'MAINT-A'; Minimum = 4; Remotes = @('siteB') }) }
        # Each case is a node data directory of its own that shares this node's key store.
        $cases = [ordered]@{}
        $cases.Success = Join-Path $work 'success'
        Set-TestNodeConfiguration -Directory $cases.Success -Maintenance $maintained -Remotes @(Get-Site 'siteB' $pq)
        $cases.NoConfiguration = Join-Path $work 'empty'
        $null = New-Item -ItemType Directory -Path $cases.NoConfiguration
        $cases.NoSection = Join-Path $work 'nosection'
        Set-TestNodeConfiguration -Directory $cases.NoSection -Maintenance $null -Remotes @(Get-Site 'siteB' $pq)
        $cases.BadSection = Join-Path $work 'badsection'
        Set-TestNodeConfiguration -Directory $cases.BadSection -Maintenance @{ KeyIds = @(@{ KeyId = 'MAINT-A'; Minimum = 0; Remotes = @('siteB') }) } -Remotes @(Get-Site 'siteB' $pq)
        $cases.BadReplication = Join-Path $work 'badreplication'
        Set-TestNodeConfiguration -Directory $cases.BadReplication -Maintenance $maintained -Remotes @(@{ Name = 'siteB' })
        $wrongPin = Join-Path $work 'wrong.pin'
        Set-Content -LiteralPath $wrongPin -Value 'NotTheRightPin123' -NoNewline
        if (-not $IsWindows) { [IO.File]::SetUnixFileMode($wrongPin, [IO.UnixFileMode]'UserRead, UserWrite') }
        $cases.WrongPin = Join-Path $work 'wrongpin'
        Set-TestNodeConfiguration -Directory $cases.WrongPin -Maintenance $maintained -Remotes @(Get-Site 'siteB' $pq) -PinFile $wrongPin
        $cases.NoStore = Join-Path $work 'nostore'
        Set-TestNodeConfiguration -Directory $cases.NoStore -Maintenance $maintained -Remotes @(Get-Site 'siteB' $pq) -TokenLabel 'NoSuchToken'
        $cases.Classical = Join-Path $work 'classical'
        Set-TestNodeConfiguration -Directory $cases.Classical -Maintenance $maintained -Remotes @(Get-Site 'siteB' $classical)
        $cases.Down = Join-Path $work 'down'
        Set-TestNodeConfiguration -Directory $cases.Down -Maintenance $maintained -Remotes @(Get-Site 'siteB' $pq (Get-TestFreePortNumber))
        # Site B with two nodes: the first one's sshd stopped (exit 0), then both down (exit 4).
        Stop-TestSshd $pqFirst
        $cases.FirstNodeDown = Join-Path $work 'firstnodedown'
        Set-TestNodeConfiguration -Directory $cases.FirstNodeDown -Maintenance @{ KeyIds = @(@{ KeyId = 'MAINT-F'; Minimum = 2; Remotes = @('siteB') }) } -Remotes @(Get-HighAvailabilitySite 'siteB' $pqFirst.Port, $pq)
        $secondDown = Get-TestFreePortNumber
        $cases.BothNodesDown = Join-Path $work 'bothnodesdown'
        Set-TestNodeConfiguration -Directory $cases.BothNodesDown -Maintenance @{ KeyIds = @(@{ KeyId = 'MAINT-D'; Minimum = 2; Remotes = @('siteB') }) } -Remotes @(Get-HighAvailabilitySite 'siteB' $pqFirst.Port, $secondDown)
        # Two keyIDs failing differently: one through a classical-only site (4), one whose QRNG this node cannot read (2).
        $cases.Both = Join-Path $work 'both'
        Set-TestNodeConfiguration -Directory $cases.Both -Remotes @((Get-Site 'siteB' $pq), (Get-Site 'siteC' $classical)) -Maintenance @{ KeyIds = @(
                @{ KeyId = 'MAINT-C'; Minimum = 1; Remotes = @('siteC') }
                @{ KeyId = 'MAINT-Q'; Minimum = 1; Source = 'Qrng'; Qrng = 'gone'; Remotes = @('siteB') }
            ) }
        $both = Get-Content -Raw (Join-Path $cases.Both 'node.json') | ConvertFrom-Json -AsHashtable
        $both.Qrngs = @(@{ Name = 'gone'; Device = (Join-Path $work 'no-such-qrng') })
        $both | ConvertTo-Json -Depth 8 | Set-Content (Join-Path $cases.Both 'node.json')

        $runs = Invoke-EntryScript $cases
        function Get-Messages([string]$Case) { @($runs[$Case].Log | Where-Object { $_ -match '^<\d+>.*QKDLite: ' } | ForEach-Object { ($_ -split 'QKDLite: ', 2)[1] }) }
    }

    It 'exits 0 after topping up, and logs each created key with its keyID and keyLabel to syslog' {
        $run = $runs.Success
        $run.ExitCode | Should -Be 0 -Because "$($run.StdErr) $($run.Log)"
        (Get-KeyCount -KeyId MAINT-A).Count | Should -Be 4
        Get-RemoteCount 'MAINT-A' | Should -Be 4
        $messages = Get-Messages 'Success'
        $created = @($messages | Where-Object { $_ -match '^Created key keyID=MAINT-A keyLabel=(\S+) ' })
        $created.Count | Should -Be 1
        $label = ([regex]::Match($created[0], 'keyLabel=(\S+)')).Groups[1].Value
        (Get-QuantumKey -Label $label).KeyId | Should -Be 'MAINT-A'
        $messages | Should -Contain 'Key maintenance finished with exit code 0 (1 keyID(s)).'
        @($messages | Where-Object { $_ -match 'keyID=MAINT-A outcome=ToppedUp minimum=4 before=3 created=1 after=4 remotes=siteB:3->4' }).Count | Should -Be 1
        # user.info is priority 14 in the syslog header.
        @($run.Log | Where-Object { $_ -match '^<14>' }).Count | Should -Be $run.Log.Count
        ($run.Log -join "`n") | Should -Not -Match ([regex]::Escape($pinText))
        $run.StdErr | Should -BeNullOrEmpty
    }

    It 'exits 1 when node.json is missing, has no Maintenance section, or an invalid Maintenance or Replication section' -ForEach @(
        @{ Case = 'NoConfiguration'; ErrorId = 'NodeConfigurationNotFound' }
        @{ Case = 'NoSection'; ErrorId = 'MaintenanceNotConfigured' }
        @{ Case = 'BadSection'; ErrorId = 'MaintenanceConfigurationInvalid' }
        @{ Case = 'BadReplication'; ErrorId = 'ReplicationConfigurationInvalid' }
    ) {
        $runs[$Case].ExitCode | Should -Be 1 -Because "$($runs[$Case].StdErr) $($runs[$Case].Log)"
        (Get-Messages $Case) -join "`n" | Should -Match "could not start \(configuration\)\. ${ErrorId}:"
        @($runs[$Case].Log | Where-Object { $_ -match '^<11>' }).Count | Should -BeGreaterThan 0 -Because 'errors go out as user.err'
    }

    It 'exits 2 when the key store refuses the PIN or does not exist' -ForEach @(
        @{ Case = 'WrongPin'; ErrorId = 'KeyStorePinIncorrect' }
        @{ Case = 'NoStore'; ErrorId = 'KeyStoreTokenNotFound' }
    ) {
        $runs[$Case].ExitCode | Should -Be 2 -Because "$($runs[$Case].StdErr) $($runs[$Case].Log)"
        (Get-Messages $Case) -join "`n" | Should -Match "stopped \(key store\)\. ${ErrorId}:"
        ($runs[$Case].Log -join "`n") | Should -Not -Match 'NotTheRightPin123'
    }

    It 'exits 4 when the remote site is down or cannot negotiate a post-quantum key exchange' -ForEach @(
        @{ Case = 'Down'; ErrorId = 'ReplicationNodeUnreachable' }
        @{ Case = 'Classical'; ErrorId = 'ReplicationKeyExchangeNotPostQuantum' }
    ) {
        $runs[$Case].ExitCode | Should -Be 4 -Because "$($runs[$Case].StdErr) $($runs[$Case].Log)"
        (Get-Messages $Case) -join "`n" | Should -Match "keyID=MAINT-A outcome=Failed .* remotes=siteB:unknown failure=Replication error=${ErrorId}:"
    }

    It 'exits 0 when the first node of the remote site is down and the second one takes the work' {
        $run = $runs.FirstNodeDown
        $run.ExitCode | Should -Be 0 -Because "$($run.StdErr) $($run.Log)"
        (Get-KeyCount -KeyId MAINT-F).Count | Should -Be 2
        Get-RemoteCount 'MAINT-F' | Should -Be 2
        (Get-Messages 'FirstNodeDown') -join "`n" | Should -Match 'keyID=MAINT-F outcome=ToppedUp minimum=2 before=0 created=2 after=2 remotes=siteB:0->2'
    }

    It 'exits 4 when every node of the remote site is down, and logs the failure naming each node' {
        $run = $runs.BothNodesDown
        $run.ExitCode | Should -Be 4 -Because "$($run.StdErr) $($run.Log)"
        $failed = @((Get-Messages 'BothNodesDown') | Where-Object { $_ -match 'keyID=MAINT-D outcome=Failed .* remotes=siteB:unknown failure=Replication error=ReplicationNodeUnreachable:' })
        $failed.Count | Should -Be 1 -Because ($run.Log -join "`n")
        $failed[0] | Should -Match ":$($pqFirst.Port)\b.*:$secondDown\b"
        @($run.Log | Where-Object { $_ -match '^<11>' }).Count | Should -BeGreaterThan 0 -Because 'the failure goes out as user.err'
        (Get-KeyCount -KeyId MAINT-D).Count | Should -Be 0
    }

    It 'exits 6 when one keyID fails on this node and another on the remote site' {
        $runs.Both.ExitCode | Should -Be 6 -Because "$($runs.Both.StdErr) $($runs.Both.Log)"
        $messages = (Get-Messages 'Both') -join "`n"
        $messages | Should -Match 'keyID=MAINT-C outcome=Failed .* failure=Replication error=ReplicationKeyExchangeNotPostQuantum'
        $messages | Should -Match 'keyID=MAINT-Q outcome=Failed .* failure=KeyManagement error=ReplicationAborted'
        (Get-KeyCount -KeyId MAINT-Q).Count | Should -Be 0
    }
}

Describe 'Register-QuantumKeyMaintenance and Unregister-QuantumKeyMaintenance' {
    Context 'cron' {
        BeforeAll {
            $crontab = (Get-Command crontab -CommandType Application -ErrorAction Stop | Select-Object -First 1).Source
            $saved = @(& $crontab -l 2>$null)
            $hadCrontab = $LASTEXITCODE -eq 0
            $foreign = "# another job's line, kept $([guid]::NewGuid())"
            @($saved) + $foreign | & $crontab -
            $name = 'qkdlite-test-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
            function Get-Crontab { @(& $crontab -l 2>$null) }
        }

        AfterAll {
            if ($hadCrontab) { $saved | & $crontab - } else { & $crontab -r 2>$null }
        }

        It 'changes nothing under -WhatIf' {
            $before = Get-Crontab
            Register-QuantumKeyMaintenance -Scheduler Cron -Name $name -WhatIf
            Get-Crontab | Should -Be $before
        }

        It 'adds one marked line running the entry script every interval, keeping the other lines' {
            $schedule = Register-QuantumKeyMaintenance -Scheduler Cron -Name $name -Interval (New-TimeSpan -Minutes 10)
            $schedule.PSObject.TypeNames | Should -Contain 'QKDLite.MaintenanceSchedule'
            $schedule.Location | Should -Be 'crontab'
            $lines = @(Get-Crontab | Where-Object { $_ -like "*# QKDLite key maintenance: $name" })
            $lines.Count | Should -Be 1
            $lines[0] | Should -Match '^\*/10 \* \* \* \* '
            $lines[0] | Should -Match ([regex]::Escape("-NoProfile -NonInteractive -File $EntryScript -DataDirectory $node"))
            Get-Crontab | Should -Contain $foreign
            $failure = $null
            try { Register-QuantumKeyMaintenance -Scheduler Cron -Name $name } catch { $failure = $_ }
            $failure.FullyQualifiedErrorId | Should -BeLike 'MaintenanceScheduleExists*'
            $null = Register-QuantumKeyMaintenance -Scheduler Cron -Name $name -Force
            @(Get-Crontab | Where-Object { $_ -like "*# QKDLite key maintenance: $name" }).Count | Should -Be 1
            @(Get-Crontab | Where-Object { $_ -like "*# QKDLite key maintenance: $name" })[0] | Should -Match '^\*/5 \* \* \* \* '
        }

        It 'writes a command that runs: the line as sh runs it exits with the entry script code' {
            $line = @(Get-Crontab | Where-Object { $_ -like "*# QKDLite key maintenance: $name" })[0]
            $command = ($line -split ' ', 6)[5] -replace ' # QKDLite key maintenance: .*$', ''
            # Pointed at a data directory without node.json, the job must exit 1 (configuration).
            $command = $command -replace ([regex]::Escape("-DataDirectory $node")), "-DataDirectory $(Join-Path $work 'empty')"
            $null = & /bin/sh -c $command 2>&1
            $LASTEXITCODE | Should -Be 1
        }

        It 'refuses intervals cron cannot keep' {
            $failure = $null
            try { Register-QuantumKeyMaintenance -Scheduler Cron -Name $name -Interval (New-TimeSpan -Minutes 7) -Force } catch { $failure = $_ }
            $failure.FullyQualifiedErrorId | Should -BeLike 'MaintenanceIntervalInvalid*'
        }

        It 'removes only its own line' {
            Unregister-QuantumKeyMaintenance -Scheduler Cron -Name $name -Confirm:$false
            @(Get-Crontab | Where-Object { $_ -like "*$name*" }) | Should -BeNullOrEmpty
            Get-Crontab | Should -Contain $foreign
            Unregister-QuantumKeyMaintenance -Scheduler Cron -Name $name -ErrorVariable missing -ErrorAction SilentlyContinue
            $missing[0].FullyQualifiedErrorId | Should -BeLike 'MaintenanceScheduleNotFound*'
        }
    }

    Context 'systemd' {
        It 'writes a service and a timer that systemd-analyze verifies, and removes them' {
            $units = Join-Path $work 'units'
            $schedule = Register-QuantumKeyMaintenance -Scheduler Systemd -Path $units -Interval (New-TimeSpan -Minutes 15) -WarningAction SilentlyContinue
            $schedule.Pending | Should -Contain 'systemctl --user enable --now qkdlite-maintenance.timer'
            $service = Join-Path $units 'qkdlite-maintenance.service'
            $timer = Join-Path $units 'qkdlite-maintenance.timer'
            $verify = & systemd-analyze verify $service $timer 2>&1
            $LASTEXITCODE | Should -Be 0 -Because ($verify -join "`n")
            $verify | Should -BeNullOrEmpty
            Get-Content -Raw $timer | Should -Match '(?m)^OnUnitActiveSec=15min$'
            Get-Content -Raw $service | Should -Match ('(?m)^ExecStart=.* -NoProfile -NonInteractive -File ' + [regex]::Escape($EntryScript) + ' -DataDirectory ' + [regex]::Escape($node) + '$')
            Unregister-QuantumKeyMaintenance -Scheduler Systemd -Path $units -Confirm:$false
            Test-Path $service | Should -BeFalse
            Test-Path $timer | Should -BeFalse
        }
        It 'installs user units in the XDG folder and names the systemctl commands when systemd does not run here' -Skip:(Test-Path '/run/systemd/system') {
            $previous = $env:XDG_CONFIG_HOME
            $env:XDG_CONFIG_HOME = Join-Path $work 'xdg'
            try {
                $schedule = Register-QuantumKeyMaintenance -Scheduler Systemd -Name 'qkdlite-test-units' -WarningAction SilentlyContinue
                $schedule.Location | Should -Be (Join-Path $work 'xdg/systemd/user')
                $schedule.Pending | Should -Be @('systemctl --user daemon-reload', 'systemctl --user enable --now qkdlite-test-units.timer')
                Test-Path (Join-Path $work 'xdg/systemd/user/qkdlite-test-units.timer') | Should -BeTrue
                Unregister-QuantumKeyMaintenance -Scheduler Systemd -Name 'qkdlite-test-units' -Confirm:$false -WarningVariable told -WarningAction SilentlyContinue
                @($told.Message) | Should -Be @('Run to stop the timer: systemctl --user disable --now qkdlite-test-units.timer', 'Run to forget the removed units: systemctl --user daemon-reload')
                @(Get-ChildItem (Join-Path $work 'xdg/systemd/user')) | Should -BeNullOrEmpty
            }
            finally { $env:XDG_CONFIG_HOME = $previous }
        }
    }

    Context 'Task Scheduler' {
        It 'writes a task definition that repeats the entry script, one run at a time' {
            $file = Join-Path $work 'task.xml'
            $null = Register-QuantumKeyMaintenance -Scheduler TaskScheduler -Path $file -Scope AllUsers -WarningAction SilentlyContinue
            [xml]$xml = Get-Content -Raw -LiteralPath $file -Encoding Unicode
            $ns = @{ t = 'http://schemas.microsoft.com/windows/2004/02/mit/task' }
            (Select-Xml -Xml $xml -XPath '//t:Repetition/t:Interval' -Namespace $ns).Node.InnerText | Should -Be 'PT5M'
            (Select-Xml -Xml $xml -XPath '//t:MultipleInstancesPolicy' -Namespace $ns).Node.InnerText | Should -Be 'IgnoreNew'
            (Select-Xml -Xml $xml -XPath '//t:Principal/t:UserId' -Namespace $ns).Node.InnerText | Should -Be 'S-1-5-18'
            (Select-Xml -Xml $xml -XPath '//t:Exec/t:Arguments' -Namespace $ns).Node.InnerText | Should -Match ([regex]::Escape("-File $EntryScript -DataDirectory $node"))
            Unregister-QuantumKeyMaintenance -Scheduler TaskScheduler -Path $file -Confirm:$false
            Test-Path $file | Should -BeFalse
        }

        It 'says that Task Scheduler needs Windows when asked to register here' -Skip:$IsWindows {
            $failure = $null
            try { Register-QuantumKeyMaintenance -Scheduler TaskScheduler } catch { $failure = $_ }
            $failure.FullyQualifiedErrorId | Should -BeLike 'MaintenanceSchedulerNotFound*'
        }
    }
}
