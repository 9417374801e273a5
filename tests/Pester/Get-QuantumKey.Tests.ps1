#Requires -Version 7.2
# Get-QuantumKey: lists keys by keyID or label, from parameters or the pipeline; shows metadata only,
# and key bytes only with -IncludeKeyMaterial, never in a view.

Describe 'Get-QuantumKey' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $cmd = 'QKDLite.Commands.GetQuantumKeyCommand'
        $vpn = @(New-QuantumKey -KeyId 'VPN' -Count 3)
        $vpnB = @(New-QuantumKey -KeyId 'VPN-B' -Count 2)
        $other = @(New-QuantumKey -KeyId 'OTHER' -Label 'other-1')
        $all = $vpn + $vpnB + $other
    }

    AfterAll {
        Remove-TestNode -Path $node
    }

    Context 'listing and selecting' {
        It 'lists every key, as QuantumKeyInfo' {
            $keys = @(Get-QuantumKey)
            $keys.Count | Should -Be 6
            $keys | ForEach-Object { $_ | Should -BeOfType ([QKDLite.Core.Keys.QuantumKeyInfo]) }
            ($keys.Label | Sort-Object) | Should -Be ($all.Label | Sort-Object)
        }

        It 'describes each key as New-QuantumKey did' {
            foreach ($created in $all) {
                $listed = Get-QuantumKey -Label $created.Label
                $listed.KeyId | Should -BeExactly $created.KeyId
                $listed.SizeBits | Should -Be $created.SizeBits
                $listed.CheckValue | Should -BeExactly $created.CheckValue
                $listed.Created | Should -Be $created.Created
                $listed.Source | Should -Be 'Classical'
            }
        }

        It '-KeyId selects one keyID' {
            $keys = @(Get-QuantumKey -KeyId 'VPN')
            ($keys.Label | Sort-Object) | Should -Be ($vpn.Label | Sort-Object)
        }

        It '-KeyId takes wildcards and several values' {
            @(Get-QuantumKey -KeyId 'VPN*').Count | Should -Be 5
            @(Get-QuantumKey -KeyId 'VPN-?').Count | Should -Be 2
            @(Get-QuantumKey -KeyId 'VPN-B', 'OTHER').Count | Should -Be 3
            Get-QuantumKey -KeyId 'NOMATCH*' | Should -BeNullOrEmpty
        }

        It '-KeyId matches without regard to case, as Get-KeyCount counts' {
            $lower = New-QuantumKey -KeyId 'vpn'
            try {
                $keys = @(Get-QuantumKey -KeyId 'vpn')
                ($keys.Label | Sort-Object) | Should -Be (@($vpn.Label) + $lower.Label | Sort-Object)
                $keys.Count | Should -Be ((Get-KeyCount -KeyId 'vpn' | Measure-Object -Property Count -Sum).Sum)
            }
            finally { Remove-QuantumKey -Label $lower.Label -Force }
        }

        It '-Label gets those keys, in the order asked' {
            $keys = @(Get-QuantumKey -Label $vpn[2].Label, 'other-1')
            $keys.Label | Should -Be @($vpn[2].Label, 'other-1')
        }

        It 'takes labels from the pipeline as strings' {
            $keys = @($vpnB[1].Label, $vpn[0].Label | Get-QuantumKey)
            $keys.Label | Should -Be @($vpnB[1].Label, $vpn[0].Label)
        }

        It 'takes labels from the pipeline by property name (<Property>)' -TestCases @(
            @{ Property = 'key_ID' }, @{ Property = 'Label' }, @{ Property = 'KeyLabel' }
        ) {
            $keys = @([pscustomobject]@{ $Property = $vpn[1].Label }, [pscustomobject]@{ $Property = 'other-1' } | Get-QuantumKey)
            $keys.Label | Should -Be @($vpn[1].Label, 'other-1')
        }

        It 'takes QuantumKeyInfo objects from the pipeline' {
            $keys = @($vpnB | Get-QuantumKey)
            $keys.Label | Should -Be $vpnB.Label
        }

        It 'reports an unknown label as a non-terminating KeyNotFound and still returns the others' {
            $keys = @(Get-QuantumKey -Label $vpn[0].Label, 'no-such-label', 'other-1' -ErrorVariable errors -ErrorAction SilentlyContinue)
            $keys.Label | Should -Be @($vpn[0].Label, 'other-1')
            $errors.Count | Should -Be 1
            $errors[0].FullyQualifiedErrorId | Should -BeExactly "KeyNotFound,$cmd"
            $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $errors[0].TargetObject | Should -BeExactly 'no-such-label'
        }

        It 'reports unknown labels from the pipeline one by one' {
            $keys = @('missing-1', $vpn[1].Label, 'missing-2' | Get-QuantumKey -ErrorVariable errors -ErrorAction SilentlyContinue)
            $keys.Label | Should -Be @($vpn[1].Label)
            $errors.TargetObject | Should -Be @('missing-1', 'missing-2')
        }
    }

    Context 'key material' {
        BeforeAll {
            $material = @(Get-QuantumKey -KeyId 'VPN' -IncludeKeyMaterial)
            $representations = @($material | ForEach-Object { Get-TestKeyRepresentation -Key $_.Key })
        }

        It '-IncludeKeyMaterial returns QuantumKeyMaterial with SizeBits/8 bytes whose check value matches' {
            $material.Count | Should -Be 3
            foreach ($item in $material) {
                $item | Should -BeOfType ([QKDLite.Output.QuantumKeyMaterial])
                $item.Key.Length | Should -Be ($item.SizeBits / 8)
                Get-TestCheckValue -Key $item.Key -SizeBits $item.SizeBits | Should -BeExactly $item.CheckValue
                $item.CheckValue | Should -BeExactly ($vpn | Where-Object Label -EQ $item.Label).CheckValue
            }
        }

        It 'returns the same bytes each time, and with -Label' {
            $again = Get-QuantumKey -Label $material[0].Label -IncludeKeyMaterial
            [Convert]::ToHexString($again.Key) | Should -BeExactly ([Convert]::ToHexString($material[0].Key))
        }

        It 'never shows key bytes in the default output of Get-QuantumKey' {
            $text = (Get-QuantumKey | Out-String) + (Get-QuantumKey | Format-List * | Out-String) + (Get-QuantumKey | ForEach-Object ToString)
            $text | Should -Match ([regex]::Escape($vpn[0].Label)) -Because 'the keys were shown'
            foreach ($representation in $representations) {
                $text.Contains($representation) | Should -BeFalse -Because "'$representation' is key material"
            }
        }

        It 'never shows key bytes in the <View> of QuantumKeyMaterial' -TestCases @(
            @{ View = 'default view'; Render = { param($m) $m | Out-String } }
            @{ View = 'table view'; Render = { param($m) $m | Format-Table | Out-String } }
            @{ View = 'list view'; Render = { param($m) $m | Format-List | Out-String } }
            @{ View = 'ToString()'; Render = { param($m) ($m | ForEach-Object ToString) -join "`n" } }
        ) {
            $text = & $Render $material
            $text | Should -Match ([regex]::Escape($material[0].Label)) -Because 'the keys were shown'
            foreach ($representation in $representations) {
                $text.Contains($representation) | Should -BeFalse -Because "'$representation' is key material"
            }
        }

        It 'reports an unknown label with -IncludeKeyMaterial as KeyNotFound and still returns the others' {
            $items = @(Get-QuantumKey -Label 'no-such-label', 'other-1' -IncludeKeyMaterial -ErrorVariable errors -ErrorAction SilentlyContinue)
            $items.Label | Should -Be @('other-1')
            $items[0].Key.Length | Should -Be 32
            $errors[0].FullyQualifiedErrorId | Should -BeExactly "KeyNotFound,$cmd"
        }
    }

    Context 'tab completion' {
        It 'offers the keyIDs that start with what was typed' {
            Get-TestCompletion 'Get-QuantumKey -KeyId VP' | Should -Be @('VPN', 'VPN-B')
            Get-TestCompletion 'Get-QuantumKey -KeyId oth' | Should -Be @('OTHER')
        }

        It 'offers the labels that start with what was typed' {
            $prefix = $vpnB[0].Label.Substring(0, 8)
            Get-TestCompletion "Get-QuantumKey -Label $prefix" | Should -Contain $vpnB[0].Label
            Get-TestCompletion 'Get-QuantumKey -Label other-' | Should -Be @('other-1')
        }

        It 'quotes a label the shell would split' {
            $spaced = New-QuantumKey -KeyId 'SPACED' -Label "it's spaced"
            try {
                Get-TestCompletion 'Get-QuantumKey -Label it' | Should -Be @("'it''s spaced'")
            }
            finally { $spaced | Remove-QuantumKey -Force }
        }
    }
}
