# The three sites the replication fault and chain tests share: this node, site B with two nodes
# sharing one key store, and site C with one, each remote node behind its own sshd on loopback
# with the post-quantum key exchange.

Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1')
Import-Module (Join-Path $PSScriptRoot 'SshTestHelper.psm1')

function Initialize-TestReplicationSites {
    <#
    Makes this node's key store (the default, QKDLite, and a second one, Source) and the key stores
    of sites B and C in data directories of their own (by other processes, as on other machines),
    all with one transport key; starts sshd b1 and b2 for site B's two nodes and c for site C.
    Returns what the tests use: Node, HomeB, HomeC, SshDirectory, SshKeys, PqKex, SshB1, SshB2, SshC,
    User, Module and KnownHosts (one known-hosts file for every server; they share the host key).
    #>
    $node = New-TestNode
    $homeB = New-TestDirectory
    $homeC = New-TestDirectory
    $sshDirectory = New-TestDirectory
    $components = @(New-TestKeyComponent -Count 2)
    $null = Set-TransportKey -Component $components.Secure -ComponentCheckValue $components.CheckValue -Confirm:$false
    Initialize-TestKeyStore -TokenLabel 'Source'
    $null = Set-TransportKey -TokenLabel 'Source' -Component $components.Secure -ComponentCheckValue $components.CheckValue -Confirm:$false
    $default = Get-TestKeyStoreConnection -TokenLabel 'QKDLite'
    Connect-KeyStore @default

    $setup = foreach ($remoteHome in $homeB, $homeC) {
        Start-TestChildProcess -Environment @{ QKDLITE_HOME = $remoteHome } -ArgumentList @{ Hex = @($components.Hex); CheckValue = @($components.CheckValue) } -ScriptBlock {
            param($Hex, $CheckValue)
            $null = Initialize-KeyStore -NewPinFile -WarningAction SilentlyContinue -ErrorAction Stop
            $secure = @($Hex | ForEach-Object { ConvertTo-SecureString -String $_ -AsPlainText -Force })
            $null = Set-TransportKey -Component $secure -ComponentCheckValue $CheckValue -Confirm:$false -ErrorAction Stop
        }
    }
    foreach ($child in $setup) {
        $done = Wait-TestChildProcess -Child $child -TimeoutSeconds 120
        if ($done.TerminatingError) { throw "Remote node setup failed: $($done.TerminatingError.Message)" }
    }

    $sshKeys = New-TestSshKeys -Directory $sshDirectory
    $pqKex = 'sntrup761x25519-sha512@openssh.com'
    $sshB1 = Start-TestSshd -Directory $sshDirectory -Keys $sshKeys -Name 'b1' -RemoteHome $homeB -KexAlgorithms $pqKex
    $sshB2 = Start-TestSshd -Directory $sshDirectory -Keys $sshKeys -Name 'b2' -RemoteHome $homeB -KexAlgorithms $pqKex
    $sshC = Start-TestSshd -Directory $sshDirectory -Keys $sshKeys -Name 'c' -RemoteHome $homeC -KexAlgorithms $pqKex
    $knownHosts = Join-Path $sshDirectory 'known_hosts-all'
    Set-Content -LiteralPath $knownHosts -Value (@($sshB1, $sshB2, $sshC) | ForEach-Object { Get-Content -LiteralPath $_.KnownHosts })
    [pscustomobject]@{
        Node = $node; HomeB = $homeB; HomeC = $homeC; SshDirectory = $sshDirectory; SshKeys = $sshKeys; PqKex = $pqKex
        SshB1 = $sshB1; SshB2 = $sshB2; SshC = $sshC; User = [Environment]::UserName; Module = Get-TestModulePath; KnownHosts = $knownHosts
    }
}

Export-ModuleMember -Function 'Initialize-TestReplicationSites'
