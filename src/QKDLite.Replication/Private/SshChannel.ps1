# The SSH side of the channel: which client, which key exchanges, and why a connection was refused.

# The post-quantum hybrid key exchanges we accept, best first. OpenSSH 9.9 added mlkem768x25519-sha256;
# older clients know only sntrup761x25519-sha512 (under two names since 9.9).
$script:PostQuantumKex = @(
    'mlkem768x25519-sha256'
    'sntrup761x25519-sha512'
    'sntrup761x25519-sha512@openssh.com'
)

function Get-SshClient {
    param([Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet)
    $ssh = Get-Command -Name 'ssh' -CommandType Application -ErrorAction Ignore | Select-Object -First 1
    if (-not $ssh) {
        $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'SshClientNotFound' -Category NotInstalled `
                    -Message 'The OpenSSH client (ssh) was not found. Install it (Debian: apt-get install openssh-client) and make sure it is on PATH.'))
    }
    $ssh.Source
}

function Get-PostQuantumKexList {
    # Only algorithms this ssh client knows may be offered: an unknown name makes ssh refuse to start.
    param([Parameter(Mandatory)][string]$Ssh, [Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet)
    $known = @(& $Ssh -Q kex 2>$null)
    $offered = @($script:PostQuantumKex | Where-Object { $known -contains $_ })
    if ($offered.Count -eq 0) {
        $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'SshClientNotPostQuantum' -Category NotInstalled `
                    -Message "This node's OpenSSH client offers no post-quantum key exchange (it knows: $($known -join ', ')). OpenSSH 9.0 or later is needed."))
    }
    $offered -join ','
}

function Get-NodeName {
    param([string]$HostName, [int]$Port, [string]$UserName)
    $user = if ($UserName) { "$UserName@" } else { '' }
    "$user${HostName}:$Port"
}

function Resolve-KnownHostsFile {
    param([string]$KnownHostsFile)
    if ($KnownHostsFile) { return $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($KnownHostsFile) }
    Join-Path ([Environment]::GetFolderPath('UserProfile')) '.ssh/known_hosts'
}

function Start-KexProbe {
    <#
    .SYNOPSIS
        Starts one `ssh -v` connection, offering only post-quantum key exchanges and checking the host
        key; Complete-KexProbe returns the negotiated key exchange or an error that names the cause.
    .DESCRIPTION
        PowerShell's SSH transport reports every refusal as "The SSH transport process has abruptly
        terminated"; ssh's own debug output says why, so the channel asks ssh too. The probe runs while
        the session itself is opened (that session offers the same key exchanges and checks the same
        host key, so it is never weaker than the probe), which saves a connection's time.
    #>
    param(
        [Parameter(Mandatory)][string]$Ssh,
        [Parameter(Mandatory)][string]$Kex,
        [Parameter(Mandatory)][string]$HostName,
        [int]$Port,
        [string]$UserName,
        [string]$KeyFilePath,
        [Parameter(Mandatory)][string]$KnownHostsFile,
        [int]$ConnectTimeoutSeconds
    )
    $arguments = @('-v', '-T',
        '-o', 'BatchMode=yes',
        '-o', 'StrictHostKeyChecking=yes',
        '-o', "UserKnownHostsFile=$KnownHostsFile",
        '-o', 'GlobalKnownHostsFile=/dev/null',
        '-o', "KexAlgorithms=$Kex",
        '-o', "ConnectTimeout=$ConnectTimeoutSeconds",
        '-p', "$Port")
    if ($KeyFilePath) { $arguments += @('-o', 'IdentitiesOnly=yes', '-i', $KeyFilePath) }
    if ($UserName) { $arguments += @('-l', $UserName) }
    $arguments += @($HostName, 'exit')
    $start = [System.Diagnostics.ProcessStartInfo]::new($Ssh)
    foreach ($argument in $arguments) { $start.ArgumentList.Add($argument) }
    $start.UseShellExecute = $false
    $start.RedirectStandardInput = $true
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $process = [System.Diagnostics.Process]::Start($start)
    $process.StandardInput.Close()
    [pscustomobject]@{
        Process = $process; Output = $process.StandardOutput.ReadToEndAsync(); Errors = $process.StandardError.ReadToEndAsync()
        Node = (Get-NodeName -HostName $HostName -Port $Port -UserName $UserName)
        Kex = $Kex; HostName = $HostName; Port = $Port; UserName = $UserName; KeyFilePath = $KeyFilePath; KnownHostsFile = $KnownHostsFile
    }
}

