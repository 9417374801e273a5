#Requires -Version 7.0
<#
.SYNOPSIS
    QKDLite's key-store benchmarks, each side by side with the raw Pkcs11Interop baseline on the same token.
.DESCRIPTION
    (a) New-QuantumKey -Count N against a raw Pkcs11Interop loop doing the same C_CreateObject calls,
        interleaved raw, QKDLite, QKDLite, raw so that the token's growth favours neither side.
    (b) Get-QuantumKey -Label and Get-KeyCount with StoreSize keys in the token, against SoftHSM2's own
        find-by-label.
    (c) Export-QuantumKey | Import-QuantumKey of N keys between two tokens sharing a transport key,
        against a raw loop of the same RFC 5649 wrap (token A) and unwrap (token B), interleaved A B B A.
    (d) New-QuantumKey -Source Kme: N keys from the test KME (ETSI GS QKD 014 over mutual TLS on
        127.0.0.1) into the store, against the raw store rate for the same number of keys, A B B A.
    (e) QKDLite_ETSI on 127.0.0.1 with keep-alive mutual TLS: status requests per second, and keys per
        second delivered by enc_keys (one key per request) against the raw rate at which the store can
        read and destroy the same number of keys, A B B A; latency p50/p99 from tests/Benchmarks/EtsiLoad.
    (f) Full TLS handshakes per second and keep-alive status requests per second through QKDLite's KME
        client, Hybrid (X25519MLKEM768 over BouncyCastle) against Classical (platform TLS), A B B A.
    (g) New-ReplicatedQuantumKey -Count N to one remote in one transaction over a real loopback sshd
        (post-quantum key exchange, session setup included), against the raw wrap + unwrap of N keys
        into the remote's store, A B B A (Measure-Replication.ps1, in a process of its own).
    (c) and (d) run their A B B A block Rounds times and compare the sums.
    The token lives on tmpfs when the machine has one. Prints the figures and the ratios; never fails on them.
#>
[CmdletBinding()]
param(
    [int] $KeyCount = 1000,
    [int] $StoreSize = 10000,
    [int] $Lookups = 200,
    # (c) and (d) repeat their A B B A block this many times and sum the runs: on a busy machine a
    # single block can land on a burst of load that favours one side.
    [int] $Rounds = 3,
    [int] $StatusRequests = 20000,
    # (f) full handshakes per profile and run.
    [int] $Handshakes = 300,
    [int] $Connections = 8
)
$ErrorActionPreference = 'Stop'
$PSStyle.OutputRendering = 'PlainText'
$repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path

$rawOut = Join-Path $repo 'artifacts/bench/raw'
& dotnet build (Join-Path $PSScriptRoot 'RawPkcs11Baseline') -c Release -o $rawOut --nologo -v quiet | Out-Null
if ($LASTEXITCODE -ne 0) { throw "Building the raw baseline failed (exit $LASTEXITCODE)." }
$rawTool = Join-Path $rawOut 'RawPkcs11Baseline.dll'

