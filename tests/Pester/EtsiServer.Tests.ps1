#Requires -Version 7.2
# Start-EtsiServer, Get-EtsiServer and Stop-EtsiServer against the real QKDLite_ETSI staged in
# bin/etsi/: a throwaway node, certificates made at test time, keys under the pair's keyID, and real
# HTTPS requests with a client certificate.

Describe 'Start-EtsiServer, Get-EtsiServer and Stop-EtsiServer' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $startCmd = 'QKDLite.Commands.StartEtsiServerCommand'
        $stopCmd = 'QKDLite.Commands.StopEtsiServerCommand'
        $configuration = Join-Path $node 'node.json'
        $stateFile = Join-Path $node 'etsi-server.json'

        function New-TestCertificate {
            # A P-256 certificate with its private key: a root CA, or one issued by -Issuer for TLS.
            param([string]$Name, $Issuer, [switch]$Server, [switch]$Client)
            $X509 = 'System.Security.Cryptography.X509Certificates'
            $key = [System.Security.Cryptography.ECDsa]::Create([System.Security.Cryptography.ECCurve+NamedCurves]::nistP256)
            $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new("CN=$Name", $key, 'SHA256')
            $usages = [System.Security.Cryptography.OidCollection]::new()
            if ($Server) { $null = $usages.Add([System.Security.Cryptography.Oid]::new('1.3.6.1.5.5.7.3.1')) }
            if ($Client) { $null = $usages.Add([System.Security.Cryptography.Oid]::new('1.3.6.1.5.5.7.3.2')) }
            if (-not $Issuer) {
                $request.CertificateExtensions.Add((New-Object "$X509.X509BasicConstraintsExtension" $true, $false, 0, $true))
                $request.CertificateExtensions.Add((New-Object "$X509.X509KeyUsageExtension" ([System.Security.Cryptography.X509Certificates.X509KeyUsageFlags]'KeyCertSign, CrlSign'), $true))
                $request.CertificateExtensions.Add((New-Object "$X509.X509SubjectKeyIdentifierExtension" $request.PublicKey, $false))
                $certificate = $request.CreateSelfSigned([DateTimeOffset]::UtcNow.AddHours(-1), [DateTimeOffset]::UtcNow.AddDays(2))
            }
            else {
                $request.CertificateExtensions.Add((New-Object "$X509.X509BasicConstraintsExtension" $false, $false, 0, $true))
                $request.CertificateExtensions.Add((New-Object "$X509.X509KeyUsageExtension" ([System.Security.Cryptography.X509Certificates.X509KeyUsageFlags]'DigitalSignature'), $true))
                $request.CertificateExtensions.Add((New-Object "$X509.X509EnhancedKeyUsageExtension" $usages, $false))
                if ($Server) {
                    $names = [System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder]::new()
                    $names.AddDnsName('localhost')
                    $names.AddIpAddress([System.Net.IPAddress]::Loopback)
                    $request.CertificateExtensions.Add($names.Build())
                }
                $serial = [byte[]]::new(16)
                [System.Security.Cryptography.RandomNumberGenerator]::Fill($serial)
                $serial[0] = $serial[0] -band 0x7F
                $issued = $request.Create($Issuer.Certificate, [DateTimeOffset]::UtcNow.AddHours(-1), [DateTimeOffset]::UtcNow.AddDays(1), $serial)
                $certificate = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::CopyWithPrivateKey($issued, $key)
                $issued.Dispose()
            }
            [pscustomobject]@{ Certificate = $certificate; Key = $key }
        }

        function Save-TestCertificate {
            # Writes <Name>.crt.pem and <Name>.key.pem (owner-only) into the PKI folder; returns both paths.
            param($Pair, [string]$Name)
            $certPath = Join-Path $pki "$Name.crt.pem"
            $keyPath = Join-Path $pki "$Name.key.pem"
            Set-Content -LiteralPath $certPath -Value $Pair.Certificate.ExportCertificatePem() -Encoding ascii
            Set-Content -LiteralPath $keyPath -Value $Pair.Key.ExportPkcs8PrivateKeyPem() -Encoding ascii
            if (-not $IsWindows) { chmod 600 $keyPath }
            [pscustomobject]@{ Certificate = $certPath; Key = $keyPath }
        }

        function Set-TestEtsiConfiguration {
            # Writes a node.json: the key store section of the test node (or -KeyStore) and -EtsiServer.
            param([string]$Path, [System.Collections.IDictionary]$EtsiServer, [System.Collections.IDictionary]$KeyStore)
            $nodeJson = Get-Content -Raw -LiteralPath $configuration | ConvertFrom-Json -AsHashtable
            $written = [ordered]@{ KeyStore = if ($KeyStore) { $KeyStore } else { $nodeJson.KeyStore }; EtsiServer = $EtsiServer }
            $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $Path)
            $written | ConvertTo-Json -Depth 6 | Set-Content -LiteralPath $Path -Encoding utf8NoBOM
        }

        function New-TestEtsiSection {
            # The EtsiServer section every test starts from: a free port, the test PKI, one pair.
            param([string]$KeyId = 'VPN-A-B')
            [ordered]@{
                Address                = '127.0.0.1'
                Port                   = 0
                ServerCertificate      = $serverFiles.Certificate
                ServerCertificateKey   = $serverFiles.Key
                ClientCaCertificate    = $caFile
                KmeId                  = 'KME-A'
                Pairs                  = @([ordered]@{ MasterSaeId = 'SAE-A'; SlaveSaeId = 'SAE-B'; KeyId = $KeyId; PeerKmeId = 'KME-B'; KeySize = 256 })
                ShutdownTimeoutSeconds = 2
            }
        }

        function Invoke-TestEtsiRequest {
            # GET over mutual TLS: -ClientCertificate identifies the SAE; the server must chain to the test CA.
            param([string]$Url, [string]$Path, $ClientCertificate = $saeA.Certificate)
            $policy = [System.Security.Cryptography.X509Certificates.X509ChainPolicy]::new()
            $policy.TrustMode = [System.Security.Cryptography.X509Certificates.X509ChainTrustMode]::CustomRootTrust
            $policy.RevocationMode = [System.Security.Cryptography.X509Certificates.X509RevocationMode]::NoCheck
            $null = $policy.CustomTrustStore.Add($ca.Certificate)
            $handler = [System.Net.Http.SocketsHttpHandler]::new()
            $handler.SslOptions.CertificateChainPolicy = $policy
            $handler.SslOptions.ClientCertificates = [System.Security.Cryptography.X509Certificates.X509CertificateCollection]::new()
            $null = $handler.SslOptions.ClientCertificates.Add($ClientCertificate)
            $client = [System.Net.Http.HttpClient]::new($handler)
            try {
                $client.Timeout = [TimeSpan]::FromSeconds(15)
                $response = $client.GetAsync($Url.TrimEnd('/') + $Path).GetAwaiter().GetResult()
                $body = $response.Content.ReadAsStringAsync().GetAwaiter().GetResult()
                [pscustomobject]@{ StatusCode = [int]$response.StatusCode; Json = if ($body) { $body | ConvertFrom-Json } else { $null } }
            }
            finally { $client.Dispose() }
        }

        function Get-TestServerProcessId {
            # Every QKDLite_ETSI process whose command line names -ConfigurationPath (Linux: /proc).
            param([Parameter(Mandatory)][string]$ConfigurationPath)
            foreach ($entry in Get-ChildItem -LiteralPath '/proc' -Directory -ErrorAction Ignore) {
                if ($entry.Name -notmatch '^\d+$') { continue }
                try { $commandLine = [IO.File]::ReadAllText("/proc/$($entry.Name)/cmdline") } catch { continue }
                if ($commandLine.Contains('QKDLite_ETSI') -and $commandLine.Contains($ConfigurationPath)) { [int]$entry.Name }
            }
        }

        function Test-TestPortOpen([int]$Port) {
            $client = [System.Net.Sockets.TcpClient]::new()
            try { $client.ConnectAsync('127.0.0.1', $Port).Wait(2000) } catch { $false } finally { $client.Dispose() }
        }

        $pki = Join-Path $node 'pki'
        $null = New-Item -ItemType Directory -Path $pki
        $ca = New-TestCertificate -Name 'QKDLite ETSI Test CA'
        $caFile = Join-Path $pki 'ca.crt.pem'
        Set-Content -LiteralPath $caFile -Value $ca.Certificate.ExportCertificatePem() -Encoding ascii
        $serverFiles = Save-TestCertificate -Pair (New-TestCertificate -Name 'localhost' -Issuer $ca -Server) -Name 'server'
        $saeA = New-TestCertificate -Name 'SAE-A' -Issuer $ca -Client
        $saeB = New-TestCertificate -Name 'SAE-B' -Issuer $ca -Client

        $null = New-QuantumKey -KeyId 'VPN-A-B' -Count 3 -Size 256 -ErrorAction Stop
        Set-TestEtsiConfiguration -Path $configuration -EtsiServer (New-TestEtsiSection)
    }

    AfterAll {
        if ($node) {
            # Whatever a failed test left running: every server whose command line names this node.
            foreach ($id in @(Get-TestServerProcessId -ConfigurationPath $node)) {
                Stop-Process -Id $id -Force -ErrorAction Ignore
            }
            Remove-TestNode -Path $node
        }
    }

    It 'with -WhatIf starts nothing' {
        $output = Start-EtsiServer -WhatIf
        $output | Should -BeNullOrEmpty
        Test-Path -LiteralPath $stateFile | Should -BeFalse
        Test-Path -LiteralPath (Join-Path $node 'etsi-server.log') | Should -BeFalse -Because 'not even the log is created'
        @(Get-TestServerProcessId -ConfigurationPath $configuration) | Should -BeNullOrEmpty
    }

    It 'starts the server in the background and returns it once its port accepts connections' {
        $script:server = Start-EtsiServer -ErrorAction Stop
        $server | Should -BeOfType ([QKDLite.Core.ServerControl.EtsiServerInfo])
        $server.State | Should -Be 'Running'
        $server.ConfigurationPath | Should -BeExactly $configuration
        $server.Port | Should -BeGreaterThan 0 -Because 'Port 0 in node.json lets the system pick one, which the result names'
        $server.Url | Should -BeExactly "https://127.0.0.1:$($server.Port)"
        $server.LogPath | Should -BeExactly (Join-Path $node 'etsi-server.log')
        $server.StateFilePath | Should -BeExactly $stateFile
        (Get-Content -Raw -LiteralPath $stateFile | ConvertFrom-Json).ProcessId | Should -Be $server.ProcessId
        (Get-Process -Id $server.ProcessId -ErrorAction Stop).HasExited | Should -BeFalse
        Test-TestPortOpen -Port $server.Port | Should -BeTrue
        @(Get-TestServerProcessId -ConfigurationPath $configuration) | Should -Be @($server.ProcessId)
    }

    It 'serves the status of the pair over mutual TLS with the keys stored under its keyID' {
        $answer = Invoke-TestEtsiRequest -Url $server.Url -Path '/api/v1/keys/SAE-B/status'
        $answer.StatusCode | Should -Be 200
        $answer.Json.stored_key_count | Should -Be 3
        $answer.Json.source_KME_ID | Should -BeExactly 'KME-A'
        $answer.Json.target_KME_ID | Should -BeExactly 'KME-B'
        $answer.Json.master_SAE_ID | Should -BeExactly 'SAE-A'
        $answer.Json.slave_SAE_ID | Should -BeExactly 'SAE-B'
        $answer.Json.key_size | Should -Be 256
    }

    It 'is listed by Get-EtsiServer, with and without -ConfigurationPath' {
        $listed = @(Get-EtsiServer)
        $listed.Count | Should -Be 1
        $listed[0].ProcessId | Should -Be $server.ProcessId
        $listed[0].Port | Should -Be $server.Port
        $listed[0].State | Should -Be 'Running'
        (Get-EtsiServer -ConfigurationPath $configuration).ProcessId | Should -Be $server.ProcessId
        ($listed | Out-String) | Should -Match "\b$($server.ProcessId)\b.*Running.*https://127\.0\.0\.1:$($server.Port)"
    }

    It 'refuses a second server for the same configuration and leaves the first one serving' {
        $err = { Start-EtsiServer -ErrorAction Stop } | Should -Throw -ErrorId "EtsiServerAlreadyRunning,$startCmd" -PassThru
        $err.Exception.Message | Should -Match "process $($server.ProcessId)"
        @(Get-TestServerProcessId -ConfigurationPath $configuration) | Should -Be @($server.ProcessId)
        (Get-Content -Raw -LiteralPath $stateFile | ConvertFrom-Json).ProcessId | Should -Be $server.ProcessId
        (Invoke-TestEtsiRequest -Url $server.Url -Path '/api/v1/keys/SAE-B/status').StatusCode | Should -Be 200
    }

    It 'stops it through the pipeline: the process ends, its state file and port are gone' {
        $stopped = Get-EtsiServer | Stop-EtsiServer -PassThru -WarningVariable warnings
        $stopped.ProcessId | Should -Be $server.ProcessId
        $stopped.State | Should -Be 'Stopped'
        $warnings | Should -BeNullOrEmpty -Because 'the server stops on SIGTERM by itself, without being killed'
        Get-Process -Id $server.ProcessId -ErrorAction Ignore | Should -BeNullOrEmpty
        Test-Path -LiteralPath $stateFile | Should -BeFalse
        Test-TestPortOpen -Port $server.Port | Should -BeFalse
        Get-EtsiServer | Should -BeNullOrEmpty
    }

    It 'reports EtsiServerNotRunning when there is nothing to stop' {
        { Stop-EtsiServer -ErrorAction Stop } | Should -Throw -ErrorId "EtsiServerNotRunning,$stopCmd"
    }

    It 'refuses a configuration without ServerCertificate before starting anything' {
        $bad = Join-Path $node 'no-certificate/node.json'
        $section = New-TestEtsiSection
        $section.Remove('ServerCertificate')
        Set-TestEtsiConfiguration -Path $bad -EtsiServer $section
        $err = { Start-EtsiServer -ConfigurationPath $bad -ErrorAction Stop } | Should -Throw -ErrorId "EtsiServerConfigurationInvalid,$startCmd" -PassThru
        $err.Exception.Message | Should -Match 'ServerCertificate'
        @(Get-TestServerProcessId -ConfigurationPath $bad) | Should -BeNullOrEmpty
        Test-Path -LiteralPath (Join-Path $node 'no-certificate/etsi-server.json') | Should -BeFalse
    }

    It 'reports a server that exits while starting with the end of its log, and leaves nothing running' {
        $broken = Join-Path $node 'missing-certificate/node.json'
        $section = New-TestEtsiSection
        $section.ServerCertificate = Join-Path $node 'no-such-server.crt.pem'
        Set-TestEtsiConfiguration -Path $broken -EtsiServer $section
        $err = { Start-EtsiServer -ConfigurationPath $broken -ErrorAction Stop } | Should -Throw -ErrorId "EtsiServerStartFailed,$startCmd" -PassThru
        $err.Exception.Message | Should -Match 'exited with code 1'
        $err.Exception.Message | Should -Match 'no-such-server\.crt\.pem' -Because 'the server says why in its log, and the error quotes it'
        @(Get-TestServerProcessId -ConfigurationPath $broken) | Should -BeNullOrEmpty
        Test-Path -LiteralPath (Join-Path $node 'missing-certificate/etsi-server.json') | Should -BeFalse
    }

    It 'outlives the PowerShell session that started it, and is stopped from another one' {
        $child = Invoke-TestChildProcess -ScriptBlock {
            param($Path)
            Start-EtsiServer -ConfigurationPath $Path -ErrorAction Stop | Select-Object ProcessId, Port
        } -ArgumentList @{ Path = $configuration }
        $child.TerminatingError | Should -BeNullOrEmpty
        $child.ExitCode | Should -Be 0
        $started = $child.Output[0]
        $listed = Get-EtsiServer
        $listed.ProcessId | Should -Be $started.ProcessId -Because 'the server still runs after the session that started it has ended'
        (Invoke-TestEtsiRequest -Url $listed.Url -Path '/api/v1/keys/SAE-B/status').Json.stored_key_count | Should -Be 3
        Stop-EtsiServer -ConfigurationPath $configuration -WarningVariable warnings
        $warnings | Should -BeNullOrEmpty
        Get-Process -Id $started.ProcessId -ErrorAction Ignore | Should -BeNullOrEmpty
        Test-Path -LiteralPath $stateFile | Should -BeFalse
    }

    It 'does not report a server that ended without a clean stop; the next start replaces its state file' {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $port = $listener.LocalEndpoint.Port
        $listener.Stop()
        $first = Start-EtsiServer -Port $port -ErrorAction Stop
        $first.Port | Should -Be $port -Because '-Port overrides the port of node.json'
        (Get-Content -Raw -LiteralPath $configuration | ConvertFrom-Json).EtsiServer.Port | Should -Be 0 -Because 'node.json itself is unchanged'
        $process = Get-Process -Id $first.ProcessId
        $process.Kill()
        $process.WaitForExit(10000) | Should -BeTrue
        Test-Path -LiteralPath $stateFile | Should -BeTrue -Because 'a killed server cannot delete its state file'

        Get-EtsiServer -WarningVariable warnings -WarningAction SilentlyContinue | Should -BeNullOrEmpty
        "$warnings" | Should -Match "process $($first.ProcessId)"

        $second = Start-EtsiServer -ErrorAction Stop
        try {
            $second.ProcessId | Should -Not -Be $first.ProcessId
            (Get-EtsiServer).ProcessId | Should -Be $second.ProcessId
        }
        finally { $second | Stop-EtsiServer }
    }

    Context 'in the foreground (-Wait), as under a service manager' {
        BeforeAll {
            function Start-TestForegroundServer {
                # Start-EtsiServer -Wait in a child PowerShell; returns the child once the server serves.
                $child = Start-TestChildProcess -ScriptBlock {
                    param($Path)
                    Start-EtsiServer -ConfigurationPath $Path -Wait
                } -ArgumentList @{ Path = $configuration }
                $deadline = [DateTime]::UtcNow.AddSeconds(60)
                while (-not (Get-EtsiServer -WarningAction SilentlyContinue) -and -not $child.Process.HasExited -and [DateTime]::UtcNow -lt $deadline) {
                    Start-Sleep -Milliseconds 100
                }
                if ($child.Process.HasExited) {
                    $result = Wait-TestChildProcess -Child $child
                    throw "Start-EtsiServer -Wait ended early (exit code $($result.ExitCode)): $($result.TerminatingError.Message) $($result.StdOut) $($result.StdErr)"
                }
                $child
            }
        }

        It 'runs until the server stops, with the server''s output on its console' {
            $child = Start-TestForegroundServer
            $server = Get-EtsiServer
            $server | Should -Not -BeNullOrEmpty -Because 'the server serves while Start-EtsiServer -Wait runs'
            $child.Process.HasExited | Should -BeFalse -Because '-Wait returns only when the server ends'
            Stop-EtsiServer
            $result = Wait-TestChildProcess -Child $child -TimeoutSeconds 60
            $result.ExitCode | Should -Be 0
            $result.TerminatingError | Should -BeNullOrEmpty
            $result.Output | Should -BeNullOrEmpty -Because '-Wait returns nothing'
            $result.StdOut | Should -Match ([regex]::Escape("QKDLite_ETSI listening on $($server.Url)"))
            Test-Path -LiteralPath $stateFile | Should -BeFalse
        }

        It 'fails with EtsiServerExited when the server ends with an error' {
            $child = Start-TestForegroundServer
            $server = Get-EtsiServer
            $server | Should -Not -BeNullOrEmpty
            $process = Get-Process -Id $server.ProcessId
            $process.Kill()
            $result = Wait-TestChildProcess -Child $child -TimeoutSeconds 60
            $result.TerminatingError.FullyQualifiedErrorId | Should -Be "EtsiServerExited,$startCmd"
            $result.TerminatingError.Message | Should -Match 'exit code 137'
            Test-Path -LiteralPath $stateFile | Should -BeFalse -Because 'Start-EtsiServer -Wait removes the state file a killed server leaves'
        }
    }

    It 'hands the PIN to the server through its standard input only, never its command line or environment' -Skip:(-not $IsLinux) {
        $canary = 'Canary-' + [guid]::NewGuid().ToString('N').Substring(0, 16)
        $securePin = ConvertTo-SecureString -String $canary -AsPlainText -Force
        $null = Initialize-KeyStore -TokenLabel 'PinCanary' -Pin $securePin -WarningAction SilentlyContinue -ErrorAction Stop
        $null = New-QuantumKey -TokenLabel 'PinCanary' -KeyId 'VPN-C-D' -Count 2 -ErrorAction Stop
        $library = (Get-KeyStore -TokenLabel 'PinCanary').LibraryPath
        $pinNode = Join-Path $node 'pin-canary/node.json'
        Set-TestEtsiConfiguration -Path $pinNode -EtsiServer (New-TestEtsiSection -KeyId 'VPN-C-D') -KeyStore ([ordered]@{
                Library = $library; TokenLabel = 'PinCanary'; SoftHsmConfig = (Join-Path $node 'softhsm2.conf')
            })
        $pinServer = Start-EtsiServer -ConfigurationPath $pinNode -Pin $securePin -ErrorAction Stop
        try {
            (Invoke-TestEtsiRequest -Url $pinServer.Url -Path '/api/v1/keys/SAE-B/status').Json.stored_key_count |
                Should -Be 2 -Because 'the server logged in with the PIN it read from its standard input'
            $commandLine = [Text.Encoding]::UTF8.GetString([IO.File]::ReadAllBytes("/proc/$($pinServer.ProcessId)/cmdline"))
            $environment = [Text.Encoding]::UTF8.GetString([IO.File]::ReadAllBytes("/proc/$($pinServer.ProcessId)/environ"))
            $commandLine | Should -Match '--pin-stdin'
            Find-TestSecret -Text $commandLine -Secret $canary | Should -BeNullOrEmpty -Because 'the PIN is never on a command line'
            Find-TestSecret -Text $environment -Secret $canary | Should -BeNullOrEmpty -Because 'the PIN is never in the environment'
            Find-TestSecret -Text (Get-Content -Raw -LiteralPath $pinServer.LogPath) -Secret $canary | Should -BeNullOrEmpty
        }
        finally { $pinServer | Stop-EtsiServer }
        Get-Process -Id $pinServer.ProcessId -ErrorAction Ignore | Should -BeNullOrEmpty
    }
}
