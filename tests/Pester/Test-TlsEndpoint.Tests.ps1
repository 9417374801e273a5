#Requires -Version 7.2
# Test-TlsEndpoint: what a TLS endpoint negotiates (version, key-exchange group, cipher suite) and the
# certificate it presents, against a hybrid (ML-KEM) test KME and a classical-only one, both processes
# on 127.0.0.1 with certificates made at test time; and the specific errors for refused, timed out,
# untrusted and classical-only endpoints.

Describe 'Test-TlsEndpoint' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $cmd = 'QKDLite.Commands.TestTlsEndpointCommand'
        $hybrid = Start-TestKme -Directory (Join-Path $node 'kme-hybrid') -ArgumentList @('--tls', 'hybrid')
        $classical = Start-TestKme -Directory (Join-Path $node 'kme-classical')
        $hybridUrl = $hybrid.Info.kmeA.url
        $classicalUrl = $classical.Info.kmeA.url
        $sae = $hybrid.Info.clients.'SAE-A'
        # Accepts connections (the kernel completes them) but never answers: a handshake that hangs.
        $silent = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $silent.Start()
        $silentUrl = "https://127.0.0.1:$($silent.LocalEndpoint.Port)"
        Set-TestKeySource -Kme @(
            New-TestKmeSettings -Kme $hybrid -Name 'pq-link' -Urls $hybridUrl, $hybrid.Info.kmeB.url -TlsProfile PostQuantumOnly -TlsGroups SecP256r1MLKEM768
            New-TestKmeSettings -Kme $classical -Name 'classical-link'
        )
    }

    AfterAll {
        $silent.Stop()
        Stop-TestKme -Kme $hybrid
        Stop-TestKme -Kme $classical
        Remove-TestNode -Path $node
    }

    Context 'a hybrid endpoint' {
        It 'reports TLS 1.3, the hybrid group, the cipher suite and the server certificate' {
            $report = Test-TlsEndpoint -Uri $hybridUrl -CaCertificate $hybrid.Info.caPem -ClientCertificate $sae.certPem -ClientKey $sae.keyPem
            @($report).Count | Should -Be 1
            $report | Should -BeOfType ([QKDLite.Core.Tls.TlsEndpointReport])
            $report.Endpoint | Should -BeExactly "127.0.0.1:$($hybrid.Info.kmeA.port)"
            $report.TlsProfile | Should -Be 'Hybrid'
            $report.Protocol | Should -BeExactly 'TLS 1.3'
            $report.Group | Should -BeExactly 'X25519MLKEM768'
            $report.PostQuantum | Should -BeTrue
            $report.CipherSuite | Should -BeLike 'TLS_AES_*'
            $report.ServerCertificateSubject | Should -BeExactly $hybrid.Info.kmeA.serverSubject
            $report.ServerCertificateThumbprint | Should -BeExactly $hybrid.Info.kmeA.serverThumbprint
            $report.ServerCertificateNotAfter | Should -BeGreaterThan ([datetime]::UtcNow)
            $report.HostNameMatches | Should -BeTrue
            $report.ChainsToCa | Should -BeTrue
            $report.CertificateTrusted | Should -BeTrue
            $report.ClientCertificateRequested | Should -BeTrue
            $report.Kme | Should -BeNullOrEmpty
        }

        It 'negotiates the group asked for with -Group, and names it in verbose output' -ForEach @(
            @{ Group = 'SecP256r1MLKEM768' }
            @{ Group = 'SecP384r1MLKEM1024' }
        ) {
            $out = Test-TlsEndpoint -Uri $hybridUrl -CaCertificate $hybrid.Info.caPem -Group $Group -TlsProfile PostQuantumOnly -Verbose 4>&1
            $report = @($out | Where-Object { $_ -is [QKDLite.Core.Tls.TlsEndpointReport] })
            $verbose = @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n"
            $report.Count | Should -Be 1
            $report[0].Group | Should -BeExactly $Group
            $report[0].TlsProfile | Should -Be 'PostQuantumOnly'
            $verbose | Should -BeLike "*offering $Group only*"
            $verbose | Should -BeLike "*negotiated TLS 1.3, group $Group (post-quantum)*"
        }

        It 'shows the group in its format view' {
            $text = Test-TlsEndpoint -Uri $hybridUrl -CaCertificate $hybrid.Info.caPem | Out-String
            $text | Should -BeLike '*Group*: X25519MLKEM768*'
            $text | Should -BeLike "*ServerCertificateThumbprint*: $($hybrid.Info.kmeA.serverThumbprint)*"
        }

        It 'tests every URL of a KME of node.json with its CA, client certificate and TLS settings' {
            $reports = @(Test-TlsEndpoint -Kme 'pq-link')
            $reports.Count | Should -Be 2
            $reports.Kme | Should -Be @('pq-link', 'pq-link')
            $reports.Endpoint | Should -Be @("127.0.0.1:$($hybrid.Info.kmeA.port)", "127.0.0.1:$($hybrid.Info.kmeB.port)")
            $reports.Group | Should -Be @('SecP256r1MLKEM768', 'SecP256r1MLKEM768')
            $reports.TlsProfile | Should -Be @('PostQuantumOnly', 'PostQuantumOnly')
            $reports.ChainsToCa | Should -Be @($true, $true)
        }

        It 'takes endpoints from the pipeline' {
            $reports = @($hybridUrl, $classicalUrl | Test-TlsEndpoint -SkipCertificateCheck -WarningAction SilentlyContinue)
            $reports.Group | Should -Be @('X25519MLKEM768', 'x25519')
        }
    }

    Context 'a classical-only endpoint' {
        It 'Hybrid reports the classical group it fell back to' {
            $report = Test-TlsEndpoint -Uri $classicalUrl -CaCertificate $classical.Info.caPem
            $report.Group | Should -BeExactly 'x25519'
            $report.PostQuantum | Should -BeFalse
            $report.Protocol | Should -BeExactly 'TLS 1.3'
        }

        It 'Classical uses the platform TLS, which reports the version and cipher suite but no group' {
            $report = Test-TlsEndpoint -Uri $classicalUrl -CaCertificate $classical.Info.caPem -TlsProfile Classical -ClientCertificate $classical.Info.clients.'SAE-A'.pfx
            $report.TlsProfile | Should -Be 'Classical'
            $report.Protocol | Should -BeExactly 'TLS 1.3'
            $report.CipherSuite | Should -BeLike 'TLS_*'
            $report.Group | Should -BeNullOrEmpty
            $report.PostQuantum | Should -BeFalse
            $report.ChainsToCa | Should -BeTrue
        }

        It 'PostQuantumOnly is refused with TlsPostQuantumRefused' {
            $err = { Test-TlsEndpoint -Uri $classicalUrl -CaCertificate $classical.Info.caPem -TlsProfile PostQuantumOnly -ErrorAction Stop } |
                Should -Throw -ErrorId "TlsPostQuantumRefused,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'SecurityError'
            $err.Exception.Message | Should -BeLike '*X25519MLKEM768*classical key exchange only*'
        }
    }

    Context 'failures' {
        It 'a certificate that does not chain to the CA given is TlsEndpointCertificateUntrusted (<Profile>)' -ForEach @(
            @{ Profile = 'Hybrid' }
            @{ Profile = 'Classical' }
        ) {
            $err = { Test-TlsEndpoint -Uri $classicalUrl -TlsProfile $Profile -CaCertificate $classical.Info.wrongCaPem -ErrorAction Stop } |
                Should -Throw -ErrorId "TlsEndpointCertificateUntrusted,$cmd" -PassThru
            $err.Exception.Message | Should -BeLike '*does not chain to the CA*'
        }

        It 'without -CaCertificate, a certificate no root of this machine trusts is TlsEndpointCertificateUntrusted' {
            $err = { Test-TlsEndpoint -Uri $hybridUrl -ErrorAction Stop } | Should -Throw -ErrorId "TlsEndpointCertificateUntrusted,$cmd" -PassThru
            $err.Exception.Message | Should -BeLike '*does not chain to a root this machine trusts*-CaCertificate*-SkipCertificateCheck*'
        }

        It '-SkipCertificateCheck reports an untrusted endpoint, with a warning' {
            $report = Test-TlsEndpoint -Uri $hybridUrl -CaCertificate $hybrid.Info.wrongCaPem -SkipCertificateCheck -WarningVariable warned -WarningAction SilentlyContinue
            $report.Group | Should -BeExactly 'X25519MLKEM768'
            $report.ChainsToCa | Should -BeFalse
            $report.CertificateTrusted | Should -BeFalse
            "$warned" | Should -BeLike '*not trusted*'
        }

        It 'a refused connection is TlsEndpointUnreachable' {
            $err = { Test-TlsEndpoint -Uri 'https://127.0.0.1:9' -ErrorAction Stop } | Should -Throw -ErrorId "TlsEndpointUnreachable,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
            "$($err.TargetObject)" | Should -BeExactly '127.0.0.1:9'
        }

        It 'an endpoint that never answers is TlsEndpointTimeout after -TimeoutSeconds (<Profile>)' -ForEach @(
            @{ Profile = 'Hybrid' }
            @{ Profile = 'Classical' }
        ) {
            $err = { Test-TlsEndpoint -Uri $silentUrl -TlsProfile $Profile -TimeoutSeconds 1 -ErrorAction Stop } | Should -Throw -ErrorId "TlsEndpointTimeout,$cmd" -PassThru
            $err.Exception.Message | Should -BeLike '*within 1 s*'
        }

        It 'an endpoint that is not https:// is TlsEndpointInvalid, and the next one is still tested' {
            $reports = @('http://127.0.0.1:80', $hybridUrl | Test-TlsEndpoint -CaCertificate $hybrid.Info.caPem -ErrorVariable failed -ErrorAction SilentlyContinue)
            $failed.Count | Should -Be 1
            $failed[0].FullyQualifiedErrorId | Should -BeExactly "TlsEndpointInvalid,$cmd"
            $reports.Count | Should -Be 1
            $reports[0].Group | Should -BeExactly 'X25519MLKEM768'
        }

        It 'refuses an unknown group at parameter binding' {
            { Test-TlsEndpoint -Uri $hybridUrl -Group 'x25519' } | Should -Throw -ErrorId "ParameterArgumentValidationError,$cmd"
        }
    }
}
