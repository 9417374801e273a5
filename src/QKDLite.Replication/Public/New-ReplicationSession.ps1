function New-ReplicationSession {
    <#
    .SYNOPSIS
        Opens a PowerShell remoting session to another QKDLite node over SSH with a post-quantum key exchange.

    .DESCRIPTION
        New-ReplicationSession opens a PSSession over SSH (PowerShell 7 on both nodes, the node's sshd
        running the powershell subsystem) in which the key exchange is restricted to the post-quantum
        hybrids mlkem768x25519-sha256 and sntrup761x25519-sha512 (whichever this node's OpenSSH client
        knows), and the node's host key must be in the known-hosts file (StrictHostKeyChecking=yes).

        While the session is opened, ssh connects once more with debug output to learn the negotiated key
        exchange and, on failure, the cause, because PowerShell reports any SSH failure only as "the SSH
        transport process has abruptly terminated". A refusal is a terminating error with one of these ids:
        ReplicationKeyExchangeNotPostQuantum (the node offers no post-quantum key exchange),
        ReplicationHostKeyChanged, ReplicationHostKeyUnknown, ReplicationNodeUnreachable,
        ReplicationAuthenticationFailed, ReplicationConnectionFailed, ReplicationSessionFailed (SSH
        worked but the powershell subsystem did not start), SshClientNotFound, SshClientNotPostQuantum,
        ReplicationNeedsPowerShell7.

        The session carries a NoteProperty KeyExchange with the negotiated algorithm. Close it with
        Remove-PSSession.

    .PARAMETER HostName
        Name or address of the node.

    .PARAMETER Port
        SSH port of the node. Default 22.

    .PARAMETER UserName
        User to log in as on the node. Default: the SSH client's default (the current user).

    .PARAMETER KeyFilePath
        Private key file for the SSH login. Default: the SSH client's default identities.

    .PARAMETER KnownHostsFile
        Known-hosts file holding the node's host key. Default: ~/.ssh/known_hosts. A node whose key is
        missing or different is refused.

    .PARAMETER ConnectTimeoutSeconds
        How long to wait for the node to answer. Default 15.

    .EXAMPLE
        $session = New-ReplicationSession -HostName node-b.example.net -UserName qkdlite -KeyFilePath ~/.ssh/qkdlite_ed25519
        Invoke-Command -Session $session { Get-KeyCount }

        Opens a post-quantum SSH session to node B and counts its keys there.

    .EXAMPLE
        try { $s = New-ReplicationSession -HostName legacy-node } catch { $_.FullyQualifiedErrorId }

        Against a node whose sshd offers only classical key exchanges this returns
        ReplicationKeyExchangeNotPostQuantum, and no session is opened.

    .OUTPUTS
        System.Management.Automation.Runspaces.PSSession
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.Runspaces.PSSession])]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)][ValidateNotNullOrEmpty()][string]$HostName,
        [Parameter(ValueFromPipelineByPropertyName)][ValidateRange(1, 65535)][int]$Port = 22,
        [Parameter(ValueFromPipelineByPropertyName)][string]$UserName,
        [Parameter(ValueFromPipelineByPropertyName)][string]$KeyFilePath,
        [Parameter(ValueFromPipelineByPropertyName)][string]$KnownHostsFile,
        [ValidateRange(1, 600)][int]$ConnectTimeoutSeconds = 15
    )
    process {
        Assert-ReplicationHost -Cmdlet $PSCmdlet
        $ssh = Get-SshClient -Cmdlet $PSCmdlet
        $kex = Get-PostQuantumKexList -Ssh $ssh -Cmdlet $PSCmdlet
        $knownHosts = Resolve-KnownHostsFile -KnownHostsFile $KnownHostsFile
        $key = if ($KeyFilePath) { $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($KeyFilePath) } else { $null }
        $probe = Start-KexProbe -Ssh $ssh -Kex $kex -HostName $HostName -Port $Port -UserName $UserName `
            -KeyFilePath $key -KnownHostsFile $knownHosts -ConnectTimeoutSeconds $ConnectTimeoutSeconds
        $parameters = @{
            HostName          = $HostName
            Port              = $Port
            ConnectingTimeout = $ConnectTimeoutSeconds * 1000
            ErrorAction       = 'Stop'
            # The same restrictions as the probe: without them ssh could fall back to a classical exchange.
            Options           = @{
                KexAlgorithms         = $kex
                StrictHostKeyChecking = 'yes'
                UserKnownHostsFile    = $knownHosts
                GlobalKnownHostsFile  = '/dev/null'
                BatchMode             = 'yes'
                # The probe reports why a connection fails; the session's own ssh would print it to the console.
                LogLevel              = 'QUIET'
            }
        }
        if ($UserName) { $parameters.UserName = $UserName }
        if ($key) { $parameters.KeyFilePath = $key }
        $session = $null
        $sessionError = $null
        try {
            try { $session = New-PSSession @parameters }
            catch { $sessionError = $_ }
            # The probe's verdict first: when the node is refused, its cause is what the administrator needs.
            try { $negotiated = Complete-KexProbe -Cmdlet $PSCmdlet -Probe $probe }
            catch {
                if ($session) { Remove-PSSession -Session $session -ErrorAction Ignore }
                throw
            }
        }
        finally { Stop-KexProbe -Probe $probe }
        Write-Verbose "Node $(Get-NodeName $HostName $Port $UserName): key exchange $negotiated, host key verified."
        if ($sessionError) {
            $PSCmdlet.ThrowTerminatingError((New-ReplicationError -ErrorId 'ReplicationSessionFailed' -Category ConnectionError `
                        -Message "SSH to node $(Get-NodeName $HostName $Port $UserName) works (key exchange $negotiated), but no PowerShell session could be opened: $($sessionError.Exception.Message) Check that the node's sshd has 'Subsystem powershell <pwsh> -sshs -NoLogo -NoProfile'." `
                        -Target $HostName -InnerException $sessionError.Exception))
        }
        $session | Add-Member -NotePropertyName KeyExchange -NotePropertyValue $negotiated -PassThru
    }
}
