#Requires -Version 7.0
<#
.SYNOPSIS
    QKDLite's main job on the local key store, shown step by step for an administrator.
.DESCRIPTION
    Initialises a throwaway local key store, creates keys under two keyIDs, lists and counts them,
    removes some through a pipeline, then adds a second node on the same machine, shares a transport
    key with it by ML-KEM, moves new keys to it as key blocks and compares both nodes by check value.
    Then each node runs its ETSI GS QKD 014 server (QKDLite_ETSI) with certificates made for the demo:
    a master SAE takes keys from the first node (enc_keys), a slave SAE takes the same keys by their
    key_IDs from the second node (dec_keys), and the demo shows they match by SHA-256 fingerprint,
    never by key bytes. Last, each node goes behind its own OpenSSH server on 127.0.0.1 that offers
    only a post-quantum hybrid key exchange, and node A replicates key creation and deletion to node B
    in two phases over PowerShell remoting, printing the key exchange each connection negotiated.
    It stops the servers and removes the throwaway stores again at the end.
    Run it with: dotnet pwsh ./build.ps1 Demo
#>
[CmdletBinding()]
param()
$ErrorActionPreference = 'Stop'
$PSStyle.OutputRendering = 'PlainText'

$root = if (Test-Path '/dev/shm') { '/dev/shm' } else { [IO.Path]::GetTempPath() }
$node = Join-Path $root ('qkdlite-demo-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
$env:QKDLITE_HOME = $node

function Show-Step([int] $Number, [string] $Text) { Write-Host ''; Write-Host "[$Number] $Text" }
function Show-Table { $input | Format-Table -AutoSize | Out-String -Width 120 | ForEach-Object TrimEnd | Write-Host }

function New-DemoCertificate {
    # A P-256 certificate with its private key: a root CA when no -Issuer is given, else a TLS
    # server (-Server, for 127.0.0.1 and localhost) or client certificate whose subject CN is -Name.
    param([string]$Name, $Issuer, [switch]$Server)
    $x509 = 'System.Security.Cryptography.X509Certificates'
    $key = [System.Security.Cryptography.ECDsa]::Create([System.Security.Cryptography.ECCurve+NamedCurves]::nistP256)
    $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new("CN=$Name", $key, 'SHA256')
    $from = [DateTimeOffset]::UtcNow.AddHours(-1)
    if (-not $Issuer) {
        $request.CertificateExtensions.Add((New-Object "$x509.X509BasicConstraintsExtension" $true, $false, 0, $true))
        $request.CertificateExtensions.Add((New-Object "$x509.X509KeyUsageExtension" ([System.Security.Cryptography.X509Certificates.X509KeyUsageFlags]'KeyCertSign, CrlSign'), $true))
        # The CA outlives what it issues: a certificate may not end after its issuer.
        return [pscustomobject]@{ Certificate = $request.CreateSelfSigned($from, $from.AddDays(2)); Key = $key }
    }
    $usage = [System.Security.Cryptography.OidCollection]::new()
    $null = $usage.Add([System.Security.Cryptography.Oid]::new($(if ($Server) { '1.3.6.1.5.5.7.3.1' } else { '1.3.6.1.5.5.7.3.2' })))
    $request.CertificateExtensions.Add((New-Object "$x509.X509KeyUsageExtension" ([System.Security.Cryptography.X509Certificates.X509KeyUsageFlags]'DigitalSignature'), $true))
    $request.CertificateExtensions.Add((New-Object "$x509.X509EnhancedKeyUsageExtension" $usage, $false))
    if ($Server) {
        $names = [System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder]::new()
        $names.AddDnsName('localhost')
        $names.AddIpAddress([System.Net.IPAddress]::Loopback)
        $request.CertificateExtensions.Add($names.Build())
    }
    $serial = [System.Security.Cryptography.RandomNumberGenerator]::GetBytes(16)
    $serial[0] = $serial[0] -band 0x7F
    $issued = $request.Create($Issuer.Certificate, $from, $from.AddDays(1), $serial)
    [pscustomobject]@{ Certificate = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::CopyWithPrivateKey($issued, $key); Key = $key }
}

function Save-DemoCertificate($Pair, [string]$Path) {
    # <Path>.crt.pem and, for certificates with a key, <Path>.key.pem readable by the owner only.
    Set-Content -LiteralPath "$Path.crt.pem" -Value $Pair.Certificate.ExportCertificatePem() -Encoding ascii
    if ($Pair.Key) {
        $null = New-Item -ItemType File -Path "$Path.key.pem" -Force
        if (-not $IsWindows) { [IO.File]::SetUnixFileMode("$Path.key.pem", [IO.UnixFileMode]'UserRead, UserWrite') }
        Set-Content -LiteralPath "$Path.key.pem" -Value $Pair.Key.ExportPkcs8PrivateKeyPem() -Encoding ascii
    }
}

function Invoke-DemoSae {
    # An SAE's POST to a QKDLite_ETSI over mutual TLS, trusting only the demo CA. Returns each
    # delivered key's key_ID and the SHA-256 fingerprint of its bytes; the bytes are wiped at once
    # and never become a string.
    param([string]$Url, [string]$Path, [hashtable]$Body, $Sae)
    $policy = [System.Security.Cryptography.X509Certificates.X509ChainPolicy]::new()
    $policy.TrustMode = [System.Security.Cryptography.X509Certificates.X509ChainTrustMode]::CustomRootTrust
    $policy.RevocationMode = [System.Security.Cryptography.X509Certificates.X509RevocationMode]::NoCheck
    $null = $policy.CustomTrustStore.Add($ca.Certificate)
    $handler = [System.Net.Http.SocketsHttpHandler]::new()
    $handler.SslOptions.CertificateChainPolicy = $policy
    $handler.SslOptions.ClientCertificates = [System.Security.Cryptography.X509Certificates.X509CertificateCollection]::new()
    $null = $handler.SslOptions.ClientCertificates.Add($Sae.Certificate)
    $client = [System.Net.Http.HttpClient]::new($handler)
    try {
        $content = [System.Net.Http.StringContent]::new(($Body | ConvertTo-Json -Depth 4 -Compress), [Text.Encoding]::UTF8, 'application/json')
        $response = $client.PostAsync($Url.TrimEnd('/') + $Path, $content).GetAwaiter().GetResult()
        $answer = $response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult()
        if (-not $response.IsSuccessStatusCode) {
            throw "POST $Path answered $([int]$response.StatusCode): $([Text.Encoding]::UTF8.GetString($answer))"
        }
        $document = [System.Text.Json.JsonDocument]::Parse([ReadOnlyMemory[byte]]$answer)
        try {
            foreach ($key in $document.RootElement.GetProperty('keys').EnumerateArray()) {
                $bytes = $key.GetProperty('key').GetBytesFromBase64()
                try {
                    [pscustomobject]@{
                        KeyId       = $key.GetProperty('key_ID').GetString()
                        Bits        = $bytes.Length * 8
                        Fingerprint = [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData($bytes)).Substring(0, 16)
                    }
                }
                finally { [Array]::Clear($bytes, 0, $bytes.Length) }
            }
        }
        finally {
            $document.Dispose()
            [Array]::Clear($answer, 0, $answer.Length)
        }
    }
    finally { $client.Dispose() }
}
function Start-DemoSshd {
    # An OpenSSH server on a free 127.0.0.1 port for one node: key-only login for this user, only the
    # post-quantum hybrid key exchanges, and a powershell subsystem whose QKDLITE_HOME is that node's.
    param([string]$Name, [string]$NodeHome, [string]$Folder, $Keys, [string]$KeyExchange)
    $subsystem = Join-Path $Folder "pwsh-$Name.sh"
    # sshd starts subsystems with a clean environment and needs a real executable.
    Set-Content -LiteralPath $subsystem -Encoding ascii -Value @('#!/bin/sh', "export QKDLITE_HOME='$NodeHome'", 'export NO_COLOR=1',
        "exec '$((Get-Command dotnet -CommandType Application | Select-Object -First 1).Source)' '$(Join-Path $PSHOME 'pwsh.dll')' `"`$@`"")
    & chmod 700 $subsystem
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
    $config = Join-Path $Folder "sshd-$Name.conf"
    $pidFile = Join-Path $Folder "sshd-$Name.pid"
    Set-Content -LiteralPath $config -Encoding ascii -Value @(
        "Port $port", 'ListenAddress 127.0.0.1', "HostKey $($Keys.HostKey)", "PidFile $pidFile",
        "AuthorizedKeysFile $($Keys.Authorized)", 'StrictModes no', 'UsePAM no', 'PasswordAuthentication no',
        'KbdInteractiveAuthentication no', 'PermitRootLogin prohibit-password', "KexAlgorithms $KeyExchange",
        "Subsystem powershell $subsystem -sshs -NoLogo -NoProfile")
    & /usr/sbin/sshd -f $config -E (Join-Path $Folder "sshd-$Name.log")
    if ($LASTEXITCODE -ne 0) { throw "sshd for node $Name did not start (exit $LASTEXITCODE)." }
    $deadline = [DateTime]::UtcNow.AddSeconds(20)
    while (-not (Test-Path -LiteralPath $pidFile) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
    $hostKey = (Get-Content -LiteralPath "$($Keys.HostKey).pub" -TotalCount 1).Split(' ')
    $knownHosts = Join-Path $Folder "known_hosts-$Name"
    Set-Content -LiteralPath $knownHosts -Encoding ascii -Value "[127.0.0.1]:$port $($hostKey[0]) $($hostKey[1])"
    [pscustomobject]@{ Name = $Name; Config = $config; PidFile = $pidFile
        Node = @{ HostName = '127.0.0.1'; Port = $port; UserName = [Environment]::UserName; KeyFilePath = $Keys.Client
            KnownHostsFile = $knownHosts; ModulePath = (Resolve-Path (Join-Path $PSScriptRoot '../QKDLite.psd1')).Path } }
}

function Stop-DemoSshd($Server) {
    # Only the demo's own listener: sshd renames its process, so it is recognised by its configuration file.
    $processId = [int](Get-Content -LiteralPath $Server.PidFile -TotalCount 1 -ErrorAction Ignore)
    $process = if ($processId) { Get-Process -Id $processId -ErrorAction Ignore }
    if ($process -and $process.CommandLine -like "*$($Server.Config)*") { $process.Kill(); $null = $process.WaitForExit(10000) }
}

$configurations = @{}
$sshServers = @()

try {
    Import-Module (Join-Path $PSScriptRoot '../QKDLite.psd1') -Force
    Write-Host "QKDLite demo: the key lifecycle on a local SoftHSM2 key store"

    Show-Step 1 "Initialising a throwaway local key store in $node"
    $store = Initialize-KeyStore -TokenLabel 'DemoNode' -NewPinFile -WarningAction SilentlyContinue
    Write-Host ("    token '{0}' (serial {1}, {2}); PIN kept in an owner-only file, never shown" -f $store.TokenLabel, $store.SerialNumber, $store.Model)

    Show-Step 2 "Creating 6 keys of 256 bits for the VPN pair 'VPN-A-B' and 3 keys of 128 bits for 'PaymentMaster'"
    $vpn = New-QuantumKey -KeyId 'VPN-A-B' -Count 6 -Size 256
    $payment = New-QuantumKey -KeyId 'PaymentMaster' -Count 3 -Size 128
    Write-Host ("    created {0} keys from the {1} source; each has a unique UUID label" -f ($vpn.Count + $payment.Count), $vpn[0].Source)

    Show-Step 3 'Listing the keys (metadata and check values only: key bytes never leave the token unwrapped)'
    Get-QuantumKey | Show-Table

    Show-Step 4 'Counting keys per keyID'
    Get-KeyCount | Show-Table

    Show-Step 5 "Removing the 4 oldest 'VPN-A-B' keys through a pipeline"
    Write-Host "    Get-QuantumKey -KeyId VPN-A-B | Select-Object -First 4 | Remove-QuantumKey -Force -PassThru"
    $removed = Get-QuantumKey -KeyId 'VPN-A-B' | Select-Object -First 4 | Remove-QuantumKey -Force -PassThru
    $removed | Show-Table

    Show-Step 6 'Counting again'
    $counts = Get-KeyCount
    $counts | Show-Table

    $vpnLeft = ($counts | Where-Object KeyId -eq 'VPN-A-B').Count
    $paymentLeft = ($counts | Where-Object KeyId -eq 'PaymentMaster').Count
    if ($removed.Count -ne 4 -or $vpnLeft -ne 2 -or $paymentLeft -ne 3) {
        throw "Unexpected result: removed $($removed.Count), VPN-A-B left $vpnLeft, PaymentMaster left $paymentLeft."
    }
    Write-Host ("Done: 9 keys created, 4 removed, {0} left (VPN-A-B {1}, PaymentMaster {2})." -f ($vpnLeft + $paymentLeft), $vpnLeft, $paymentLeft)

    Show-Step 7 "A second node on this machine: initialising key store 'RemoteNode'"
    $null = Initialize-KeyStore -TokenLabel 'RemoteNode' -NewPinFile -WarningAction SilentlyContinue
    Write-Host "    both nodes' tokens live in the throwaway directory; each has its own PIN file"

    Show-Step 8 'Sharing a transport key by ML-KEM-1024: only the public encapsulation key and the ciphertext travel'
    $request = New-TransportKeyRequest -TokenLabel 'RemoteNode'
    Write-Host ("    RemoteNode publishes its encapsulation key (fingerprint {0})" -f $request.Fingerprint)
    $sent = Set-TransportKey -TokenLabel 'DemoNode' -EncapsulationKey $request.EncapsulationKey -Confirm:$false
    Write-Host ("    DemoNode encapsulates to it and sends back {0} bytes of ciphertext, naming request {1}" -f [Convert]::FromBase64String($sent.Ciphertext.Split('.')[2]).Length, $sent.Ciphertext.Split('.')[1])
    $received = Set-TransportKey -TokenLabel 'RemoteNode' -Ciphertext $sent.Ciphertext -Confirm:$false
    Write-Host ("    transport key check values: DemoNode {0}, RemoteNode {1}" -f $sent.CheckValue, $received.CheckValue)
    if ($sent.CheckValue -ne $received.CheckValue) { throw 'The two nodes derived different transport keys.' }

    Show-Step 9 'Moving 4 new keys: New-QuantumKey | Export-QuantumKey | Import-QuantumKey'
    Write-Host "    New-QuantumKey -TokenLabel DemoNode -KeyId VPN-A-C -Count 4 | Export-QuantumKey -TokenLabel DemoNode | Import-QuantumKey -TokenLabel RemoteNode"
    $imported = New-QuantumKey -TokenLabel 'DemoNode' -KeyId 'VPN-A-C' -Count 4 |
        Export-QuantumKey -TokenLabel 'DemoNode' |
        Import-QuantumKey -TokenLabel 'RemoteNode'
    Write-Host ("    {0} keys imported into RemoteNode, each wrapped under the transport key inside the HSM and authenticated" -f @($imported).Count)

    Show-Step 10 'Comparing both nodes by key check values (never by key bytes)'
    $onRemote = @{}
    Get-QuantumKey -TokenLabel 'RemoteNode' -KeyId 'VPN-A-C' | ForEach-Object { $onRemote[$_.Label] = $_.CheckValue }
    $comparison = Get-QuantumKey -TokenLabel 'DemoNode' -KeyId 'VPN-A-C' | ForEach-Object {
        [pscustomobject]@{ Label = $_.Label; DemoNode = $_.CheckValue; RemoteNode = $onRemote[$_.Label]; Same = $_.CheckValue -eq $onRemote[$_.Label] }
    }
    $comparison | Show-Table
    $same = @($comparison | Where-Object Same).Count
    if ($same -ne 4) { throw "Only $same of 4 keys match on both nodes." }
    Write-Host "Done: 4 of 4 keys are identical on both nodes."

    Show-Step 11 'Each node runs its ETSI GS QKD 014 server (QKDLite_ETSI) for the SAE pair SAE-A (master) and SAE-B (slave)'
    $pki = Join-Path $node 'pki'
    $null = New-Item -ItemType Directory -Path $pki
    $ca = New-DemoCertificate -Name 'QKDLite Demo CA'
    Save-DemoCertificate -Pair ([pscustomobject]@{ Certificate = $ca.Certificate }) -Path (Join-Path $pki 'ca')
    $saeA = New-DemoCertificate -Name 'SAE-A' -Issuer $ca
    $saeB = New-DemoCertificate -Name 'SAE-B' -Issuer $ca
    Write-Host "    a throwaway CA issued a server certificate for each node and client certificates for SAE-A and SAE-B"
    foreach ($side in @(
            @{ Name = 'A'; Token = 'DemoNode'; KmeId = 'KME-A'; PeerKmeId = 'KME-B' }
            @{ Name = 'B'; Token = 'RemoteNode'; KmeId = 'KME-B'; PeerKmeId = 'KME-A' })) {
        # One folder per node: each server keeps its state file, log and audit log next to its node.json.
        $folder = Join-Path $node "etsi-$($side.Name)"
        $null = New-Item -ItemType Directory -Path $folder
        Save-DemoCertificate -Pair (New-DemoCertificate -Name $side.KmeId -Issuer $ca -Server) -Path (Join-Path $folder 'server')
        $store = Get-KeyStore -TokenLabel $side.Token
        $configurations[$side.Name] = Join-Path $folder 'node.json'
        [ordered]@{
            KeyStore   = [ordered]@{
                Library = $store.LibraryPath; TokenLabel = $side.Token; SoftHsmConfig = $store.SoftHsmConfig
                PinFile = Join-Path $node "$($side.Token).pin"
            }
            EtsiServer = [ordered]@{
                Address = '127.0.0.1'; Port = 0; KmeId = $side.KmeId
                ServerCertificate = 'server.crt.pem'; ServerCertificateKey = 'server.key.pem'
                ClientCaCertificate = (Join-Path $pki 'ca.crt.pem')
                Pairs = @([ordered]@{ MasterSaeId = 'SAE-A'; SlaveSaeId = 'SAE-B'; KeyId = 'VPN-A-C'; PeerKmeId = $side.PeerKmeId; KeySize = 256 })
            }
        } | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $configurations[$side.Name] -Encoding utf8NoBOM
    }
    Write-Host "    Start-EtsiServer -ConfigurationPath <node A's node.json>, then the same for node B (both pair SAE-A with SAE-B on keyID VPN-A-C)"
    $serverA = Start-EtsiServer -ConfigurationPath $configurations.A
    $serverB = Start-EtsiServer -ConfigurationPath $configurations.B
    Get-EtsiServer -ConfigurationPath $configurations.A, $configurations.B | Show-Table

    Show-Step 12 "The master SAE-A takes 2 keys from node A (POST $($serverA.Url)/api/v1/keys/SAE-B/enc_keys)"
    $delivered = @(Invoke-DemoSae -Url $serverA.Url -Path '/api/v1/keys/SAE-B/enc_keys' -Body @{ number = 2; size = 256 } -Sae $saeA)
    $delivered | Select-Object KeyId, Bits, @{ Name = 'SHA-256 (first 8 bytes)'; Expression = 'Fingerprint' } | Show-Table
    Write-Host "    SAE-A hands only the key_IDs to SAE-B (IKEv2 would carry them as PPK_ID)"

    Show-Step 13 "The slave SAE-B takes the same keys from node B by their key_IDs (POST $($serverB.Url)/api/v1/keys/SAE-A/dec_keys)"
    $keyIds = @($delivered | ForEach-Object { @{ key_ID = $_.KeyId } })
    $received = @{}
    Invoke-DemoSae -Url $serverB.Url -Path '/api/v1/keys/SAE-A/dec_keys' -Body @{ key_IDs = $keyIds } -Sae $saeB |
        ForEach-Object { $received[$_.KeyId] = $_.Fingerprint }
    $matched = $delivered | ForEach-Object {
        [pscustomobject]@{ KeyId = $_.KeyId; 'Node A (SAE-A)' = $_.Fingerprint; 'Node B (SAE-B)' = $received[$_.KeyId]; Same = $_.Fingerprint -eq $received[$_.KeyId] }
    }
    $matched | Show-Table
    $sameKeys = @($matched | Where-Object Same).Count
    if ($delivered.Count -ne 2 -or $sameKeys -ne 2) { throw "Only $sameKeys of $($delivered.Count) delivered keys match on both nodes." }
    Write-Host "Done: 2 of 2 keys delivered by node A and node B are identical (SHA-256 fingerprints compared, key bytes never shown)."
    $leftA = (Get-KeyCount -TokenLabel 'DemoNode' -KeyId 'VPN-A-C').Count
    $leftB = (Get-KeyCount -TokenLabel 'RemoteNode' -KeyId 'VPN-A-C').Count
    Write-Host "    each side delivers a key once and then removes it: VPN-A-C now holds $leftA keys on node A and $leftB on node B"

    Show-Step 14 'Stopping both servers (SIGTERM on Linux and macOS: requests in flight finish first)'
    Get-EtsiServer -ConfigurationPath $configurations.A, $configurations.B | Stop-EtsiServer -PassThru | Show-Table

    Show-Step 15 'Each node behind its own OpenSSH server on 127.0.0.1, offering only post-quantum hybrid key exchanges'
    if ($IsWindows -or -not (Test-Path -LiteralPath '/usr/sbin/sshd') -or -not (Get-Command ssh-keygen -ErrorAction Ignore)) {
        Write-Host '    OpenSSH server not installed (./build.ps1 Bootstrap installs it): replication is not shown.'
        return
    }
    if (-not (Test-Path -LiteralPath '/run/sshd')) { $null = New-Item -ItemType Directory -Path '/run/sshd' -ErrorAction Ignore }
    if (-not (Test-Path -LiteralPath '/run/sshd')) {
        Write-Host '    sshd needs the directory /run/sshd, which only root can create: replication is not shown.'
        return
    }
    $ssh = Join-Path $node 'ssh'
    $null = New-Item -ItemType Directory -Path $ssh
    foreach ($name in 'host_key', 'client_key') { & ssh-keygen -q -t ed25519 -N '' -C "qkdlite-demo-$name" -f (Join-Path $ssh $name) }
    $keys = [pscustomobject]@{ HostKey = (Join-Path $ssh 'host_key'); Client = (Join-Path $ssh 'client_key'); Authorized = (Join-Path $ssh 'client_key.pub') }
    $offered = @(& ssh -Q kex) | Where-Object { $_ -in 'mlkem768x25519-sha256', 'sntrup761x25519-sha512@openssh.com' }
    # Node B's sessions use its own data directory: its node.json names its store, RemoteNode.
    $homeB = Join-Path $node 'node-B'
    $null = New-Item -ItemType Directory -Path $homeB
    $storeB = Get-KeyStore -TokenLabel 'RemoteNode'
    @{ KeyStore = @{ Library = $storeB.LibraryPath; TokenLabel = 'RemoteNode'; SoftHsmConfig = $storeB.SoftHsmConfig; PinFile = (Join-Path $node 'RemoteNode.pin') } } |
        ConvertTo-Json -Depth 3 | Set-Content -LiteralPath (Join-Path $homeB 'node.json') -Encoding utf8NoBOM
    $sshServers += Start-DemoSshd -Name 'A' -NodeHome $node -Folder $ssh -Keys $keys -KeyExchange ($offered -join ',')
    $sshServers += Start-DemoSshd -Name 'B' -NodeHome $homeB -Folder $ssh -Keys $keys -KeyExchange ($offered -join ',')
    Write-Host "    both servers offer only: $($offered -join ', ')"
    Write-Host '    Test-ReplicationNode checks each node: reachable, post-quantum key exchange, QKDLite present, same transport key'
    $checks = foreach ($server in $sshServers) { $target = $server.Node; Test-ReplicationNode @target -TokenLabel 'DemoNode' }
    $checks | Select-Object Node, KeyExchange, PostQuantum, QKDLiteVersion, TransportKeyMatches, Ready | Show-Table
    if (@($checks | Where-Object Ready).Count -ne 2) { throw "A node is not ready: $(@($checks | Where-Object { -not $_.Ready }).Problem -join '; ')" }

    Show-Step 16 'Node A creates 3 keys and replicates them to node B in two phases (prepared on both, then committed)'
    Write-Host "    New-ReplicatedQuantumKey -TokenLabel DemoNode -KeyId VPN-A-D -Count 3 -Node <node B>"
    $nodeB = $sshServers[1].Node
    $created = New-ReplicatedQuantumKey -TokenLabel 'DemoNode' -KeyId 'VPN-A-D' -Count 3 -Node $nodeB
    $created | Select-Object TransactionId, Operation, Decision, Finished, @{ Name = 'Keys'; Expression = { $_.Labels.Count } } | Show-Table
    $session = New-ReplicationSession -HostName $nodeB.HostName -Port $nodeB.Port -UserName $nodeB.UserName -KeyFilePath $nodeB.KeyFilePath -KnownHostsFile $nodeB.KnownHostsFile
    try {
        $onB = Invoke-Command -Session $session -ArgumentList $sshServers[1].Node.ModulePath {
            param($ModulePath)
            Import-Module $ModulePath
            Get-QuantumKey -KeyId 'VPN-A-D' | Select-Object Label, CheckValue
        }
        $kcvB = @{}; $onB | ForEach-Object { $kcvB[$_.Label] = $_.CheckValue }
        $replicated = Get-QuantumKey -TokenLabel 'DemoNode' -KeyId 'VPN-A-D' | ForEach-Object {
            [pscustomobject]@{ Label = $_.Label; 'Node A' = $_.CheckValue; 'Node B (over SSH)' = $kcvB[$_.Label]; Same = $_.CheckValue -eq $kcvB[$_.Label] }
        }
        $replicated | Show-Table
        if (@($replicated | Where-Object Same).Count -ne 3) { throw 'The replicated keys differ between node A and node B.' }

        Show-Step 17 'Node A deletes one of them on both nodes, again in two phases'
        $gone = $replicated[0].Label
        Write-Host "    Remove-ReplicatedQuantumKey -TokenLabel DemoNode -Label $gone -Node <node B> -Force"
        $null = Remove-ReplicatedQuantumKey -TokenLabel 'DemoNode' -Label $gone -Node $nodeB -Force
        $leftOnB = Invoke-Command -Session $session { @(Get-QuantumKey -KeyId 'VPN-A-D').Count }
        $leftOnA = @(Get-QuantumKey -TokenLabel 'DemoNode' -KeyId 'VPN-A-D').Count
        if ($leftOnA -ne 2 -or $leftOnB -ne 2) { throw "After the replicated deletion node A holds $leftOnA keys of VPN-A-D and node B $leftOnB." }
        Write-Host "Done: 3 keys replicated and 1 deleted on both nodes; VPN-A-D holds $leftOnA keys on node A and $leftOnB on node B, over $($checks[1].KeyExchange)."
    }
    finally { Remove-PSSession -Session $session }
}
finally {
    foreach ($server in $sshServers) { Stop-DemoSshd $server }
    if ($configurations.Count -gt 0) {
        # Whatever happened above, no server outlives the demo.
        Get-EtsiServer -ConfigurationPath $configurations.Values -ErrorAction SilentlyContinue -WarningAction SilentlyContinue |
            Stop-EtsiServer -ErrorAction SilentlyContinue
    }
    Remove-Module QKDLite -ErrorAction SilentlyContinue
    if (Test-Path $node) { Remove-Item -Recurse -Force $node }
    Write-Host "The throwaway key store in $node was removed."
}
