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

function Get-TestSiteState {
    <#
    What this node and sites B and C show for these labels: check values of visible keys (one entry
    per object), keys held prepared, and with -TransactionId the phase of that transaction in each
    node's own record ('none' when it never heard of it). Without -SessionC (site C down), siteC is empty.
    #>
    param([string[]]$Label, [string]$TransactionId, [Parameter(Mandatory)]$SessionB, $SessionC)
    $stateScript = {
        param($Label, $TransactionId)
        [pscustomobject]@{
            Visible = @($Label | ForEach-Object { @(Get-QuantumKey -Label $_ -ErrorAction SilentlyContinue) } | ForEach-Object CheckValue)
            Held    = [int](@(Get-QuantumKeyTransaction -InDoubt | Where-Object { @($_.Labels | Where-Object { $_ -in $Label }).Count } | Measure-Object -Property HeldKeys -Sum).Sum)
            Phase   = if ($TransactionId) { $info = @(Get-QuantumKeyTransaction -TransactionId $TransactionId -ErrorAction SilentlyContinue); if ($info.Count) { "$($info[0].Phase)" } else { 'none' } } else { $null }
        }
    }
    [pscustomobject]@{
        local = & $stateScript $Label $TransactionId
        siteB = Invoke-Command -Session $SessionB -ScriptBlock $stateScript -ArgumentList $Label, $TransactionId
        siteC = if ($SessionC) { Invoke-Command -Session $SessionC -ScriptBlock $stateScript -ArgumentList $Label, $TransactionId }
    }
}

function Assert-TestAllOrNothing {
    <#
    The invariants on a state from Get-TestSiteState: all or nothing per label with identical material
    (by check value) on every node, one object per label, nothing pending anywhere.
    #>
    param([Parameter(Mandatory)]$State, [string[]]$Label, [bool]$Present, [string[]]$CheckValue, [string]$Because = '')
    foreach ($site in 'local', 'siteB', 'siteC') {
        $visible = @($State.$site.Visible)
        if ($Present) {
            $visible.Count | Should -Be $Label.Count -Because "$site shows each committed key exactly once $Because"
            $visible | Should -Be @($State.local.Visible) -Because "$site holds the same material as this node $Because"
            if ($CheckValue) { $visible | Should -Be $CheckValue -Because $Because }
        }
        else {
            $visible | Should -BeNullOrEmpty -Because "$site shows none of the keys $Because"
        }
        $State.$site.Held | Should -Be 0 -Because "nothing stays pending on $site $Because"
    }
}

function Get-TestReplicationEntry {
    <# This node's latest journal entry of a transaction holding -Label. #>
    param([string]$Label)
    @(Get-QuantumKeyReplication | Where-Object { $_.Labels -contains $Label })[-1]
}

Export-ModuleMember -Function 'Initialize-TestReplicationSites', 'Get-TestSiteState', 'Assert-TestAllOrNothing', 'Get-TestReplicationEntry'
