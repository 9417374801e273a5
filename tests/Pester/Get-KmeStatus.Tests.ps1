#Requires -Version 7.2
# Get-KmeStatus: asks a KME named in node.json for the ETSI GS QKD 014 status of an SAE pair over
# mutual TLS (PEM or PFX client certificate), fails over across the KME's URLs, and refuses a KME whose
# certificate does not chain to the configured CA. Runs against the test KME pair as a process.

Describe 'Get-KmeStatus' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $cmd = 'QKDLite.Commands.GetKmeStatusCommand'
        # Settings unlike the defaults and unlike each other, so that a field read from the wrong JSON
        # property shows.
        $kme = Start-TestKme -Directory (Join-Path $node 'kme') -ArgumentList @(
            '--key-size', '192', '--min-key-size', '128', '--max-key-size', '2048', '--max-key-per-request', '16',
            '--pool-size', '5000', '--max-key-count', '9000', '--max-sae-id-count', '2')
        $pqKme = Start-TestKme -Directory (Join-Path $node 'kme-pq') -ArgumentList @('--tls', 'hybrid')
        $urlA = $kme.Info.kmeA.url
        $urlB = $kme.Info.kmeB.url
        $dead = 'https://127.0.0.1:9'
        $pfxVariable = 'QKDLITE_TEST_KME_PFX_PASSWORD'
        $env:QKDLITE_TEST_KME_PFX_PASSWORD = $kme.Info.pfxPassword
        Set-TestKeySource -Kme @(
            New-TestKmeSettings -Kme $kme -Name 'kme-pem'
            New-TestKmeSettings -Kme $kme -Name 'kme-pfx' -Certificate PfxWithPassword -PasswordVariable $pfxVariable
            New-TestKmeSettings -Kme $kme -Name 'kme-pfx-nopassword' -Certificate PfxWithPassword -PasswordVariable 'QKDLITE_TEST_NO_SUCH_VARIABLE'
            New-TestKmeSettings -Kme $kme -Name 'kme-slave' -Client 'SAE-B' -Side B -Certificate Pfx
            New-TestKmeSettings -Kme $kme -Name 'kme-wrong-ca' -CaCertificate $kme.Info.wrongCaPem
            New-TestKmeSettings -Kme $kme -Name 'kme-failover' -Urls $dead, $urlA
            New-TestKmeSettings -Kme $kme -Name 'kme-down' -Urls $dead, $urlA -TimeoutSeconds 5 -Rounds 2
            New-TestKmeSettings -Kme $kme -Name 'Kme Spaced'
            New-TestKmeSettings -Kme $pqKme -Name 'pq-hybrid' -TlsProfile Hybrid
            New-TestKmeSettings -Kme $pqKme -Name 'pq-384' -TlsProfile PostQuantumOnly -TlsGroups SecP384r1MLKEM1024, X25519MLKEM768
            New-TestKmeSettings -Kme $kme -Name 'pq-classical-hybrid' -TlsProfile Hybrid
            New-TestKmeSettings -Kme $kme -Name 'pq-classical-pq' -TlsProfile PostQuantumOnly
            New-TestKmeSettings -Kme $pqKme -Name 'pq-wrong-ca' -TlsProfile Hybrid -CaCertificate $pqKme.Info.wrongCaPem
        )

        function Get-KmeLog([string]$Side) {
            @(Invoke-TestKmeControl -Kme $kme -Path "control/$Side/requests")
        }

        function Get-PqKmeLog([string]$Side) {
            @(Invoke-TestKmeControl -Kme $pqKme -Path "control/$Side/requests")
        }
    }

    AfterAll {
        Stop-TestKme -Kme $kme
        Stop-TestKme -Kme $pqKme
        Remove-Item -Path "env:$pfxVariable" -ErrorAction Ignore
        Remove-TestNode -Path $node
    }

    BeforeEach {
        $null = Invoke-TestKmeControl -Kme $kme -Path 'control/reset' -Method Post
        $null = Invoke-TestKmeControl -Kme $kme -Path 'control/pool' -Method Put -Body @{ stored_key_count = 1234 }
    }

    Context 'the status of an SAE pair' {
        It 'returns every field of the status answer (PEM client certificate)' {
            $status = Get-KmeStatus -Kme 'kme-pem' -PeerSaeId 'SAE-B'
            @($status).Count | Should -Be 1
            $status | Should -BeOfType ([QKDLite.Core.Kme.KmeStatus])
            $status.Kme | Should -BeExactly 'kme-pem'
            $status.Url | Should -BeExactly $urlA
            $status.SourceKmeId | Should -BeExactly 'KME-A'
            $status.TargetKmeId | Should -BeExactly 'KME-B'
            $status.MasterSaeId | Should -BeExactly 'SAE-A'
            $status.SlaveSaeId | Should -BeExactly 'SAE-B'
            $status.KeySize | Should -Be 192
            $status.StoredKeyCount | Should -Be 1234
            $status.MaxKeyCount | Should -Be 9000
            $status.MaxKeyPerRequest | Should -Be 16
            $status.MaxKeySize | Should -Be 2048
            $status.MinKeySize | Should -Be 128
            $status.MaxSaeIdCount | Should -Be 2
            # Every property is asserted above: a new one needs a line here.
            # The default profile: the platform's TLS, which reports no group.
            $status.TlsProfile | Should -Be 'Classical'
            $status.TlsProtocol | Should -BeNullOrEmpty
            $status.TlsGroup | Should -BeNullOrEmpty
            $status.PostQuantum | Should -BeFalse
            @($status.PSObject.Properties.Name | Sort-Object) | Should -Be @(
                'Kme', 'KeySize', 'MasterSaeId', 'MaxKeyCount', 'MaxKeyPerRequest', 'MaxKeySize', 'MaxSaeIdCount',
                'MinKeySize', 'PostQuantum', 'SlaveSaeId', 'SourceKmeId', 'StoredKeyCount', 'TargetKmeId', 'TlsGroup', 'TlsProfile', 'TlsProtocol', 'Url' | Sort-Object)
        }

        It 'asks KME A once, as SAE-A, for the status of the pair with SAE-B, and takes no keys' {
            $null = Get-KmeStatus -Kme 'kme-pem' -PeerSaeId 'SAE-B'
            $log = Get-KmeLog 'A'
            $log.Count | Should -Be 1
            $log[0].method | Should -BeExactly 'GET'
            $log[0].target | Should -BeExactly '/api/v1/keys/SAE-B/status'
            $log[0].sae | Should -BeExactly 'SAE-A'
            $log[0].status | Should -Be 200
            Get-KmeLog 'B' | Should -BeNullOrEmpty
            (Invoke-TestKmeControl -Kme $kme -Path 'control/pool').stored_key_count | Should -Be 1234
        }

        It 'reflects the KME''s current key count' {
            $null = Invoke-TestKmeControl -Kme $kme -Path 'control/pool' -Method Put -Body @{ stored_key_count = 7 }
            (Get-KmeStatus -Kme 'kme-pem' -PeerSaeId 'SAE-B').StoredKeyCount | Should -Be 7
        }

        It 'authenticates with a PFX client certificate whose password is in an environment variable' {
            $status = Get-KmeStatus -Kme 'kme-pfx' -PeerSaeId 'SAE-B'
            $status.Kme | Should -BeExactly 'kme-pfx'
            $status.MasterSaeId | Should -BeExactly 'SAE-A'
            $status.StoredKeyCount | Should -Be 1234
            (Get-KmeLog 'A')[0].sae | Should -BeExactly 'SAE-A'
        }

        It 'asks the slave''s KME as the slave SAE (PFX without a password)' {
            $status = Get-KmeStatus -Kme 'kme-slave' -PeerSaeId 'SAE-A'
            $status.Url | Should -BeExactly $urlB
            $status.SourceKmeId | Should -BeExactly 'KME-B'
            $status.TargetKmeId | Should -BeExactly 'KME-A'
            # The test KME names the caller master_SAE_ID.
            $status.MasterSaeId | Should -BeExactly 'SAE-B'
            $status.SlaveSaeId | Should -BeExactly 'SAE-A'
            (Get-KmeLog 'B')[0].target | Should -BeExactly '/api/v1/keys/SAE-A/status'
            Get-KmeLog 'A' | Should -BeNullOrEmpty
        }

        It 'takes the KME and the peer by position and -SlaveSaeId as an alias, and finds the KME name case-insensitively' {
            (Get-KmeStatus 'kme-pem' 'SAE-B').SlaveSaeId | Should -BeExactly 'SAE-B'
            $status = Get-KmeStatus -Kme 'KME-PEM' -SlaveSaeId 'SAE-B'
            $status.Kme | Should -BeExactly 'kme-pem'
            $status.SlaveSaeId | Should -BeExactly 'SAE-B'
        }

        It 'fails over from a dead first URL to the second and says which URL answered' {
            $out = Get-KmeStatus -Kme 'kme-failover' -PeerSaeId 'SAE-B' -Verbose 4>&1
            $status = @($out | Where-Object { $_ -is [QKDLite.Core.Kme.KmeStatus] })
            $verbose = @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
            $status.Count | Should -Be 1
            $status[0].Url | Should -BeExactly $urlA
            $status[0].SourceKmeId | Should -BeExactly 'KME-A'
            ($verbose.Message -join "`n") | Should -BeLike "*answered from $urlA*"
            (Get-KmeLog 'A').Count | Should -Be 1
        }

        It 'needs no key store: a fresh process that connected none gets the status' {
            $result = Invoke-TestChildProcess -Environment @{ $pfxVariable = $kme.Info.pfxPassword } -ScriptBlock {
                $status = Get-KmeStatus -Kme 'kme-pfx' -PeerSaeId 'SAE-B'
                [pscustomobject]@{ Count = $status.StoredKeyCount }
            }
            $result.TerminatingError | Should -BeNullOrEmpty
            $result.Errors | Should -BeNullOrEmpty
            $outcome = $result.Output | Select-Object -First 1
            $outcome.Count | Should -Be 1234
        }
    }

    Context 'post-quantum TLS profiles' {
        BeforeEach {
            $null = Invoke-TestKmeControl -Kme $pqKme -Path 'control/reset' -Method Post
        }

        It 'shows the profile, protocol and hybrid group of a Hybrid connection, and says so in verbose output' {
            $out = Get-KmeStatus -Kme 'pq-hybrid' -PeerSaeId 'SAE-B' -Verbose 4>&1
            $status = @($out | Where-Object { $_ -is [QKDLite.Core.Kme.KmeStatus] })[0]
            $verbose = @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n"
            $status.MasterSaeId | Should -BeExactly 'SAE-A'
            $status.TlsProfile | Should -Be 'Hybrid'
            $status.TlsProtocol | Should -BeExactly 'TLS 1.3'
            $status.TlsGroup | Should -BeExactly 'X25519MLKEM768'
            $status.PostQuantum | Should -BeTrue
            $verbose | Should -BeLike "*answered from $($pqKme.Info.kmeA.url) over TLS 1.3, group X25519MLKEM768 (post-quantum), TLS_AES_*"
            $log = Get-PqKmeLog 'A'
            $log.Count | Should -Be 1
            $log[0].tlsGroup | Should -BeExactly 'X25519MLKEM768'
            ($status | Format-List | Out-String) | Should -BeLike '*Tls*: TLS 1.3, X25519MLKEM768 (post-quantum)*'
        }

        It 'takes the first of the configured groups with PostQuantumOnly' {
            $status = Get-KmeStatus -Kme 'pq-384' -PeerSaeId 'SAE-B'
            $status.TlsProfile | Should -Be 'PostQuantumOnly'
            $status.TlsGroup | Should -BeExactly 'SecP384r1MLKEM1024'
            (Get-PqKmeLog 'A')[0].tlsGroup | Should -BeExactly 'SecP384r1MLKEM1024'
        }

        It 'falls back to a classical group with Hybrid towards a classical-only KME' {
            $status = Get-KmeStatus -Kme 'pq-classical-hybrid' -PeerSaeId 'SAE-B'
            $status.StoredKeyCount | Should -Be 1234
            $status.TlsGroup | Should -BeExactly 'x25519'
            $status.PostQuantum | Should -BeFalse
        }

        It 'refuses a classical-only KME with PostQuantumOnly (TlsPostQuantumRefused), before any request' {
            $err = { Get-KmeStatus -Kme 'pq-classical-pq' -PeerSaeId 'SAE-B' } | Should -Throw -ErrorId "TlsPostQuantumRefused,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'SecurityError'
            "$($err.TargetObject)" | Should -BeExactly $urlA
            Get-KmeLog 'A' | Should -BeNullOrEmpty
        }

        It 'refuses a hybrid KME whose certificate does not chain to the configured CA (KmeCertificateInvalid)' {
            $err = { Get-KmeStatus -Kme 'pq-wrong-ca' -PeerSaeId 'SAE-B' } | Should -Throw -ErrorId "KmeCertificateInvalid,$cmd" -PassThru
            $err.Exception.Message | Should -BeLike '*does not chain to the CA*'
            Get-PqKmeLog 'A' | Should -BeNullOrEmpty
        }
    }

    Context 'failures' {
        It 'refuses an unknown KME name with KeySourceNotConfigured and names the configured ones' {
            $err = { Get-KmeStatus -Kme 'no-such-kme' -PeerSaeId 'SAE-B' } | Should -Throw -ErrorId "KeySourceNotConfigured,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            "$($err.TargetObject)" | Should -BeExactly 'no-such-kme'
            $err.Exception.Message | Should -BeLike '*kme-pem*'
            Get-KmeLog 'A' | Should -BeNullOrEmpty
        }

        It 'refuses a KME whose certificate does not chain to the configured CA (KmeCertificateInvalid)' {
            $err = { Get-KmeStatus -Kme 'kme-wrong-ca' -PeerSaeId 'SAE-B' } | Should -Throw -ErrorId "KmeCertificateInvalid,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'SecurityError'
            "$($err.TargetObject)" | Should -BeExactly $urlA
            # The TLS handshake failed: no request reached the KME.
            Get-KmeLog 'A' | Should -BeNullOrEmpty
        }

        It 'fails with KmeUnavailable when every URL is down, after trying each in every round' {
            $null = Invoke-TestKmeControl -Kme $kme -Path 'control/A/behaviour' -Method Put -Body @{ Status503 = $true }
            $err = { Get-KmeStatus -Kme 'kme-down' -PeerSaeId 'SAE-B' } | Should -Throw -ErrorId "KmeUnavailable,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
            "$($err.TargetObject)" | Should -BeExactly 'kme-down'
            $err.Exception.Message | Should -BeLike "*$dead*"
            $err.Exception.Message | Should -BeLike "*$urlA*HTTP 503*"
            $log = Get-KmeLog 'A'
            $log.Count | Should -Be 2 -Because 'Rounds is 2'
            @($log.status | Select-Object -Unique) | Should -Be @(503)
        }

        It 'refuses a PFX whose password variable is not set (KmeConfigurationInvalid), before asking the KME' {
            $err = { Get-KmeStatus -Kme 'kme-pfx-nopassword' -PeerSaeId 'SAE-B' } | Should -Throw -ErrorId "KmeConfigurationInvalid,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'InvalidData'
            $err.Exception.Message | Should -Not -BeLike "*$($kme.Info.pfxPassword)*"
            Get-KmeLog 'A' | Should -BeNullOrEmpty
        }

        It 'reports a 401 with an HTML body as KmeUnauthorized' {
            $null = Invoke-TestKmeControl -Kme $kme -Path 'control/A/behaviour' -Method Put -Body @{ Html401 = $true }
            $err = { Get-KmeStatus -Kme 'kme-pem' -PeerSaeId 'SAE-B' } | Should -Throw -ErrorId "KmeUnauthorized,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'AuthenticationError'
            $err.Exception.Message | Should -BeLike "*SAE-A*"
            $err.Exception.Message | Should -Not -BeLike '*<html*'
        }

        It 'rejects an empty peer SAE ID at parameter binding' {
            { Get-KmeStatus -Kme 'kme-pem' -PeerSaeId '' } | Should -Throw -ErrorId "ParameterArgumentValidationError,$cmd"
        }
    }

    Context 'tab completion' {
        It 'offers the KME names of node.json for -Kme' {
            Get-TestCompletion 'Get-KmeStatus -Kme kme-p' | Should -Be @('kme-pem', 'kme-pfx', 'kme-pfx-nopassword')
        }

        It 'matches case-insensitively and quotes a name with a space' {
            Get-TestCompletion 'Get-KmeStatus -Kme KME-S' | Should -Be @('kme-slave')
            Get-TestCompletion 'Get-KmeStatus -Kme ' | Should -Contain "'Kme Spaced'"
            Get-TestCompletion 'Get-KmeStatus -Kme ''Kme Sp' | Should -Be @("'Kme Spaced'")
        }
    }
}
