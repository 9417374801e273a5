#Requires -Version 7.2
# Export-QuantumKey: turns keys (piped key objects, labels, or every key of a keyID) into key blocks,
# one line of text each (QKDLKB1.header.wrapped.mac), wrapped under the store's transport key.
# A key that cannot be exported gives a non-terminating error and the others are still exported;
# exporting changes nothing in the store. The block format itself is covered by the xunit tests.

Describe 'Export-QuantumKey' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $cmd = 'QKDLite.Commands.ExportQuantumKeyCommand'
        Initialize-TestKeyStore -TokenLabel 'NoTk'
        Initialize-TestKeyStore -TokenLabel 'NodeA'
        Initialize-TestKeyStore -TokenLabel 'NodeB'
        $components = @(New-TestKeyComponent -Count 2)
        foreach ($token in 'NodeA', 'NodeB') {
            $tk = Set-TransportKey -TokenLabel $token -Component $components.Secure -ComponentCheckValue $components.CheckValue -Confirm:$false
        }
        $created = @(New-QuantumKey -TokenLabel 'NodeA' -KeyId 'EXP' -Count 3)
        $null = New-QuantumKey -TokenLabel 'NodeA' -KeyId 'OTHER' -Label 'other-1'

        function Assert-KeyBlock($Block, $Key) {
            $Block | Should -BeOfType ([QKDLite.Core.KeyBlocks.KeyBlock])
            $Block.Text | Should -MatchExactly '^QKDLKB1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$'
            $Block.Text | Should -Not -Match '[\r\n\s]'
            "$Block" | Should -BeExactly $Block.Text
            $Block.Label | Should -BeExactly $Key.Label
            $Block.KeyId | Should -BeExactly $Key.KeyId
            $Block.SizeBits | Should -Be $Key.SizeBits
            $Block.Source | Should -Be $Key.Source
            $Block.CheckValue | Should -BeExactly $Key.CheckValue
            $Block.Created.UtcTicks | Should -Be $Key.Created.UtcTicks
            $Block.TransportKeyCheckValue | Should -BeExactly $tk.CheckValue
        }
    }

    AfterAll {
        Remove-TestNode -Path $node
    }

    Context 'key blocks' {
        BeforeEach {
            $state = Get-TestTokenState -TokenLabel 'NodeA'
        }

        AfterEach {
            Get-TestTokenState -TokenLabel 'NodeA' | Should -BeExactly $state -Because 'exporting changes nothing'
        }

        It 'exports keys piped from New-QuantumKey, one block per key' {
            $new = @(New-QuantumKey -TokenLabel 'NodeA' -KeyId 'PIPED' -Count 2)
            $state = Get-TestTokenState -TokenLabel 'NodeA'
            $blocks = @($new | Export-QuantumKey -TokenLabel 'NodeA')
            $blocks.Count | Should -Be 2
            for ($i = 0; $i -lt 2; $i++) { Assert-KeyBlock $blocks[$i] $new[$i] }
        }

        It 'exports keys piped from Get-QuantumKey' {
            $blocks = @(Get-QuantumKey -TokenLabel 'NodeA' -KeyId 'EXP' | Export-QuantumKey -TokenLabel 'NodeA')
            $blocks.Label | Should -Be @($created.Label)
            for ($i = 0; $i -lt 3; $i++) { Assert-KeyBlock $blocks[$i] $created[$i] }
        }

        It 'exports by -Label (also positional and by property name)' {
            @(Export-QuantumKey -TokenLabel 'NodeA' -Label $created[1].Label, 'other-1').Label | Should -Be @($created[1].Label, 'other-1')
            (Export-QuantumKey $created[2].Label -TokenLabel 'NodeA').Label | Should -BeExactly $created[2].Label
            ([pscustomobject]@{ Label = $created[0].Label } | Export-QuantumKey -TokenLabel 'NodeA').Label | Should -BeExactly $created[0].Label
        }

        It 'exports every key of a keyID with -KeyId, and only those' {
            $blocks = @(Export-QuantumKey -TokenLabel 'NodeA' -KeyId 'EXP')
            $blocks.Label | Should -Be @($created.Label)
            $blocks.KeyId | Select-Object -Unique | Should -Be @('EXP')
        }

        # Regression (fixed): keyIDs are matched case-insensitively everywhere else (Get-QuantumKey -KeyId,
        # Get-KeyCount, and Export-QuantumKey's own filter uses OrdinalIgnoreCase), but
        # ExportQuantumKeyCommand.ProcessRecord first calls store.List(KeyId), and KeyIndex.List
        # (src/QKDLite.Core/KeyStore/KeyIndex.cs) compares keyIDs with StringComparison.Ordinal. So
        # `Export-QuantumKey -KeyId exp` silently exports nothing while Get-KeyCount -KeyId exp counts 3.
        It 'matches -KeyId as the other cmdlets do, without regard to case' {
            (Get-KeyCount -TokenLabel 'NodeA' -KeyId 'exp').Count | Should -Be 3
            @(Get-QuantumKey -TokenLabel 'NodeA' -KeyId 'exp').Count | Should -Be 3
            @(Export-QuantumKey -TokenLabel 'NodeA' -KeyId 'exp').Label | Should -Be @($created.Label)
        }

        It 'exports the default store without -TokenLabel' {
            # NodeB was connected last: it is the default, and holds none of these keys.
            $created[0] | Export-QuantumKey -ErrorAction SilentlyContinue -ErrorVariable exportErrors | Should -BeNullOrEmpty
            $exportErrors[0].FullyQualifiedErrorId | Should -BeExactly "KeyFromAnotherStore,$cmd"
            $key = New-QuantumKey -TokenLabel 'NodeB' -KeyId 'DEFAULT'
            (Export-QuantumKey -Label $key.Label).Label | Should -BeExactly $key.Label
        }

        It 'writes one block per line with Set-Content (ToString is the text)' {
            $file = Join-Path $node 'export.keyblocks'
            $blocks = @(Export-QuantumKey -TokenLabel 'NodeA' -KeyId 'EXP')
            $blocks | Set-Content -LiteralPath $file
            $lines = @(Get-Content -LiteralPath $file)
            $lines.Count | Should -Be 3
            $lines | Should -Be @($blocks.Text)
            (Get-Content -Raw -LiteralPath $file).TrimEnd() -split "`n" | Should -HaveCount 3
        }

        It 'carries no key bytes in clear' {
            $blocks = @(Export-QuantumKey -TokenLabel 'NodeA' -KeyId 'EXP')
            foreach ($block in $blocks) {
                $material = Get-QuantumKey -TokenLabel 'NodeA' -Label $block.Label -IncludeKeyMaterial
                $base64 = [Convert]::ToBase64String($material.Key)
                $secrets = @(Get-TestKeyRepresentation -Key $material.Key) + @($base64.TrimEnd('=').Replace('+', '-').Replace('/', '_'))
                $rendered = ($block | Format-List * | Out-String) + ($block | Out-String)
                Find-TestSecret -Text $block.Text -Secret $secrets | Should -BeNullOrEmpty -Because 'a key block carries no key bytes in clear'
                Find-TestSecret -Text $rendered -Secret $secrets | Should -BeNullOrEmpty -Because 'no view of a key block shows key bytes'
            }
        }

        It 'shows label, keyID, size and both check values in its default view' {
            $text = Export-QuantumKey -TokenLabel 'NodeA' -Label 'other-1' | Out-String
            $text | Should -Match ('other-1\s+OTHER\s+256\s+[0-9A-F]{6}\s+' + $tk.CheckValue)
        }

        It 'exports a <SizeBits>-bit key' -TestCases @(
            @{ SizeBits = 64 }, @{ SizeBits = 128 }, @{ SizeBits = 192 }, @{ SizeBits = 1024 }
        ) {
            $key = New-QuantumKey -TokenLabel 'NodeA' -KeyId "SIZE$SizeBits" -Size $SizeBits
            $state = Get-TestTokenState -TokenLabel 'NodeA'
            $block = $key | Export-QuantumKey -TokenLabel 'NodeA'
            Assert-KeyBlock $block $key
        }
    }

    Context 'keys that cannot be exported' {
        BeforeEach {
            $states = @{ NodeA = Get-TestTokenState -TokenLabel 'NodeA'; NodeB = Get-TestTokenState -TokenLabel 'NodeB'; NoTk = Get-TestTokenState -TokenLabel 'NoTk' }
        }

        AfterEach {
            foreach ($token in $states.Keys) { Get-TestTokenState -TokenLabel $token | Should -BeExactly $states[$token] }
        }

        # Nothing of a store without a transport key can be exported: one terminating error, not one per key.
        It 'refuses a store without a transport key once (TransportKeyNotSet, terminating)' {
            $keys = @(New-QuantumKey -TokenLabel 'NoTk' -KeyId 'NOTK' -Count 2)
            $states.NoTk = Get-TestTokenState -TokenLabel 'NoTk'
            $blocks = [System.Collections.Generic.List[object]]::new()
            $err = { $keys | Export-QuantumKey -TokenLabel 'NoTk' -ErrorAction SilentlyContinue -ErrorVariable exportErrors | ForEach-Object { $blocks.Add($_) } } |
                Should -Throw -ErrorId "TransportKeyNotSet,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'InvalidOperation'
            $err.TargetObject | Should -BeExactly 'NoTk'
            $err.Exception.Message | Should -BeLike '*Set-TransportKey*'
            $blocks.Count | Should -Be 0
            @($exportErrors).Count | Should -Be 1
            { Export-QuantumKey -TokenLabel 'NoTk' -KeyId 'NOTK' } | Should -Throw -ErrorId "TransportKeyNotSet,$cmd"
            { Export-QuantumKey -TokenLabel 'NoTk' -Label $keys[0].Label } | Should -Throw -ErrorId "TransportKeyNotSet,$cmd"
        }

        It 'reports an unknown label (KeyNotFound, non-terminating) and exports the others' {
            $blocks = @(Export-QuantumKey -TokenLabel 'NodeA' -Label $created[0].Label, 'no-such-key', $created[1].Label -ErrorAction SilentlyContinue -ErrorVariable exportErrors)
            $blocks.Label | Should -Be @($created[0].Label, $created[1].Label)
            $exportErrors.Count | Should -Be 1
            $exportErrors[0].FullyQualifiedErrorId | Should -BeExactly "KeyNotFound,$cmd"
            $exportErrors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $exportErrors[0].TargetObject | Should -BeExactly 'no-such-key'
        }

        It 'writes blocks and errors in the order of the keys given, also while the next key is being wrapped' {
            $k = $created[2]
            $foreign = [QKDLite.Core.Keys.QuantumKeyInfo]::new($k.Label, $k.KeyId, $k.SizeBits, $k.Source, $k.Created, $k.State, $k.CheckValue, 'NodeB')
            $given = @($created[0], $foreign, $created[1])
            $stream = @($given | Export-QuantumKey -TokenLabel 'NodeA' -ErrorAction Continue 2>&1)
            $stream.Count | Should -Be 3
            $stream[0].Label | Should -BeExactly $created[0].Label
            $stream[1].FullyQualifiedErrorId | Should -BeExactly "KeyFromAnotherStore,$cmd"
            $stream[2].Label | Should -BeExactly $created[1].Label
            $stream = @(Export-QuantumKey -TokenLabel 'NodeA' -Label $created[0].Label, 'no-such-key', $created[1].Label -ErrorAction Continue 2>&1)
            $stream[0].Label | Should -BeExactly $created[0].Label
            $stream[1].FullyQualifiedErrorId | Should -BeExactly "KeyNotFound,$cmd"
            $stream[2].Label | Should -BeExactly $created[1].Label
        }

        It 'refuses a key object listed from another store (KeyFromAnotherStore), also when that store has the same transport key' {
            $blocks = $created | Export-QuantumKey -TokenLabel 'NodeB' -ErrorAction SilentlyContinue -ErrorVariable exportErrors
            $blocks | Should -BeNullOrEmpty
            $exportErrors.Count | Should -Be 3
            $exportErrors[0].FullyQualifiedErrorId | Should -BeExactly "KeyFromAnotherStore,$cmd"
            $exportErrors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $exportErrors[0].TargetObject | Should -BeExactly $created[0].Label
            $exportErrors[0].Exception.Message | Should -BeLike "*-TokenLabel 'NodeA'*"
        }

        # SoftHSM2 2.6 wraps a key that is not a whole number of 64-bit blocks as if zero-padded, which
        # is not RFC 5649: such a block would not import correctly on another HSM.
        It 'refuses a <SizeBits>-bit key (KeySizeNotExportable) and exports the others' -TestCases @(
            @{ SizeBits = 72 }, @{ SizeBits = 200 }
        ) {
            $odd = New-QuantumKey -TokenLabel 'NodeA' -KeyId 'ODD' -Size $SizeBits
            $states.NodeA = Get-TestTokenState -TokenLabel 'NodeA'
            $blocks = @($created[0], $odd, $created[1] | Export-QuantumKey -TokenLabel 'NodeA' -ErrorAction SilentlyContinue -ErrorVariable exportErrors)
            $blocks.Label | Should -Be @($created[0].Label, $created[1].Label)
            $exportErrors.Count | Should -Be 1
            $exportErrors[0].FullyQualifiedErrorId | Should -BeExactly "KeySizeNotExportable,$cmd"
            $exportErrors[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
            $exportErrors[0].TargetObject | Should -BeExactly $odd.Label
        }

        It 'stops at the first failure with -ErrorAction Stop' {
            { Export-QuantumKey -TokenLabel 'NodeA' -Label 'no-such-key' -ErrorAction Stop } | Should -Throw -ErrorId "KeyNotFound,$cmd"
        }

        It 'refuses a store that is not connected (KeyStoreNotConnected)' {
            { Export-QuantumKey -TokenLabel 'NoSuchStore' -Label 'x' } | Should -Throw -ErrorId "KeyStoreNotConnected,$cmd"
        }

        It 'rejects an empty label at parameter binding' {
            { Export-QuantumKey -TokenLabel 'NodeA' -Label '' } | Should -Throw -ErrorId "ParameterArgumentValidationError,$cmd"
        }
    }
}
