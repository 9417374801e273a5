#Requires -Version 7.2
# Get-KeyStore: describes the session's store, connecting from node.json when needed, and says
# KeyStoreNotConnected when there is nothing to connect to.

Describe 'Get-KeyStore' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $cmd = 'QKDLite.Commands.GetKeyStoreCommand'
        $created = New-QuantumKey -KeyId 'STORE' -Count 3
    }

    AfterAll {
        Remove-TestNode -Path $node
    }

    It 'describes the connected token: label, serial number, library, configuration and key count' {
        $info = Get-KeyStore
        $info | Should -BeOfType ([QKDLite.Core.KeyStore.KeyStoreInfo])
        $info.TokenLabel | Should -BeExactly 'QKDLite'
        $info.SerialNumber | Should -Not -BeNullOrEmpty
        $info.Manufacturer | Should -Match 'SoftHSM'
        $info.LibraryPath | Should -Exist
        $info.SoftHsmConfig | Should -Be (Join-Path $node 'softhsm2.conf')
        $info.KeyCount | Should -Be 3
    }

    It 'counts the same keys as Get-QuantumKey, and follows creations and removals' {
        (Get-KeyStore).KeyCount | Should -Be @(Get-QuantumKey).Count
        $null = New-QuantumKey -KeyId 'STORE2' -Count 2
        (Get-KeyStore).KeyCount | Should -Be 5
        Remove-QuantumKey -Label $created[0].Label -Force
        (Get-KeyStore).KeyCount | Should -Be 4
        (Get-KeyStore).KeyCount | Should -Be @(Get-QuantumKey).Count
    }

    It 'shows the token label and key count in its default view' {
        $text = Get-KeyStore | Out-String
        $text | Should -Match 'TokenLabel\s*:\s*QKDLite'
        $text | Should -Match 'KeyCount\s*:\s*4'
    }

    It 'reports KeyStoreNotConnected in a fresh process without node.json, or with one that names no store' {
        $empty = New-TestDirectory
        $noStore = New-TestDirectory
        Set-Content -LiteralPath (Join-Path $noStore 'node.json') -Value '{}'
        try {
            $result = Invoke-TestChildProcess -ArgumentList @{ Homes = @($empty, $noStore) } -ScriptBlock {
                param($Homes)
                foreach ($dataHome in $Homes) {
                    $env:QKDLITE_HOME = $dataHome
                    try { $null = Get-KeyStore; [pscustomobject]@{ Id = 'connected'; Category = '' } }
                    catch { [pscustomobject]@{ Id = $_.FullyQualifiedErrorId; Category = [string]$_.CategoryInfo.Category } }
                }
            }
            $result.TerminatingError | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 2
            foreach ($outcome in $result.Output) {
                $outcome.Id | Should -BeExactly "KeyStoreNotConnected,$cmd"
                $outcome.Category | Should -Be 'InvalidOperation'
            }
            Get-ChildItem -LiteralPath $empty -Force | Should -BeNullOrEmpty -Because 'a failed connection creates nothing'
        }
        finally {
            Remove-TestNode -Path $empty
            Remove-TestNode -Path $noStore
        }
    }
}