function Stop-KexProbe {
    <# Ends the probe's ssh if it still runs (the command was stopped), and frees it. #>
    param([Parameter(Mandatory)]$Probe)
    try { if (-not $Probe.Process.HasExited) { $Probe.Process.Kill() } } catch [System.InvalidOperationException] { }
    $Probe.Process.Dispose()
}

function Complete-KexProbe {
    <# Waits for the probe; returns the negotiated post-quantum key exchange, or throws the refusal with its cause. #>
    param(
        [Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Cmdlet,
        [Parameter(Mandatory)]$Probe
    )
    # Short waits rather than one blocking wait, so that Ctrl+C still stops the command.
    while (-not $Probe.Process.WaitForExit(200)) { }
    $Probe.Process.WaitForExit()
    $log = @(($Probe.Errors.GetAwaiter().GetResult() + $Probe.Output.GetAwaiter().GetResult()) -split "`r?`n" | Where-Object { $_ })
    $exit = $Probe.Process.ExitCode
    $node = $Probe.Node; $Kex = $Probe.Kex; $HostName = $Probe.HostName; $Port = $Probe.Port
    $UserName = $Probe.UserName; $KeyFilePath = $Probe.KeyFilePath; $KnownHostsFile = $Probe.KnownHostsFile
    $text = $log -join "`n"
    $negotiated = $null
    foreach ($line in $log) {
        if ($line -match 'kex: algorithm: (\S+)') { $negotiated = $Matches[1] }
    }
    if ($exit -eq 0 -and $negotiated -and ($script:PostQuantumKex -contains $negotiated)) { return $negotiated }

    $id = 'ReplicationConnectionFailed'; $category = 'ConnectionError'
    $why = ($log | Where-Object { $_ -notmatch '^debug\d?:' -and $_.Trim() } | Select-Object -Last 3) -join ' '
    if ($text -match 'no matching key exchange method found(?:\. Their offer: (\S+))?') {
        $theirs = if ($Matches[1]) { $Matches[1] } else { 'none of ours' }
        $id = 'ReplicationKeyExchangeNotPostQuantum'; $category = 'SecurityError'
        $message = "Node $node cannot negotiate a post-quantum key exchange, so replication refuses it. It offers: $theirs; this node requires one of: $Kex. Enable sntrup761x25519-sha512@openssh.com or mlkem768x25519-sha256 in the node's sshd KexAlgorithms (OpenSSH 9.0 or later)."
    }
    elseif ($text -match 'REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed') {
        $id = 'ReplicationHostKeyChanged'; $category = 'SecurityError'
        $message = "Node $node presented a host key that differs from the one recorded in '$KnownHostsFile'. Replication refuses it: the node may be impersonated. If the node's key was really replaced, check the new key's fingerprint out of band and update the known-hosts file."
    }
    elseif ($text -match 'No \S+ host key is known|Host key verification failed') {
        $id = 'ReplicationHostKeyUnknown'; $category = 'SecurityError'
        $message = "Node $node's host key is not in '$KnownHostsFile'. Add it after checking its fingerprint out of band (for example: ssh-keyscan -p $Port $HostName, then compare with ssh-keygen -lf on the node)."
    }
    elseif ($text -match 'Connection refused|Connection timed out|timed out|No route to host|Could not resolve hostname|Network is unreachable') {
        $id = 'ReplicationNodeUnreachable'; $category = 'ConnectionError'
        $message = "Node $node is not reachable over SSH: $why"
    }
    elseif ($text -match 'Permission denied') {
        $id = 'ReplicationAuthenticationFailed'; $category = 'AuthenticationError'
        $message = "Node $node refused the SSH login of user '$UserName' with key '$KeyFilePath': $why"
    }
    elseif ($negotiated) {
        $id = 'ReplicationKeyExchangeNotPostQuantum'; $category = 'SecurityError'
        $message = "Node $node negotiated the key exchange '$negotiated', which is not post-quantum. Replication refuses it."
    }
    else {
        $message = "Could not open an SSH connection to node ${node} (ssh exit code $exit): $why"
    }
    $Cmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId $id -Category $category -Message $message -Target $node))
}
