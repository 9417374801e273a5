#Requires -Version 7.2
# New-QuantumKey's key sources: -Source Kme as the master SAE (ETSI "get key") or the slave SAE ("get key
# with key IDs") of a QKD link, keys stored under their ETSI key_IDs; -Source Qrng from a device/file or
# an HTTP QRNG service; Classical stays Classical. A misbehaving source stores nothing. Two nodes on one
# machine (key stores NodeA and NodeB) take keys from the test KME pair (a process); the test KME's
# control endpoint also serves the HTTP QRNG stand-in (GET /qrng).

Describe 'New-QuantumKey key sources' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $cmd = 'QKDLite.Commands.NewQuantumKeyCommand'
        $uuid = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
        foreach ($token in 'NodeA', 'NodeB', 'Replay') { Initialize-TestKeyStore -TokenLabel $token }

        # max_key_per_request 4: a request for 6 keys takes two calls.
        $kme = Start-TestKme -Directory (Join-Path $node 'kme') -ArgumentList @('--max-key-per-request', '4')
        # A second pair speaking hybrid (ML-KEM) TLS 1.3, for the post-quantum TLS profiles.
        $pqKme = Start-TestKme -Directory (Join-Path $node 'kme-pq') -ArgumentList @('--max-key-per-request', '4', '--tls', 'hybrid')
        $pfxVariable = 'QKDLITE_TEST_KME_PFX_PASSWORD'
        $apiKeyVariable = 'QKDLITE_TEST_QRNG_API_KEY'
        $env:QKDLITE_TEST_KME_PFX_PASSWORD = $kme.Info.pfxPassword

        # QRNG devices: files of random bytes (a file is consumed, so each test has its own), and a link
        # to a character device.
        function New-QrngFile([string]$Name, [int]$Bytes) {
            $path = Join-Path $node $Name
            $data = [System.Security.Cryptography.RandomNumberGenerator]::GetBytes($Bytes)
            [IO.File]::WriteAllBytes($path, $data)
            @{ Path = $path; Bytes = $data }
        }
        $file = New-QrngFile 'qrng-64.bin' 64
        $consumed = New-QrngFile 'qrng-96.bin' 96
        $short = New-QrngFile 'qrng-16.bin' 16
        $partial = New-QrngFile 'qrng-80.bin' 80
        $untouched = New-QrngFile 'qrng-32.bin' 32
        $deviceLink = Join-Path $node 'qrng-device'
        $null = New-Item -ItemType SymbolicLink -Path $deviceLink -Target '/dev/urandom'
        $qrngUrl = "$($kme.ControlUrl)/qrng?bytes={bytes}"

        Set-TestKeySource -Kme @(
            New-TestKmeSettings -Kme $kme -Name 'LinkA' -Client 'SAE-A' -Side A
            New-TestKmeSettings -Kme $kme -Name 'LinkB' -Client 'SAE-B' -Side B -Certificate PfxWithPassword -PasswordVariable $pfxVariable
            New-TestKmeSettings -Kme $pqKme -Name 'PqLinkA' -Client 'SAE-A' -Side A -TlsProfile Hybrid
            New-TestKmeSettings -Kme $pqKme -Name 'PqLinkB' -Client 'SAE-B' -Side B -Certificate Pfx -TlsProfile PostQuantumOnly -TlsGroups SecP256r1MLKEM768
            New-TestKmeSettings -Kme $kme -Name 'PqClassical' -Client 'SAE-A' -Side A -TlsProfile PostQuantumOnly
        ) -Qrng @(
            @{ Name = 'qrng-file'; Device = $file.Path }
            @{ Name = 'qrng-consumed'; Device = $consumed.Path }
            @{ Name = 'qrng-short'; Device = $short.Path }
            @{ Name = 'qrng-partial'; Device = $partial.Path }
            @{ Name = 'qrng-untouched'; Device = $untouched.Path }
            @{ Name = 'qrng-device'; Device = $deviceLink }
            @{ Name = 'qrng-missing'; Device = (Join-Path $node 'no-such-device') }
            @{ Name = 'qrng-hex'; Url = $qrngUrl }
            @{ Name = 'qrng-b64'; Url = "$qrngUrl&encoding=base64"; Encoding = 'Base64' }
            @{ Name = 'qrng-keyed'; Url = $qrngUrl; ApiKeyVariable = $apiKeyVariable }
            @{ Name = 'qrng-field'; Url = $qrngUrl; Field = 'random' }
        )

        function Get-KeyHex([string]$TokenLabel, [string]$Label) {
            $material = Get-QuantumKey -TokenLabel $TokenLabel -Label $Label -IncludeKeyMaterial
            try { [Convert]::ToHexString($material.Key) } finally { [Array]::Clear($material.Key) }
        }

        function Get-KmeLog([string]$Side) {
            @(Invoke-TestKmeControl -Kme $kme -Path "control/$Side/requests")
        }

        function Get-PqKmeLog([string]$Side) {
            @(Invoke-TestKmeControl -Kme $pqKme -Path "control/$Side/requests")
        }

        function Get-Pool {
            Invoke-TestKmeControl -Kme $kme -Path 'control/pool' | Select-Object -First 1
        }

        function Reset-Kme {
            $null = Invoke-TestKmeControl -Kme $kme -Path 'control/reset' -Method Post
        }

        function Set-KmeSwitch([string]$Side, [hashtable]$Switch) {
            $null = Invoke-TestKmeControl -Kme $kme -Path "control/$Side/behaviour" -Method Put -Body $Switch
        }

        function Get-QrngLog {
            @((Invoke-TestKmeControl -Kme $kme -Path 'control/qrng' | Select-Object -First 1).requests)
        }

        # Keys taken by NodeA as master SAE for a slave fetch, with KME switches off.
        function New-MasterKey([int]$Count = 1, [string]$KeyId = 'PENDING', [int]$Size = 256) {
            @(New-QuantumKey -TokenLabel 'NodeA' -KeyId $KeyId -Source Kme -Kme 'LinkA' -SlaveSaeId 'SAE-B' -Count $Count -Size $Size -ErrorAction Stop)
        }
    }

    AfterAll {
        Stop-TestKme -Kme $kme
        Stop-TestKme -Kme $pqKme
        Remove-Item -Path "env:$pfxVariable", "env:$apiKeyVariable" -ErrorAction Ignore
        Remove-TestNode -Path $node
    }

    Context 'NodeA as master SAE, NodeB as slave SAE' {
        BeforeAll {
            Reset-Kme
            $master = @(New-QuantumKey -TokenLabel 'NodeA' -KeyId 'LINK' -Source Kme -Kme 'LinkA' -SlaveSaeId 'SAE-B' -Count 6 -Size 512)
            $masterLog = Get-KmeLog 'A'
            $poolAfterMaster = Get-Pool
            $slave = @(New-QuantumKey -TokenLabel 'NodeB' -KeyId 'LINK' -Source Kme -Kme 'LinkB' -MasterSaeId 'SAE-A' -Label $master.Label -Size 512)
            $slaveLog = Get-KmeLog 'B'
        }

        It 'the master stores the keys it took under their ETSI key_IDs, as Source Kme, at the size asked' {
            $master.Count | Should -Be 6
            foreach ($key in $master) {
                $key | Should -BeOfType ([QKDLite.Core.Keys.QuantumKeyInfo])
                $key.Label | Should -MatchExactly $uuid
                $key.KeyId | Should -BeExactly 'LINK'
                $key.Source | Should -Be 'Kme'
                $key.SizeBits | Should -Be 512
                $key.State | Should -Be 'Active'
                $key.TokenLabel | Should -BeExactly 'NodeA'
                $key.CheckValue | Should -MatchExactly '^[0-9A-F]{6}$'
            }
            @($master.Label | Select-Object -Unique).Count | Should -Be 6
            (Get-KeyCount -TokenLabel 'NodeA' -KeyId 'LINK').Count | Should -Be 6
            (Get-QuantumKey -TokenLabel 'NodeA' -Label $master[0].Label).Source | Should -Be 'Kme'
        }

        It 'the master asked KME A for the status, then for the keys in requests of at most max_key_per_request' {
            $masterLog.Count | Should -Be 3
            $masterLog.sae | Should -Be @('SAE-A', 'SAE-A', 'SAE-A')
            $masterLog.status | Should -Be @(200, 200, 200)
            $masterLog[0].target | Should -BeExactly '/api/v1/keys/SAE-B/status'
            $masterLog[1].target | Should -BeExactly '/api/v1/keys/SAE-B/enc_keys'
            ($masterLog[1].body | ConvertFrom-Json).number | Should -Be 4
            ($masterLog[1].body | ConvertFrom-Json).size | Should -Be 512
            ($masterLog[2].body | ConvertFrom-Json).number | Should -Be 2
            $poolAfterMaster.pending_key_count | Should -Be 6
        }

        It 'the slave stores the same key_IDs with the same check values, as Source Kme' {
            $slave.Count | Should -Be 6
            $slave.Label | Should -Be $master.Label
            $slave.CheckValue | Should -Be $master.CheckValue
            foreach ($key in $slave) {
                $key.Source | Should -Be 'Kme'
                $key.SizeBits | Should -Be 512
                $key.KeyId | Should -BeExactly 'LINK'
                $key.TokenLabel | Should -BeExactly 'NodeB'
            }
            foreach ($key in $master) {
                (Get-QuantumKey -TokenLabel 'NodeB' -Label $key.Label).CheckValue | Should -BeExactly $key.CheckValue
            }
        }

        It 'the slave fetched them from KME B by key_ID (dec_keys), as SAE-B' {
            @($slaveLog | Where-Object { $_.target -like '*/dec_keys' }).Count | Should -Be 2
            $slaveLog.sae | Select-Object -Unique | Should -Be 'SAE-B'
            $slaveLog[0].target | Should -BeExactly '/api/v1/keys/SAE-A/status'
            $slaveLog[1].target | Should -BeExactly '/api/v1/keys/SAE-A/dec_keys'
            @(($slaveLog[1].body | ConvertFrom-Json).key_IDs.key_ID) | Should -Be $master.Label[0..3]
            (Get-Pool).pending_key_count | Should -Be 0
        }

        It 'both nodes hold the same key bytes, whose check value QKDLite computed correctly' {
            foreach ($key in $master) {
                $hex = Get-KeyHex 'NodeA' $key.Label
                $hex.Length | Should -Be 128
                Get-KeyHex 'NodeB' $key.Label | Should -BeExactly $hex
                Get-TestCheckValue -Key ([Convert]::FromHexString($hex)) -SizeBits 512 | Should -BeExactly $key.CheckValue
            }
            (Get-KeyHex 'NodeA' $master[0].Label) | Should -Not -BeExactly (Get-KeyHex 'NodeA' $master[1].Label)
        }

        It 'a replayed slave fetch is refused (KmeRequestRefused) and stores nothing' {
            $state = Get-TestTokenState -TokenLabel 'Replay'
            $err = { New-QuantumKey -TokenLabel 'Replay' -KeyId 'LINK' -Source Kme -Kme 'LinkB' -MasterSaeId 'SAE-A' -Label $master.Label[0..1] -Size 512 } |
                Should -Throw -ErrorId "KmeRequestRefused,$cmd" -PassThru
            $err.Exception.Message | Should -BeLike '*not found*'
            Get-TestTokenState -TokenLabel 'Replay' | Should -BeExactly $state
            (Get-KeyCount -TokenLabel 'Replay' -KeyId 'LINK').Count | Should -Be 0
        }
    }

    Context 'over hybrid post-quantum TLS (TlsProfile Hybrid as master, PostQuantumOnly as slave)' {
        BeforeAll {
            $null = Invoke-TestKmeControl -Kme $pqKme -Path 'control/reset' -Method Post
            $pqOut = @(New-QuantumKey -TokenLabel 'NodeA' -KeyId 'PQLINK' -Source Kme -Kme 'PqLinkA' -SlaveSaeId 'SAE-B' -Count 6 -Verbose 4>&1)
            $pqMaster = @($pqOut | Where-Object { $_ -is [QKDLite.Core.Keys.QuantumKeyInfo] })
            $pqSlaveOut = @(New-QuantumKey -TokenLabel 'NodeB' -KeyId 'PQLINK' -Source Kme -Kme 'PqLinkB' -MasterSaeId 'SAE-A' -Label $pqMaster.Label -Verbose 4>&1)
            $pqSlave = @($pqSlaveOut | Where-Object { $_ -is [QKDLite.Core.Keys.QuantumKeyInfo] })
        }

        It 'master and slave store the same keys, taken over the group each configured' {
            $pqMaster.Count | Should -Be 6
            $pqSlave.Label | Should -Be $pqMaster.Label
            $pqSlave.CheckValue | Should -Be $pqMaster.CheckValue
            foreach ($key in $pqMaster) { Get-KeyHex 'NodeB' $key.Label | Should -BeExactly (Get-KeyHex 'NodeA' $key.Label) }
            $logA = Get-PqKmeLog 'A'
            $logB = Get-PqKmeLog 'B'
            $logA.Count | Should -Be 3
            @($logA.tlsGroup | Select-Object -Unique) | Should -Be @('X25519MLKEM768')
            @($logB | Where-Object { $_.target -like '*/dec_keys' }).Count | Should -Be 2
            @($logB.tlsGroup | Select-Object -Unique) | Should -Be @('SecP256r1MLKEM768')
        }

        It 'verbose output names the negotiated group' {
            $masterVerbose = @($pqOut | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n"
            $masterVerbose | Should -BeLike '*delivered 4 key(s) over TLS 1.3, group X25519MLKEM768 (post-quantum)*(Hybrid profile)*'
            $slaveVerbose = @($pqSlaveOut | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n"
            $slaveVerbose | Should -BeLike '*delivered 6 key(s) over TLS 1.3, group SecP256r1MLKEM768 (post-quantum)*(PostQuantumOnly profile)*'
        }

        It 'PostQuantumOnly towards the classical-only KME is refused (TlsPostQuantumRefused) and stores nothing' {
            Reset-Kme
            $state = Get-TestTokenState -TokenLabel 'Replay'
            $err = { New-QuantumKey -TokenLabel 'Replay' -KeyId 'PQ' -Source Kme -Kme 'PqClassical' -SlaveSaeId 'SAE-B' -Count 2 } |
                Should -Throw -ErrorId "TlsPostQuantumRefused,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'SecurityError'
            $err.Exception.Message | Should -BeLike '*PostQuantumOnly*TlsProfile Hybrid*'
            Get-TestTokenState -TokenLabel 'Replay' | Should -BeExactly $state
            Get-KmeLog 'A' | Should -BeNullOrEmpty
        }
    }

    Context 'a slave fetch of labels already present' {
        It 'fails with DuplicateKeyLabel before the KME is asked, so the keys stay fetchable' {
            Reset-Kme
            $ids = @(New-MasterKey -Count 2 -KeyId 'DUPSLAVE').Label
            # NodeB already has a key labelled like the second key_ID.
            $null = New-QuantumKey -TokenLabel 'NodeB' -KeyId 'OTHER' -Label $ids[1]
            $state = Get-TestTokenState -TokenLabel 'NodeB'
            $null = Invoke-TestKmeControl -Kme $kme -Path 'control/B/requests' -Method Delete
            $err = { New-QuantumKey -TokenLabel 'NodeB' -KeyId 'DUPSLAVE' -Source Kme -Kme 'LinkB' -MasterSaeId 'SAE-A' -Label $ids } |
                Should -Throw -ErrorId "DuplicateKeyLabel,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'ResourceExists'
            "$($err.TargetObject)" | Should -BeExactly $ids[1]
            Get-KmeLog 'B' | Where-Object { $_.target -like '*/dec_keys*' } | Should -BeNullOrEmpty
            Get-KmeLog 'B' | Should -BeNullOrEmpty
            Get-TestTokenState -TokenLabel 'NodeB' | Should -BeExactly $state
            (Get-Pool).pending_key_count | Should -Be 2
            # The first key was not consumed: the slave can still fetch it.
            $first = New-QuantumKey -TokenLabel 'NodeB' -KeyId 'DUPSLAVE' -Source Kme -Kme 'LinkB' -MasterSaeId 'SAE-A' -Label $ids[0]
            $first.CheckValue | Should -BeExactly (Get-QuantumKey -TokenLabel 'NodeA' -Label $ids[0]).CheckValue
        }
    }

    Context 'requests refused before a KME is asked' {
        BeforeEach {
            Reset-Kme
            $stateA = Get-TestTokenState -TokenLabel 'NodeA'
            $stateB = Get-TestTokenState -TokenLabel 'NodeB'
        }

        AfterEach {
            Get-TestTokenState -TokenLabel 'NodeA' | Should -BeExactly $stateA
            Get-TestTokenState -TokenLabel 'NodeB' | Should -BeExactly $stateB
            Get-KmeLog 'A' | Should -BeNullOrEmpty
            Get-KmeLog 'B' | Should -BeNullOrEmpty
        }

        It 'refuses <Name> with KeySourceNotAvailable' -TestCases @(
            @{ Name = '-Kme without an SAE'; Parameters = @{ TokenLabel = 'NodeA'; Kme = 'LinkA' } }
            @{ Name = '-SlaveSaeId without -Kme'; Parameters = @{ TokenLabel = 'NodeA'; SlaveSaeId = 'SAE-B' } }
            @{ Name = 'both -SlaveSaeId and -MasterSaeId'; Parameters = @{ TokenLabel = 'NodeA'; Kme = 'LinkA'; SlaveSaeId = 'SAE-B'; MasterSaeId = 'SAE-A'; Label = '11111111-1111-4111-8111-111111111111' } }
            @{ Name = '-MasterSaeId without -Label'; Parameters = @{ TokenLabel = 'NodeB'; Kme = 'LinkB'; MasterSaeId = 'SAE-A' } }
            @{ Name = '-Label with -SlaveSaeId (the KME chooses the key_IDs)'; Parameters = @{ TokenLabel = 'NodeA'; Kme = 'LinkA'; SlaveSaeId = 'SAE-B'; Label = 'my-label' } }
        ) {
            $err = { New-QuantumKey -KeyId 'REFUSED' -Source Kme @Parameters } | Should -Throw -ErrorId "KeySourceNotAvailable,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        }

        It 'refuses an unknown KME name with KeySourceNotConfigured' {
            $err = { New-QuantumKey -TokenLabel 'NodeA' -KeyId 'REFUSED' -Source Kme -Kme 'NoSuchLink' -SlaveSaeId 'SAE-B' } |
                Should -Throw -ErrorId "KeySourceNotConfigured,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            "$($err.TargetObject)" | Should -BeExactly 'NoSuchLink'
        }

        It '-WhatIf as master takes no keys from the KME and stores nothing' {
            $pool = Get-Pool
            New-QuantumKey -TokenLabel 'NodeA' -KeyId 'WHATIF' -Source Kme -Kme 'LinkA' -SlaveSaeId 'SAE-B' -Count 3 -WhatIf | Should -BeNullOrEmpty
            $after = Get-Pool
            $after.stored_key_count | Should -Be $pool.stored_key_count
            $after.pending_key_count | Should -Be 0
            (Get-KeyCount -TokenLabel 'NodeA' -KeyId 'WHATIF').Count | Should -Be 0
        }
    }

    Context '-WhatIf as slave' {
        It 'fetches nothing, so the keys stay at the KME for the real fetch' {
            Reset-Kme
            $ids = @(New-MasterKey -Count 2 -KeyId 'WHATIFSLAVE').Label
            $state = Get-TestTokenState -TokenLabel 'NodeB'
            New-QuantumKey -TokenLabel 'NodeB' -KeyId 'WHATIFSLAVE' -Source Kme -Kme 'LinkB' -MasterSaeId 'SAE-A' -Label $ids -WhatIf | Should -BeNullOrEmpty
            Get-KmeLog 'B' | Should -BeNullOrEmpty
            Get-TestTokenState -TokenLabel 'NodeB' | Should -BeExactly $state
            (Get-Pool).pending_key_count | Should -Be 2
            @(New-QuantumKey -TokenLabel 'NodeB' -KeyId 'WHATIFSLAVE' -Source Kme -Kme 'LinkB' -MasterSaeId 'SAE-A' -Label $ids).Count | Should -Be 2
        }
    }

    Context 'a misbehaving KME: an error, and nothing stored' {
        BeforeEach {
            Reset-Kme
            $stateA = Get-TestTokenState -TokenLabel 'NodeA'
            $stateB = Get-TestTokenState -TokenLabel 'NodeB'
        }

        It 'as master, <Switch> on KME A fails with <Id>' -TestCases @(
            @{ Switch = 'WrongKeyLength'; Id = 'KmeAnswerInvalid'; Category = 'InvalidData' }
            @{ Switch = 'BitsBytesConfusion'; Id = 'KmeAnswerInvalid'; Category = 'InvalidData' }
            @{ Switch = 'MalformedJson'; Id = 'KmeAnswerInvalid'; Category = 'InvalidData' }
            @{ Switch = 'Html401'; Id = 'KmeUnauthorized'; Category = 'AuthenticationError' }
            @{ Switch = 'Status503'; Id = 'KmeUnavailable'; Category = 'ResourceUnavailable' }
        ) {
            Set-KmeSwitch 'A' @{ $Switch = $true }
            $countBefore = @(Get-QuantumKey -TokenLabel 'NodeA').Count
            $err = { New-QuantumKey -TokenLabel 'NodeA' -KeyId "BADKME-$Switch" -Source Kme -Kme 'LinkA' -SlaveSaeId 'SAE-B' -Count 3 } |
                Should -Throw -ErrorId "$Id,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be $Category
            @(Get-QuantumKey -TokenLabel 'NodeA').Count | Should -Be $countBefore
            (Get-KeyCount -TokenLabel 'NodeA' -KeyId "BADKME-$Switch").Count | Should -Be 0
            Get-TestTokenState -TokenLabel 'NodeA' | Should -BeExactly $stateA
        }

        # BUG (open, since 746fc61): a slave fetch without -Size now takes the size of the first key the KME
        # sends (EtsiKmeClient.GetKeysWithIdsAsync with sizeBits 0: ReadKeys checks nothing, then
        # size = received[0].Key.Length * 8). KME B confusing bits and bytes sends each 256-bit key as 256
        # bytes, and the slave stores three 2048-bit keys (above the KME's own max_key_size of 1024) whose
        # check values differ from the master's: no error, and the pair silently holds different keys.
        # The sizes the KME's status allows (min_key_size..max_key_size) would catch this case.
        It 'as slave, <Switch> on KME B fails with <Id>' -TestCases @(
            @{ Switch = 'WrongKeyLength'; Id = 'KmeAnswerInvalid'; Category = 'InvalidData' }
            @{ Switch = 'BitsBytesConfusion'; Id = 'KmeAnswerInvalid'; Category = 'InvalidData' }
            @{ Switch = 'Html401'; Id = 'KmeUnauthorized'; Category = 'AuthenticationError' }
        ) {
            $ids = @(New-MasterKey -Count 3 -KeyId "BADSLAVE-$Switch").Label
            $stateB = Get-TestTokenState -TokenLabel 'NodeB'
            Set-KmeSwitch 'B' @{ $Switch = $true }
            $err = { New-QuantumKey -TokenLabel 'NodeB' -KeyId "BADSLAVE-$Switch" -Source Kme -Kme 'LinkB' -MasterSaeId 'SAE-A' -Label $ids } |
                Should -Throw -ErrorId "$Id,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be $Category
            (Get-KeyCount -TokenLabel 'NodeB' -KeyId "BADSLAVE-$Switch").Count | Should -Be 0
            foreach ($id in $ids) { Get-QuantumKey -TokenLabel 'NodeB' -Label $id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty }
            Get-TestTokenState -TokenLabel 'NodeB' | Should -BeExactly $stateB
        }
    }

    Context 'key size on the slave side' {
        BeforeEach {
            Reset-Kme
        }

        # Regression (fixed): dec_keys has no size, but without -Size the slave checked the keys against
        # the KME's default key_size, failed with KmeAnswerInvalid after the KME had handed the keys
        # over (and deleted them), so the pair could never share them.
        It 'a slave fetch without -Size stores the keys at the size the master took them' {
            $keys = @(New-MasterKey -Count 2 -KeyId 'SLAVESIZE' -Size 128)
            $slaveKeys = @(New-QuantumKey -TokenLabel 'NodeB' -KeyId 'SLAVESIZE' -Source Kme -Kme 'LinkB' -MasterSaeId 'SAE-A' -Label $keys.Label)
            $slaveKeys.SizeBits | Should -Be @(128, 128)
            $slaveKeys.Label | Should -Be $keys.Label
            $slaveKeys.CheckValue | Should -Be $keys.CheckValue
        }

        It 'a slave fetch with a -Size other than the master''s fails with KmeAnswerInvalid and stores nothing' {
            $keys = @(New-MasterKey -Count 2 -KeyId 'SLAVEWRONGSIZE' -Size 128)
            $state = Get-TestTokenState -TokenLabel 'NodeB'
            { New-QuantumKey -TokenLabel 'NodeB' -KeyId 'SLAVEWRONGSIZE' -Source Kme -Kme 'LinkB' -MasterSaeId 'SAE-A' -Label $keys.Label -Size 256 } |
                Should -Throw -ErrorId "KmeAnswerInvalid,$cmd"
            Get-TestTokenState -TokenLabel 'NodeB' | Should -BeExactly $state
        }
    }

    Context 'QRNG from a device or file' {
        BeforeEach {
            $state = Get-TestTokenState -TokenLabel 'NodeA'
        }

        It 'stores keys made of consecutive chunks of the file, recorded as Source Qrng' {
            $keys = @(New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QFILE' -Source Qrng -Qrng 'qrng-file' -Count 2)
            $keys.Count | Should -Be 2
            for ($i = 0; $i -lt 2; $i++) {
                $keys[$i].Source | Should -Be 'Qrng'
                $keys[$i].SizeBits | Should -Be 256
                $keys[$i].Label | Should -MatchExactly $uuid
                (Get-QuantumKey -TokenLabel 'NodeA' -Label $keys[$i].Label).Source | Should -Be 'Qrng'
                Get-KeyHex 'NodeA' $keys[$i].Label | Should -BeExactly ([Convert]::ToHexString($file.Bytes, 32 * $i, 32)) -Because "key $i is bytes $(32 * $i)..$(32 * $i + 31) of the file"
                $keys[$i].CheckValue | Should -BeExactly (Get-TestCheckValue -Key $file.Bytes[(32 * $i)..(32 * $i + 31)] -SizeBits 256)
            }
        }

        It 'uses no byte of a file twice: a later request goes on where the last one stopped, a used-up file fails with QrngUnavailable' {
            $first = New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QCONSUMED' -Source Qrng -Qrng 'qrng-consumed'
            $more = @(New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QCONSUMED' -Source Qrng -Qrng 'qrng-consumed' -Count 2)
            Get-KeyHex 'NodeA' $first.Label | Should -BeExactly ([Convert]::ToHexString($consumed.Bytes, 0, 32))
            Get-KeyHex 'NodeA' $more[0].Label | Should -BeExactly ([Convert]::ToHexString($consumed.Bytes, 32, 32))
            Get-KeyHex 'NodeA' $more[1].Label | Should -BeExactly ([Convert]::ToHexString($consumed.Bytes, 64, 32))
            $after = Get-TestTokenState -TokenLabel 'NodeA'
            $err = { New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QCONSUMED' -Source Qrng -Qrng 'qrng-consumed' } |
                Should -Throw -ErrorId "QrngUnavailable,$cmd" -PassThru
            $err.Exception.Message | Should -BeLike '*0 of 32*'
            Get-TestTokenState -TokenLabel 'NodeA' | Should -BeExactly $after
        }

        It 'fails with QrngUnavailable and stores nothing when the file is shorter than a key' {
            $err = { New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QSHORT' -Source Qrng -Qrng 'qrng-short' } |
                Should -Throw -ErrorId "QrngUnavailable,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
            "$($err.TargetObject)" | Should -BeExactly 'qrng-short'
            $err.Exception.Message | Should -BeLike '*16 of 32*'
            Get-TestTokenState -TokenLabel 'NodeA' | Should -BeExactly $state
        }

        It 'fails with QrngUnavailable when the file runs out partway, never padding or repeating bytes' {
            { New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QPARTIAL' -Source Qrng -Qrng 'qrng-partial' -Count 3 } |
                Should -Throw -ErrorId "QrngUnavailable,$cmd"
            $stored = @(Get-QuantumKey -TokenLabel 'NodeA' -KeyId 'QPARTIAL' | Sort-Object Created)
            $stored.Count | Should -BeLessThan 3
            for ($i = 0; $i -lt $stored.Count; $i++) {
                Get-KeyHex 'NodeA' $stored[$i].Label | Should -BeExactly ([Convert]::ToHexString($partial.Bytes, 32 * $i, 32))
            }
        }

        It 'takes no bytes from the file for -WhatIf or a refused request' {
            New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QUNTOUCHED' -Source Qrng -Qrng 'qrng-untouched' -WhatIf | Should -BeNullOrEmpty
            $taken = New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QTAKEN' -Label 'qrng-label-taken'
            { New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QUNTOUCHED' -Source Qrng -Qrng 'qrng-untouched' -Label $taken.Label } |
                Should -Throw -ErrorId "DuplicateKeyLabel,$cmd"
            $key = New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QUNTOUCHED' -Source Qrng -Qrng 'qrng-untouched'
            Get-KeyHex 'NodeA' $key.Label | Should -BeExactly ([Convert]::ToHexString($untouched.Bytes))
        }

        It 'fails with QrngUnavailable and stores nothing when the device does not exist' {
            { New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QMISSING' -Source Qrng -Qrng 'qrng-missing' } |
                Should -Throw -ErrorId "QrngUnavailable,$cmd"
            Get-TestTokenState -TokenLabel 'NodeA' | Should -BeExactly $state
        }

        # Regression (fixed): DeviceQrngSource treats every stream .NET calls seekable as a regular file, and .NET
        # calls character devices such as /dev/urandom seekable (lseek succeeds on them). So for a device
        # node it writes "<device>.offset" beside the device after each key: for Device = /dev/qrandom0
        # (the documented example) that is /dev/qrandom0.offset, which an unprivileged user cannot create,
        # so every request fails with QrngUnavailable ("cannot be read: Access to the path ... is denied");
        # run as root, it leaves a stray file in /dev. Here the device is reached through a link in the
        # test directory, so the misplaced offset file shows without touching /dev.
        It 'reads a device node directly: fresh bytes for each key, no position kept beside it' {
            $keys = @(New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QDEVICE' -Source Qrng -Qrng 'qrng-device' -Count 2)
            $keys.Count | Should -Be 2
            $keys.Source | Should -Be @('Qrng', 'Qrng')
            Get-KeyHex 'NodeA' $keys[0].Label | Should -Not -BeExactly (Get-KeyHex 'NodeA' $keys[1].Label)
            Get-ChildItem -LiteralPath $node -Filter 'qrng-device*' | ForEach-Object Name | Should -Be @('qrng-device') -Because 'a device is not a file to be consumed'
        }
    }

    Context 'QRNG over HTTP' {
        BeforeEach {
            Reset-Kme
            Remove-Item -Path "env:$apiKeyVariable" -ErrorAction Ignore
            $state = Get-TestTokenState -TokenLabel 'NodeA'
        }

        It 'stores the bytes the service sent as <Encoding>, one request per key, recorded as Source Qrng' -TestCases @(
            @{ Encoding = 'hex'; Qrng = 'qrng-hex' }
            @{ Encoding = 'base64'; Qrng = 'qrng-b64' }
        ) {
            $keys = @(New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QHTTP' -Source Qrng -Qrng $Qrng -Count 2 -Size 192)
            $log = Get-QrngLog
            $log.Count | Should -Be 2
            $log.bytes | Should -Be @(24, 24)
            $log.encoding | Should -Be @($Encoding, $Encoding)
            for ($i = 0; $i -lt 2; $i++) {
                $keys[$i].Source | Should -Be 'Qrng'
                $keys[$i].SizeBits | Should -Be 192
                Get-KeyHex 'NodeA' $keys[$i].Label | Should -BeExactly $log[$i].data
            }
        }

        It 'sends the API key from the environment variable in x-api-key; node.json holds only the variable''s name' {
            $secret = 'qrng-api-' + [guid]::NewGuid().ToString('N')
            $null = Invoke-TestKmeControl -Kme $kme -Path 'control/qrng' -Method Put -Body @{ ApiKey = $secret }
            Set-Item -Path "env:$apiKeyVariable" -Value $secret
            $key = New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QKEYED' -Source Qrng -Qrng 'qrng-keyed'
            $key.Source | Should -Be 'Qrng'
            $log = Get-QrngLog
            $log.Count | Should -Be 1
            $log[0].apiKeyMatched | Should -BeTrue
            Get-KeyHex 'NodeA' $key.Label | Should -BeExactly $log[0].data
            $configuration = Get-Content -Raw -LiteralPath (Join-Path $node 'node.json')
            $configuration.Contains($secret) | Should -BeFalse
            $configuration.Contains($apiKeyVariable) | Should -BeTrue
        }

        It 'fails with QrngUnavailable, asking nothing, when the API key variable is not set' {
            $null = Invoke-TestKmeControl -Kme $kme -Path 'control/qrng' -Method Put -Body @{ ApiKey = 'expected' }
            $err = { New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QNOKEY' -Source Qrng -Qrng 'qrng-keyed' } |
                Should -Throw -ErrorId "QrngUnavailable,$cmd" -PassThru
            $err.Exception.Message | Should -BeLike "*$apiKeyVariable*"
            Get-QrngLog | Should -BeNullOrEmpty
            Get-TestTokenState -TokenLabel 'NodeA' | Should -BeExactly $state
        }

        It 'fails with <Id> and stores nothing when the service <Name>' -TestCases @(
            @{ Name = 'answers malformed JSON'; Control = @{ Malformed = $true }; Qrng = 'qrng-hex'; Id = 'QrngAnswerInvalid'; Category = 'InvalidData' }
            @{ Name = 'answers without the configured field'; Control = @{}; Qrng = 'qrng-field'; Id = 'QrngAnswerInvalid'; Category = 'InvalidData' }
            @{ Name = 'answers HTTP 503'; Control = @{ Status = 503 }; Qrng = 'qrng-hex'; Id = 'QrngUnavailable'; Category = 'ResourceUnavailable' }
            @{ Name = 'refuses the API key (401)'; Control = @{ ApiKey = 'expected' }; Qrng = 'qrng-keyed'; Id = 'QrngUnavailable'; Category = 'ResourceUnavailable'; ApiKey = 'wrong' }
        ) {
            if ($Control.Count) { $null = Invoke-TestKmeControl -Kme $kme -Path 'control/qrng' -Method Put -Body $Control }
            if ($ApiKey) { Set-Item -Path "env:$apiKeyVariable" -Value $ApiKey }
            $err = { New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QBAD' -Source Qrng -Qrng $Qrng -Count 2 } |
                Should -Throw -ErrorId "$Id,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be $Category
            "$($err.TargetObject)" | Should -BeExactly $Qrng
            @(Get-QrngLog).Count | Should -Be 1 -Because 'the first failure stops the request'
            Get-TestTokenState -TokenLabel 'NodeA' | Should -BeExactly $state
        }

        It '-WhatIf asks the QRNG for nothing' {
            New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QWHATIF' -Source Qrng -Qrng 'qrng-hex' -Count 2 -WhatIf | Should -BeNullOrEmpty
            Get-QrngLog | Should -BeNullOrEmpty
            Get-TestTokenState -TokenLabel 'NodeA' | Should -BeExactly $state
        }
    }

    Context 'choosing a QRNG' {
        BeforeEach {
            Reset-Kme
            $state = Get-TestTokenState -TokenLabel 'NodeA'
        }

        It 'refuses an unknown QRNG name with KeySourceNotConfigured' {
            $err = { New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QUNKNOWN' -Source Qrng -Qrng 'no-such-qrng' } |
                Should -Throw -ErrorId "KeySourceNotConfigured,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            "$($err.TargetObject)" | Should -BeExactly 'no-such-qrng'
            $err.Exception.Message | Should -BeLike '*qrng-hex*'
            Get-TestTokenState -TokenLabel 'NodeA' | Should -BeExactly $state
        }

        It 'refuses -Source Qrng without -Qrng with KeySourceNotAvailable' {
            $err = { New-QuantumKey -TokenLabel 'NodeA' -KeyId 'QNONE' -Source Qrng } |
                Should -Throw -ErrorId "KeySourceNotAvailable,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
            Get-TestTokenState -TokenLabel 'NodeA' | Should -BeExactly $state
        }

        It 'records Classical keys as Classical, even with a -Qrng named, and does not ask the QRNG' {
            $keys = @(
                New-QuantumKey -TokenLabel 'NodeA' -KeyId 'CLASSIC'
                New-QuantumKey -TokenLabel 'NodeA' -KeyId 'CLASSIC' -Source Classical -Qrng 'qrng-hex'
            )
            $keys.Source | Should -Be @('Classical', 'Classical')
            (Get-QuantumKey -TokenLabel 'NodeA' -KeyId 'CLASSIC').Source | Should -Be @('Classical', 'Classical')
            Get-QrngLog | Should -BeNullOrEmpty
        }
    }

    Context 'tab completion' {
        It 'offers the KME names of node.json for -Kme' {
            Get-TestCompletion 'New-QuantumKey -KeyId X -Source Kme -Kme Li' | Should -Be @('LinkA', 'LinkB')
            Get-TestCompletion 'New-QuantumKey -KeyId X -Source Kme -Kme linkb' | Should -Be @('LinkB')
        }

        It 'offers the QRNG names of node.json for -Qrng' {
            Get-TestCompletion 'New-QuantumKey -KeyId X -Source Qrng -Qrng qrng-' |
                Should -Be @('qrng-b64', 'qrng-consumed', 'qrng-device', 'qrng-field', 'qrng-file', 'qrng-hex', 'qrng-keyed', 'qrng-missing', 'qrng-partial', 'qrng-short', 'qrng-untouched')
            Get-TestCompletion 'New-QuantumKey -KeyId X -Source Qrng -Qrng qrng-h' | Should -Be @('qrng-hex')
        }

        It 'keeps KME and QRNG names apart' {
            Get-TestCompletion 'New-QuantumKey -KeyId X -Qrng Li' | Should -BeNullOrEmpty
            Get-TestCompletion 'New-QuantumKey -KeyId X -Kme qrng' | Should -BeNullOrEmpty
        }
    }

    Context 'key bytes never reach the output' {
        BeforeAll {
            Reset-Kme
            $out = @(
                New-QuantumKey -TokenLabel 'NodeA' -KeyId 'SHOWN' -Source Kme -Kme 'LinkA' -SlaveSaeId 'SAE-B' -Count 2 -Verbose 4>&1
                New-QuantumKey -TokenLabel 'NodeA' -KeyId 'SHOWN' -Source Qrng -Qrng 'qrng-hex' -Count 2 -Verbose 4>&1
            )
            $shown = @($out | Where-Object { $_ -is [QKDLite.Core.Keys.QuantumKeyInfo] })
            $kmeLabels = @($shown | Where-Object Source -EQ 'Kme' | ForEach-Object Label)
            $slaveOut = @(New-QuantumKey -TokenLabel 'NodeB' -KeyId 'SHOWN' -Source Kme -Kme 'LinkB' -MasterSaeId 'SAE-A' -Label $kmeLabels -Verbose 4>&1)
            $text = @(
                $out | Out-String
                $out | Format-List * | Out-String
                $slaveOut | Out-String
                $slaveOut | Format-List * | Out-String
                Get-QuantumKey -TokenLabel 'NodeA' | Out-String
                Get-QuantumKey -TokenLabel 'NodeA' -KeyId 'SHOWN' | Format-List * | Out-String
                Get-QuantumKey -TokenLabel 'NodeB' -KeyId 'SHOWN' | Format-Table * | Out-String
                Get-KeyCount -TokenLabel 'NodeA' | Out-String
                Get-KmeStatus -Kme 'LinkA' -PeerSaeId 'SAE-B' | Format-List * | Out-String
            ) -join "`n"
            $keys = @(foreach ($key in $shown) {
                    $material = Get-QuantumKey -TokenLabel 'NodeA' -Label $key.Label -IncludeKeyMaterial
                    , [byte[]]$material.Key
                })
        }

        It 'the output shows the keys (canary)' {
            $shown.Count | Should -Be 4
            $kmeLabels.Count | Should -Be 2
            foreach ($key in $shown) { $text.Contains($key.Label) | Should -BeTrue }
            $text.Contains($shown[0].CheckValue) | Should -BeTrue
            $text.Contains('Kme') | Should -BeTrue
            $keys.Count | Should -Be 4
            foreach ($key in $keys) { $key.Length | Should -Be 32 }
        }

        It 'no key bytes are in it' {
            $secrets = @(foreach ($key in $keys) { Get-TestKeyRepresentation -Key $key })
            Find-TestSecret -Text $text -Secret $secrets | Should -BeNullOrEmpty -Because 'no key bytes may reach the output'
        }
    }
}
