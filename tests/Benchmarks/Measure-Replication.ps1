#Requires -Version 7.2
<#
.SYNOPSIS
    Benchmark (g): New-ReplicatedQuantumKey -Count N to one remote over a real loopback sshd with the
    post-quantum key exchange, against the raw Pkcs11Interop wrap + unwrap of N keys into the remote's store.
.DESCRIPTION
    Self-contained: its own data directory on tmpfs with two tokens in one SoftHSM2 store (Main, this
    node's; Remote, the remote node's, reached only through sshd's powershell subsystem with its own
    QKDLITE_HOME) sharing a transport key, and its own sshd. Each replication run opens its session
    (session setup is included). Runs raw, replication, replication, raw, Rounds times, and prints one
    JSON line: count, rawMs, replicationMs (sums), setupMs (a session's setup alone, once per round),
    and the runs. Invoke-Benchmark.ps1 runs it as section (g).
#>
[CmdletBinding()]
param(
    [int] $KeyCount = 1000,
    [int] $Rounds = 1,
    [Parameter(Mandatory)][string] $RawTool
)
$ErrorActionPreference = 'Stop'
$repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
Import-Module (Join-Path $repo 'tests/Pester/SshTestHelper.psm1') -Force
$root = if (Test-Path '/dev/shm') { '/dev/shm' } else { [IO.Path]::GetTempPath() }
$data = Join-Path $root ('qkdlite-bench-repl-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
$remoteHome = Join-Path $data 'remote'
$sshDirectory = Join-Path $data 'ssh'
$null = New-Item -ItemType Directory -Path $remoteHome, $sshDirectory -Force
$env:QKDLITE_HOME = $data
$sshd = $null
try {
    Import-Module (Join-Path $repo 'QKDLite.psd1') -Force
    $null = Initialize-KeyStore -TokenLabel Main -NewPinFile -WarningAction SilentlyContinue
    $null = Initialize-KeyStore -TokenLabel Remote -NewPinFile -WarningAction SilentlyContinue
    $request = New-TransportKeyRequest -TokenLabel Remote
    $sent = Set-TransportKey -TokenLabel Main -EncapsulationKey $request.EncapsulationKey -Confirm:$false
    $null = Set-TransportKey -TokenLabel Remote -Ciphertext $sent.Ciphertext -Confirm:$false
    $config = Get-Content (Join-Path $data 'node.json') -Raw | ConvertFrom-Json
    $library = $config.KeyStore.Library
    $softHsm = $config.KeyStore.SoftHsmConfig
    Connect-KeyStore -Library $library -TokenLabel Main -SoftHsmConfig $softHsm -PinFile (Join-Path $data 'Main.pin')
    # The remote node's configuration: its key store is the Remote token.
    @{ KeyStore = @{ Library = $library; TokenLabel = 'Remote'; SoftHsmConfig = $softHsm; PinFile = (Join-Path $data 'Remote.pin') } } |
        ConvertTo-Json -Depth 4 | Set-Content -LiteralPath (Join-Path $remoteHome 'node.json')
    $env:SOFTHSM2_CONF = $softHsm

    $keys = New-TestSshKeys -Directory $sshDirectory
    $sshd = Start-TestSshd -Directory $sshDirectory -Keys $keys -Name 'bench' -RemoteHome $remoteHome -KexAlgorithms 'sntrup761x25519-sha512@openssh.com'
    $node = @{
        HostName = '127.0.0.1'; Port = $sshd.Port; UserName = [Environment]::UserName; KeyFilePath = $keys.ClientKey
        KnownHostsFile = $sshd.KnownHosts; ModulePath = (Join-Path $repo 'QKDLite.psd1'); ConnectTimeoutSeconds = 30
    }

    function Invoke-Raw([string] $KeyId) {
        $line = & dotnet $RawTool transfer $library Main (Join-Path $data 'Main.pin') $KeyId Remote (Join-Path $data 'Remote.pin')
        if ($LASTEXITCODE -ne 0) { throw "The raw baseline failed (exit $LASTEXITCODE)." }
        $result = $line | ConvertFrom-Json
        if ($result.count -ne $KeyCount) { throw "The raw baseline moved $($result.count) keys, not $KeyCount." }
        $result.ms
    }
    function Measure-Replication([string] $KeyId) {
        $timer = [Diagnostics.Stopwatch]::StartNew()
        $result = New-ReplicatedQuantumKey -KeyId $KeyId -Count $KeyCount -Node $node
        $timer.Stop()
        if ($result.State -ne 'Committed' -or @($result.Labels).Count -ne $KeyCount) { throw "Replication of $KeyId ended $($result.State)." }
        $timer.Elapsed.TotalMilliseconds
    }

    # The session's setup alone, as each replication run pays it: SSH, the remote PowerShell, QKDLite
    # imported there and its key store connected. It bounds what the ratio can reach.
    function Measure-SessionSetup {
        $timer = [Diagnostics.Stopwatch]::StartNew()
        $connection = $node.Clone(); $connection.Remove('ModulePath')
        $session = New-ReplicationSession @connection
        try {
            $null = Invoke-Command -Session $session -ArgumentList $node.ModulePath { param($Module) Import-Module $Module -ErrorAction Stop; $null = QKDLite\Get-KeyCount }
            $timer.Stop()
        }
        finally { Remove-PSSession -Session $session }
        $timer.Elapsed.TotalMilliseconds
    }

    # Untimed: warm this side (JIT, first session) and make the keys the raw runs move.
    $null = Measure-Replication 'Warmup'
    foreach ($round in 1..$Rounds) { foreach ($set in 'Raw1', 'Raw2') { $null = New-QuantumKey -TokenLabel Main -KeyId "$set-$round" -Count $KeyCount } }
    $rawMs = 0.0; $replicationMs = 0.0; $setupMs = 0.0
    $runs = foreach ($round in 1..$Rounds) {
        $raw1 = Invoke-Raw "Raw1-$round"
        $rep1 = Measure-Replication "Repl1-$round"
        $rep2 = Measure-Replication "Repl2-$round"
        $raw2 = Invoke-Raw "Raw2-$round"
        $setup = Measure-SessionSetup
        $setupMs += $setup
        $rawMs += $raw1 + $raw2; $replicationMs += $rep1 + $rep2
        [pscustomobject]@{ raw1 = $raw1; replication1 = $rep1; replication2 = $rep2; raw2 = $raw2; setup = $setup }
    }
    $remoteCount = (Get-KeyCount -TokenLabel Remote -KeyId 'Repl*' | Measure-Object -Property Count -Sum).Sum
    if ($remoteCount -ne 2 * $Rounds * $KeyCount) { throw "The remote holds $remoteCount replicated keys, not $(2 * $Rounds * $KeyCount)." }
    [pscustomobject]@{ count = 2 * $Rounds * $KeyCount; rawMs = $rawMs; replicationMs = $replicationMs; setupMs = $setupMs; runs = @($runs) } | ConvertTo-Json -Compress -Depth 4
}
finally {
    Get-PSSession | Remove-PSSession
    if ($sshd) { Stop-TestSshd $sshd }
    Remove-Module QKDLite -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $data -ErrorAction SilentlyContinue
}