$root = if (Test-Path '/dev/shm') { '/dev/shm' } else { [IO.Path]::GetTempPath() }
$data = Join-Path $root ('qkdlite-bench-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
$env:QKDLITE_HOME = $data
try {
    Import-Module (Join-Path $repo 'QKDLite.psd1') -Force
    $store = Initialize-KeyStore -TokenLabel Bench -NewPinFile -WarningAction SilentlyContinue
    $config = Get-Content (Join-Path $data 'node.json') -Raw | ConvertFrom-Json
    $env:SOFTHSM2_CONF = $config.KeyStore.SoftHsmConfig
    $rawArgs = @($config.KeyStore.Library, $config.KeyStore.TokenLabel, $config.KeyStore.PinFile)

    function Invoke-Raw([string[]] $Arguments) {
        $line = & dotnet $rawTool @Arguments
        if ($LASTEXITCODE -ne 0) { throw "The raw baseline failed (exit $LASTEXITCODE)." }
        $line | ConvertFrom-Json
    }
    # The raw tool writes from another process, so this process's index is rebuilt at its next call;
    # that one-off cost is measured on its own in (b), so it is paid before each timed run, untimed.
    function Sync-Index { $null = Get-KeyCount -TokenLabel Bench }
    function Measure-Cmdlet([int] $Count) {
        Sync-Index
        $timer = [Diagnostics.Stopwatch]::StartNew()
        $null = New-QuantumKey -KeyId BenchCmdlet -Count $Count
        $timer.Stop()
        $timer.Elapsed.TotalMilliseconds
    }
    function Get-Median([double[]] $Values) { ($Values | Sort-Object)[[int][math]::Floor($Values.Count / 2)] }
    function Get-Percentile([double[]] $Values, [double] $P) { ($Values | Sort-Object)[[int][math]::Min($Values.Count - 1, [math]::Floor($Values.Count * $P))] }

    Write-Host "QKDLite benchmark: token on $root, $KeyCount keys per run, $StoreSize keys for lookups"
    Write-Host ''

    # Warm the PowerShell side (JIT, first session, index); the raw tool warms itself in-process.
    $null = Measure-Cmdlet 10

    # (a) Creation, interleaved A B B A.
    $raw1 = (Invoke-Raw (@('create') + $rawArgs + @("$KeyCount", 'BenchRaw'))).ms
    $cmd1 = Measure-Cmdlet $KeyCount
    $cmd2 = Measure-Cmdlet $KeyCount
    $raw2 = (Invoke-Raw (@('create') + $rawArgs + @("$KeyCount", 'BenchRaw'))).ms
    $rawRate = 2 * $KeyCount / (($raw1 + $raw2) / 1000)
    $cmdRate = 2 * $KeyCount / (($cmd1 + $cmd2) / 1000)
    $createRatio = $cmdRate / $rawRate
    Write-Host ('(a) runs in order: raw {0:N0} ms, New-QuantumKey {1:N0} ms, New-QuantumKey {2:N0} ms, raw {3:N0} ms' -f $raw1, $cmd1, $cmd2, $raw2)

    # (c) Moving keys between two stores that share a transport key.
    $null = Initialize-KeyStore -TokenLabel BenchB -NewPinFile -WarningAction SilentlyContinue
    $request = New-TransportKeyRequest -TokenLabel BenchB
    $sent = Set-TransportKey -TokenLabel Bench -EncapsulationKey $request.EncapsulationKey -Confirm:$false
    $null = Set-TransportKey -TokenLabel BenchB -Ciphertext $sent.Ciphertext -Confirm:$false
    $pinB = Join-Path $data 'BenchB.pin'
    foreach ($round in 1..$Rounds) {
        foreach ($set in 'XferRaw1', 'XferCmd1', 'XferCmd2', 'XferRaw2') { $null = New-QuantumKey -TokenLabel Bench -KeyId "$set-$round" -Count $KeyCount }
    }
    function Measure-Transfer([string] $KeyId) {
        $timer = [Diagnostics.Stopwatch]::StartNew()
        $null = Get-QuantumKey -TokenLabel Bench -KeyId $KeyId | Export-QuantumKey -TokenLabel Bench | Import-QuantumKey -TokenLabel BenchB
        $timer.Stop()
        $timer.Elapsed.TotalMilliseconds
    }
    $xferRaw = 0.0; $xferCmd = 0.0
    foreach ($round in 1..$Rounds) {
        $xraw1 = (Invoke-Raw (@('transfer') + $rawArgs + @("XferRaw1-$round", 'BenchB', $pinB))).ms
        $xcmd1 = Measure-Transfer "XferCmd1-$round"
        $xcmd2 = Measure-Transfer "XferCmd2-$round"
        $xraw2 = (Invoke-Raw (@('transfer') + $rawArgs + @("XferRaw2-$round", 'BenchB', $pinB))).ms
        Write-Host ('(c) round {4}, runs in order: raw {0:N0} ms, Export|Import {1:N0} ms, Export|Import {2:N0} ms, raw {3:N0} ms' -f $xraw1, $xcmd1, $xcmd2, $xraw2, $round)
        $xferRaw += $xraw1 + $xraw2; $xferCmd += $xcmd1 + $xcmd2
    }
    $moved = (Get-KeyCount -TokenLabel BenchB -KeyId 'XferCmd*' | Measure-Object -Property Count -Sum).Sum
    if ($moved -ne 2 * $Rounds * $KeyCount) { throw "Only $moved of $(2 * $Rounds * $KeyCount) keys arrived on BenchB." }
    $xferRawRate = 2 * $Rounds * $KeyCount / ($xferRaw / 1000)
    $xferCmdRate = 2 * $Rounds * $KeyCount / ($xferCmd / 1000)
    $xferRatio = $xferCmdRate / $xferRawRate

    # (d) Keys from a KME into the store: the clean-room test KME pair as a local process.
    $kmeOut = Join-Path $repo 'artifacts/bench/kme'
    & dotnet build (Join-Path $repo 'tests/QKDLite.TestKme') -c Release -o $kmeOut --nologo -v quiet | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "Building the test KME failed (exit $LASTEXITCODE)." }
    $kmeDir = Join-Path $data 'kme'
    $kmeLog = Join-Path $data 'kme.log'
    $kmeProcess = Start-Process dotnet -ArgumentList @((Join-Path $kmeOut 'QKDLite.TestKme.dll'), '--dir', $kmeDir, '--key-algorithm', 'ecdsa', '--no-stdin', '--max-seconds', '600', '--pool-size', "$(2 * $Rounds * $KeyCount + 300)") -PassThru -RedirectStandardOutput $kmeLog
    try {
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while (-not (Test-Path (Join-Path $kmeDir 'kme.json')) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 200 }
        $kme = Get-Content (Join-Path $kmeDir 'kme.json') -Raw | ConvertFrom-Json
        $node = Get-Content (Join-Path $data 'node.json') -Raw | ConvertFrom-Json
        $node | Add-Member -Force Kmes @(@{ Name = 'Bench'; Urls = @($kme.kmeA.url); SaeId = 'SAE-A'; ClientCertificate = $kme.clients.'SAE-A'.pfx; CaCertificate = $kme.caPem })
        $node | ConvertTo-Json -Depth 5 | Set-Content (Join-Path $data 'node.json')
        function Measure-Kme {
            Sync-Index
            $timer = [Diagnostics.Stopwatch]::StartNew()
            $null = New-QuantumKey -TokenLabel Bench -KeyId BenchKme -Source Kme -Kme Bench -SlaveSaeId SAE-B -Count $KeyCount
            $timer.Stop()
            $timer.Elapsed.TotalMilliseconds
        }
        $null = New-QuantumKey -TokenLabel Bench -KeyId Warmup -Source Kme -Kme Bench -SlaveSaeId SAE-B -Count 200
        $kmeRaw = 0.0; $kmeCmd = 0.0
        foreach ($round in 1..$Rounds) {
            $kraw1 = (Invoke-Raw (@('create') + $rawArgs + @("$KeyCount", 'BenchRawK'))).ms
            $kcmd1 = Measure-Kme
            $kcmd2 = Measure-Kme
            $kraw2 = (Invoke-Raw (@('create') + $rawArgs + @("$KeyCount", 'BenchRawK'))).ms
            Write-Host ('(d) round {4}, runs in order: raw {0:N0} ms, New-QuantumKey -Source Kme {1:N0} ms, {2:N0} ms, raw {3:N0} ms' -f $kraw1, $kcmd1, $kcmd2, $kraw2, $round)
            $kmeRaw += $kraw1 + $kraw2; $kmeCmd += $kcmd1 + $kcmd2
        }
        $kmeRawRate = 2 * $Rounds * $KeyCount / ($kmeRaw / 1000)
        $kmeCmdRate = 2 * $Rounds * $KeyCount / ($kmeCmd / 1000)
        $kmeRatio = $kmeCmdRate / $kmeRawRate
    }
    finally {
        if (-not $kmeProcess.HasExited) { $kmeProcess.Kill() }
    }

    # (e) The ETSI server, on a token of its own so that the big token above slows neither side.
    $loadOut = Join-Path $repo 'artifacts/bench/etsiload'
    & dotnet build (Join-Path $PSScriptRoot 'EtsiLoad') -c Release -o $loadOut --nologo -v quiet | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "Building the ETSI load generator failed (exit $LASTEXITCODE)." }
    $loadTool = Join-Path $loadOut 'EtsiLoad.dll'
    function Invoke-Load([string[]] $Arguments) {
        $line = & dotnet $loadTool @Arguments
        if ($LASTEXITCODE -ne 0) { throw "The ETSI load generator failed (exit $LASTEXITCODE)." }
        $line | ConvertFrom-Json
    }
    $etsiStore = Initialize-KeyStore -TokenLabel BenchE -NewPinFile -WarningAction SilentlyContinue
    $pkiDir = Join-Path $data 'etsi-pki'
    $null = Invoke-Load @('pki', $pkiDir)
    $etsiConfig = Join-Path $data 'etsi-node.json'
    $etsiNode = @{
        KeyStore   = @{ Library = $config.KeyStore.Library; TokenLabel = 'BenchE'; SoftHsmConfig = $config.KeyStore.SoftHsmConfig; PinFile = (Join-Path $data 'BenchE.pin') }
        EtsiServer = @{
            # Classical: the platform's TLS, as this section has always measured (the default is Hybrid).
            Address = '127.0.0.1'; Port = 0; KmeId = 'KME-BENCH'; TlsProfile = 'Classical'
            ServerCertificate = (Join-Path $pkiDir 'server.crt.pem'); ServerCertificateKey = (Join-Path $pkiDir 'server.key.pem')
            ClientCaCertificate = (Join-Path $pkiDir 'ca.crt.pem'); MaxKeysPerRequest = 128
            Pairs = @(@{ MasterSaeId = 'SAE-A'; SlaveSaeId = 'SAE-B'; KeyId = 'BenchServe'; PeerKmeId = 'KME-PEER'; KeySize = 256 })
        }
    }
    $etsiNode | ConvertTo-Json -Depth 5 | Set-Content $etsiConfig
    $warm = [math]::Min(200, [int]($KeyCount / 5))
    $null = New-QuantumKey -TokenLabel BenchE -KeyId BenchServe -Count (2 * $KeyCount + $warm)
    $null = New-QuantumKey -TokenLabel BenchE -KeyId BenchTake1 -Count $KeyCount
    $null = New-QuantumKey -TokenLabel BenchE -KeyId BenchTake2 -Count $KeyCount
    $rawArgsE = @($config.KeyStore.Library, 'BenchE', (Join-Path $data 'BenchE.pin'))
    $server = Start-EtsiServer -ConfigurationPath $etsiConfig
    try {
        $statusRun = Invoke-Load @('status', $server.Url, $pkiDir, 'SAE-B', "$StatusRequests", "$Connections")
        $traw1 = (Invoke-Raw (@('take') + $rawArgsE + @('BenchTake1'))).ms
        $enc1 = Invoke-Load @('enc', $server.Url, $pkiDir, 'SAE-B', "$KeyCount", "$Connections")
        $traw2 = (Invoke-Raw (@('take') + $rawArgsE + @('BenchTake2'))).ms
    }
    finally {
        $server | Stop-EtsiServer
    }
    Write-Host ('(e) status: {0:N0} requests in {1:N0} ms over {2} connections; enc_keys runs in order: raw take {3:N0} ms, enc_keys {4:N0} ms, raw take {5:N0} ms' -f $StatusRequests, $statusRun.ms, $Connections, $traw1, $enc1.ms, $traw2)
    $takeRawRate = 2 * $KeyCount / (($traw1 + $traw2) / 1000)
    $encRate = $enc1.perSecond
    $encRatio = $encRate / $takeRawRate

    # (f) Hybrid against Classical TLS: two servers on the same token, one per profile, each in a
    # folder of its own (state file, audit log); QKDLite's own KME client on both, A B B A.
    $tlsServers = @{}
    foreach ($profile in 'Classical', 'Hybrid') {
        $folder = Join-Path $data "etsi-$profile"
        $null = New-Item -ItemType Directory -Path $folder
        $etsiNode.EtsiServer.TlsProfile = $profile
        $etsiNode | ConvertTo-Json -Depth 5 | Set-Content (Join-Path $folder 'node.json')
        $tlsServers[$profile] = Start-EtsiServer -ConfigurationPath (Join-Path $folder 'node.json')
    }
    try {
        $tlsRuns = foreach ($profile in 'Classical', 'Hybrid', 'Hybrid', 'Classical') {
            Invoke-Load @('tls', $tlsServers[$profile].Url, $pkiDir, 'SAE-B', $profile, "$Handshakes", "$StatusRequests", "$Connections")
        }
    }
    finally {
        $tlsServers.Values | Stop-EtsiServer
    }
    $tlsRuns | ForEach-Object { Write-Host ('(f) {0}: {1:N0} handshakes/s, {2:N0} keep-alive requests/s, group {3}' -f $_.profile, $_.handshakesPerSecond, $_.requestsPerSecond, $(if ($_.group) { $_.group } else { 'not reported (platform TLS)' })) }
    $classicalTls = @($tlsRuns | Where-Object profile -eq 'Classical')
    $hybridTls = @($tlsRuns | Where-Object profile -eq 'Hybrid')
    $handshakeRatio = ($hybridTls | Measure-Object handshakesPerSecond -Average).Average / ($classicalTls | Measure-Object handshakesPerSecond -Average).Average
    $keepAliveRatio = ($hybridTls | Measure-Object requestsPerSecond -Average).Average / ($classicalTls | Measure-Object requestsPerSecond -Average).Average

    # (g) Replication to one remote, in a process of its own (own tokens, own sshd), bounded in time.
    $replicationInfo = [Diagnostics.ProcessStartInfo]::new((Get-Process -Id $PID).Path)
    $pwshArguments = @('-NoProfile', '-NonInteractive', '-File', (Join-Path $PSScriptRoot 'Measure-Replication.ps1'), '-KeyCount', "$KeyCount", '-RawTool', $rawTool)
    # Under `dotnet pwsh` this process is dotnet itself: run pwsh.dll the same way.
    if ([IO.Path]::GetFileNameWithoutExtension($replicationInfo.FileName) -eq 'dotnet') { $pwshArguments = @((Join-Path $PSHOME 'pwsh.dll')) + $pwshArguments }
    foreach ($argument in $pwshArguments) { $replicationInfo.ArgumentList.Add($argument) }
    $replicationInfo.RedirectStandardOutput = $true
    $replicationInfo.UseShellExecute = $false
    $replicationProcess = [Diagnostics.Process]::Start($replicationInfo)
    $replicationOutput = $replicationProcess.StandardOutput.ReadToEndAsync()
    if (-not $replicationProcess.WaitForExit(900000)) { $replicationProcess.Kill($true); throw '(g) did not finish within 15 minutes.' }
    if ($replicationProcess.ExitCode -ne 0) { throw "(g) failed (exit $($replicationProcess.ExitCode)): $($replicationOutput.Result)" }
    $replication = @($replicationOutput.Result -split "`n" | Where-Object { $_.StartsWith('{') })[-1] | ConvertFrom-Json
    foreach ($run in $replication.runs) {
        Write-Host ('(g) runs in order: raw {0:N0} ms, New-ReplicatedQuantumKey {1:N0} ms, {2:N0} ms, raw {3:N0} ms; a session''s setup alone {4:N0} ms' -f $run.raw1, $run.replication1, $run.replication2, $run.raw2, $run.setup)
    }
    $replRawRate = $replication.count / ($replication.rawMs / 1000)
    $replCmdRate = $replication.count / ($replication.replicationMs / 1000)
    $replRatio = $replCmdRate / $replRawRate
    # The ratio if replicating took no longer than the raw loop plus the session's setup: its ceiling.
    $replSetupMs = $replication.setupMs / @($replication.runs).Count
    $replCeiling = ($replication.rawMs / 2 / @($replication.runs).Count) / ($replication.rawMs / 2 / @($replication.runs).Count + $replSetupMs)

    # (b) Lookups in a store of StoreSize keys.
    $present = (Get-KeyCount -TokenLabel Bench | Measure-Object -Property Count -Sum).Sum
    if ($present -lt $StoreSize) { $null = Invoke-Raw (@('create') + $rawArgs + @("$($StoreSize - $present)", 'BenchFill')) }
    $coldTimer = [Diagnostics.Stopwatch]::StartNew()
    $total = (Get-KeyCount -TokenLabel Bench | Measure-Object -Property Count -Sum).Sum
    $coldTimer.Stop()
    $labels = Get-QuantumKey -TokenLabel Bench | Get-Random -Count $Lookups -SetSeed 20261127 | ForEach-Object Label
    $lookupTimes = foreach ($label in $labels) {
        $timer = [Diagnostics.Stopwatch]::StartNew()
        $found = Get-QuantumKey -TokenLabel Bench -Label $label
        $timer.Stop()
        if ($found.Label -ne $label) { throw "Lookup of $label returned the wrong key." }
        $timer.Elapsed.TotalMilliseconds
    }
    $countTimes = foreach ($i in 1..20) {
        $timer = [Diagnostics.Stopwatch]::StartNew()
        $null = Get-KeyCount -TokenLabel Bench
        $timer.Stop()
        $timer.Elapsed.TotalMilliseconds
    }
    $rawFind = (Invoke-Raw (@('find') + $rawArgs + @($labels[0], '5'))).medianMs

    $lookupMedian = Get-Median $lookupTimes
    $rows = @(
        [pscustomobject]@{ Benchmark = "(a) create $KeyCount keys: raw Pkcs11Interop"; Figure = '{0:N0} keys/s' -f $rawRate; Ratio = ''; Target = '' }
        [pscustomobject]@{ Benchmark = "(a) create $KeyCount keys: New-QuantumKey"; Figure = '{0:N0} keys/s' -f $cmdRate; Ratio = '{0:N2}x raw' -f $createRatio; Target = '>= 0.90x' }
        [pscustomobject]@{ Benchmark = "(c) move $KeyCount keys: raw wrap + unwrap"; Figure = '{0:N0} keys/s' -f $xferRawRate; Ratio = ''; Target = '' }
        [pscustomobject]@{ Benchmark = "(c) move $KeyCount keys: Export | Import"; Figure = '{0:N0} keys/s' -f $xferCmdRate; Ratio = '{0:N2}x raw' -f $xferRatio; Target = '>= 0.80x' }
        [pscustomobject]@{ Benchmark = "(d) $KeyCount keys into the store: raw create"; Figure = '{0:N0} keys/s' -f $kmeRawRate; Ratio = ''; Target = '' }
        [pscustomobject]@{ Benchmark = "(d) $KeyCount keys from the KME: New-QuantumKey -Source Kme"; Figure = '{0:N0} keys/s' -f $kmeCmdRate; Ratio = '{0:N2}x raw' -f $kmeRatio; Target = '>= 0.80x' }
        [pscustomobject]@{ Benchmark = "(b) find by label, $total keys: SoftHSM2 C_FindObjects"; Figure = '{0:N2} ms median' -f $rawFind; Ratio = ''; Target = '' }
        [pscustomobject]@{ Benchmark = "(b) Get-QuantumKey -Label, warm"; Figure = '{0:N3} ms median, {1:N3} ms p99' -f $lookupMedian, (Get-Percentile $lookupTimes 0.99); Ratio = '{0:N0}x faster' -f ($rawFind / $lookupMedian); Target = '< 5 ms' }
        [pscustomobject]@{ Benchmark = "(b) Get-KeyCount, warm"; Figure = '{0:N3} ms median' -f (Get-Median $countTimes); Ratio = ''; Target = '< 50 ms' }
        [pscustomobject]@{ Benchmark = "(b) index rebuild after another process wrote"; Figure = '{0:N0} ms' -f $coldTimer.Elapsed.TotalMilliseconds; Ratio = ''; Target = '' }
        [pscustomobject]@{ Benchmark = "(e) QKDLite_ETSI status, $Connections keep-alive connections"; Figure = '{0:N0} requests/s, p50 {1:N2} ms, p99 {2:N2} ms' -f $statusRun.perSecond, $statusRun.p50, $statusRun.p99; Ratio = ''; Target = '>= 5,000/s' }
        [pscustomobject]@{ Benchmark = "(e) $KeyCount keys: raw read + destroy"; Figure = '{0:N0} keys/s' -f $takeRawRate; Ratio = ''; Target = '' }
        [pscustomobject]@{ Benchmark = "(e) $KeyCount keys: enc_keys, one per request"; Figure = '{0:N0} keys/s, p50 {1:N2} ms, p99 {2:N2} ms' -f $encRate, $enc1.p50, $enc1.p99; Ratio = '{0:N2}x raw' -f $encRatio; Target = '>= 0.80x' }
        [pscustomobject]@{ Benchmark = '(f) full handshakes, Classical'; Figure = '{0:N0} /s' -f ($classicalTls | Measure-Object handshakesPerSecond -Average).Average; Ratio = ''; Target = '' }
        [pscustomobject]@{ Benchmark = "(f) full handshakes, Hybrid ($($hybridTls[0].group))"; Figure = '{0:N0} /s' -f ($hybridTls | Measure-Object handshakesPerSecond -Average).Average; Ratio = '{0:N2}x classical' -f $handshakeRatio; Target = '>= 0.50x' }
        [pscustomobject]@{ Benchmark = "(f) keep-alive status, Classical, $Connections connections"; Figure = '{0:N0} /s' -f ($classicalTls | Measure-Object requestsPerSecond -Average).Average; Ratio = ''; Target = '' }
        [pscustomobject]@{ Benchmark = "(f) keep-alive status, Hybrid, $Connections connections"; Figure = '{0:N0} /s' -f ($hybridTls | Measure-Object requestsPerSecond -Average).Average; Ratio = '{0:N2}x classical' -f $keepAliveRatio; Target = '>= 0.80x' }
        [pscustomobject]@{ Benchmark = "(g) $KeyCount keys to one remote: raw wrap + unwrap"; Figure = '{0:N0} keys/s' -f $replRawRate; Ratio = ''; Target = '' }
        [pscustomobject]@{ Benchmark = "(g) $KeyCount keys to one remote: New-ReplicatedQuantumKey over SSH"; Figure = '{0:N0} keys/s' -f $replCmdRate; Ratio = '{0:N2}x raw' -f $replRatio; Target = '>= 0.70x' }
        [pscustomobject]@{ Benchmark = "(g) a session's setup alone (SSH, remote PowerShell, QKDLite, key store)"; Figure = '{0:N0} ms' -f $replSetupMs; Ratio = '{0:N2}x ceiling' -f $replCeiling; Target = '' }
    )
    $rows | Format-Table -AutoSize | Out-String -Width 200 | Write-Host
    Write-Host ('create ratio {0:N2} (target 0.90): {1}' -f $createRatio, $(if ($createRatio -ge 0.9) { 'met' } else { 'NOT met' }))
    Write-Host ('move ratio {0:N2} (target 0.80): {1}' -f $xferRatio, $(if ($xferRatio -ge 0.8) { 'met' } else { 'NOT met' }))
    Write-Host ('KME ratio {0:N2} (target 0.80): {1}' -f $kmeRatio, $(if ($kmeRatio -ge 0.8) { 'met' } else { 'NOT met' }))
    Write-Host ('label lookup median {0:N3} ms (target 5): {1}' -f $lookupMedian, $(if ($lookupMedian -lt 5) { 'met' } else { 'NOT met' }))
    Write-Host ('ETSI status {0:N0} requests/s (target 5000): {1}' -f $statusRun.perSecond, $(if ($statusRun.perSecond -ge 5000) { 'met' } else { 'NOT met' }))
    Write-Host ('ETSI enc_keys ratio {0:N2} (target 0.80): {1}' -f $encRatio, $(if ($encRatio -ge 0.8) { 'met' } else { 'NOT met' }))
    Write-Host ('replication ratio {0:N2} (target 0.70): {1}' -f $replRatio, $(if ($replRatio -ge 0.7) { 'met' } else { 'NOT met' }))
    Write-Host ('key count median {0:N3} ms (target 50): {1}' -f (Get-Median $countTimes), $(if ((Get-Median $countTimes) -lt 50) { 'met' } else { 'NOT met' }))
}
finally {
    Remove-Module QKDLite -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $data -ErrorAction SilentlyContinue
}
