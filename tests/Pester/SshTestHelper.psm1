#Requires -Version 7.2
<#
.SYNOPSIS
    Private OpenSSH servers on 127.0.0.1 for the replication channel tests.

.DESCRIPTION
    New-TestSshKeys makes a host key and a client key (ed25519, no passphrase) in a test directory.
    Start-TestSshd starts sshd on a free loopback port with a given KexAlgorithms list, key-only
    login for the current user, and a powershell subsystem that runs this PowerShell with
    $env:QKDLITE_HOME set to the remote node's data directory (sshd starts subsystems with a clean
    environment and needs a real executable: a small sh script that execs dotnet pwsh.dll).
    Stop-TestSshd stops it by the PID in its pid file. New-TestKnownHosts names the host key for any port. The server logs at DEBUG1, so tests can read
    the key exchange it negotiated or refused.
#>

Set-StrictMode -Version Latest

function Invoke-TestNative {
    param([Parameter(Mandatory)][string]$FilePath, [string[]]$ArgumentList)
    $output = & $FilePath @ArgumentList 2>&1
    if ($LASTEXITCODE -ne 0) { throw "$FilePath $($ArgumentList -join ' ') failed with exit code ${LASTEXITCODE}: $($output -join "`n")" }
}

function New-TestSshKeys {
    <# .SYNOPSIS Host key and client key in -Directory; returns their paths and the authorized_keys file. #>
    param([Parameter(Mandatory)][string]$Directory)
    $sshKeygen = (Get-Command ssh-keygen -CommandType Application -ErrorAction Stop | Select-Object -First 1).Source
    foreach ($name in 'host_key', 'other_host_key', 'client_key') {
        Invoke-TestNative $sshKeygen @('-q', '-t', 'ed25519', '-N', '', '-C', "qkdlite-test-$name", '-f', (Join-Path $Directory $name))
    }
    $authorized = Join-Path $Directory 'authorized_keys'
    Copy-Item -LiteralPath (Join-Path $Directory 'client_key.pub') -Destination $authorized
    [pscustomobject]@{
        HostKey        = Join-Path $Directory 'host_key'
        OtherHostKey   = Join-Path $Directory 'other_host_key'
        ClientKey      = Join-Path $Directory 'client_key'
        AuthorizedKeys = $authorized
    }
}

function Get-TestFreePort {
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

function Start-TestSshd {
    <#
    .SYNOPSIS
        Starts sshd on 127.0.0.1 offering only -KexAlgorithms; returns Port, ProcessId, LogPath,
        PidFile and KnownHosts (a known-hosts file naming this server's host key).
    #>
    param(
        [Parameter(Mandatory)][string]$Directory,
        [Parameter(Mandatory)]$Keys,
        [Parameter(Mandatory)][string]$KexAlgorithms,
        [Parameter(Mandatory)][string]$RemoteHome,
        [Parameter(Mandatory)][string]$Name,
        # A given port (for a node that comes back where it was); a free one by default.
        [int]$Port
    )
    $sshd = '/usr/sbin/sshd'
    if (-not (Test-Path -LiteralPath $sshd)) { throw 'sshd is not installed: run ./build.ps1 Bootstrap (apt-get install openssh-server).' }
    # Privilege separation needs this directory; apt's openssh-server does not create it without a service start.
    $null = New-Item -ItemType Directory -Force -Path '/run/sshd' -ErrorAction SilentlyContinue

    $dotnet = (Get-Command dotnet -CommandType Application -ErrorAction Stop | Select-Object -First 1).Source
    $pwshDll = Join-Path $PSHOME 'pwsh.dll'
    $subsystem = Join-Path $Directory "pwsh-subsystem-$Name.sh"
    Set-Content -LiteralPath $subsystem -Encoding ascii -Value @(
        '#!/bin/sh'
        "export QKDLITE_HOME='$RemoteHome'"
        'export NO_COLOR=1'
        "exec '$dotnet' '$pwshDll' `"`$@`""
    )
    Invoke-TestNative 'chmod' @('700', $subsystem)

    $port = if ($Port) { $Port } else { Get-TestFreePort }
    $config = Join-Path $Directory "sshd-$Name.conf"
    $pidFile = Join-Path $Directory "sshd-$Name.pid"
    $log = Join-Path $Directory "sshd-$Name.log"
    Set-Content -LiteralPath $config -Encoding ascii -Value @(
        "Port $port"
        'ListenAddress 127.0.0.1'
        "HostKey $($Keys.HostKey)"
        "PidFile $pidFile"
        "AuthorizedKeysFile $($Keys.AuthorizedKeys)"
        # The keys live under /dev/shm, which is world-writable: StrictModes would refuse them.
        'StrictModes no'
        'UsePAM no'
        'PasswordAuthentication no'
        'KbdInteractiveAuthentication no'
        'PubkeyAuthentication yes'
        'PermitRootLogin prohibit-password'
        "KexAlgorithms $KexAlgorithms"
        "Subsystem powershell $subsystem -sshs -NoLogo -NoProfile"
        'LogLevel DEBUG1'
        # Tests open many sessions at once (children killed mid-transaction): sshd's default of 10
        # unauthenticated connections would drop some at random on a busy machine.
        'MaxStartups 100'
    )
    Invoke-TestNative $sshd @('-t', '-f', $config)
    Invoke-TestNative $sshd @('-f', $config, '-E', $log)
    $deadline = [DateTime]::UtcNow.AddSeconds(20)
    while (-not (Test-Path -LiteralPath $pidFile) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
    if (-not (Test-Path -LiteralPath $pidFile)) { throw "sshd ($Name) wrote no pid file: $(Get-Content -Raw -LiteralPath $log -ErrorAction Ignore)" }
    $processId = [int](Get-Content -LiteralPath $pidFile -TotalCount 1)

    $knownHosts = New-TestKnownHosts -Path (Join-Path $Directory "known_hosts-$Name") -Keys $Keys -Port $port
    [pscustomobject]@{ Name = $Name; Port = $port; ProcessId = $processId; PidFile = $pidFile; LogPath = $log; KnownHosts = $knownHosts; Config = $config }
}

function New-TestKnownHosts {
    <# .SYNOPSIS A known-hosts file naming the test host key for 127.0.0.1 at -Port; returns its path. #>
    param([Parameter(Mandatory)][string]$Path, [Parameter(Mandatory)]$Keys, [Parameter(Mandatory)][int]$Port)
    $hostKey = (Get-Content -LiteralPath "$($Keys.HostKey).pub" -TotalCount 1).Split(' ')
    Set-Content -LiteralPath $Path -Encoding ascii -Value "[127.0.0.1]:$Port $($hostKey[0]) $($hostKey[1])"
    $Path
}

function Get-TestFreePortNumber {
    <# .SYNOPSIS A loopback port that nothing listens on right now. #>
    Get-TestFreePort
}

function Stop-TestSshd {
    <# .SYNOPSIS Stops an sshd started by Start-TestSshd (the listener whose PID it recorded). #>
    param($Server)
    if (-not $Server) { return }
    $process = Get-Process -Id $Server.ProcessId -ErrorAction Ignore
    # Only our listener: sshd renames its process title, so it is recognised by its configuration file.
    if ($process -and $process.CommandLine -like "*$($Server.Config)*") {
        $process.Kill()
        $null = $process.WaitForExit(10000)
    }
}

Export-ModuleMember -Function 'New-TestSshKeys', 'Start-TestSshd', 'Stop-TestSshd', 'New-TestKnownHosts', 'Get-TestFreePortNumber'
