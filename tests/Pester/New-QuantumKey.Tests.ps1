#Requires -Version 7.2
# New-QuantumKey: creates keys under a keyID and describes them (never their bytes); a bad request
# is refused with its own error id before anything is created.

Describe 'New-QuantumKey' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $cmd = 'QKDLite.Commands.NewQuantumKeyCommand'
        $uuid = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
        $existing = New-QuantumKey -KeyId 'EXISTING' -Label 'existing-label'
    }

    AfterAll {
        Remove-TestNode -Path $node
    }

    Context 'creating keys' {
        It '-Count creates that many keys with new UUID labels and describes each' {
            $before = [DateTimeOffset]::UtcNow.AddSeconds(-5)
            $keys = @(New-QuantumKey -KeyId 'VPN' -Count 3)
            $keys.Count | Should -Be 3
            foreach ($key in $keys) {
                $key | Should -BeOfType ([QKDLite.Core.Keys.QuantumKeyInfo])
                $key.Label | Should -MatchExactly $uuid
                $key.KeyId | Should -BeExactly 'VPN'
                $key.SizeBits | Should -Be 256
                $key.Source | Should -Be 'Classical'
                $key.State | Should -Be 'Active'
                $key.CheckValue | Should -MatchExactly '^[0-9A-F]{6}$'
                $key.TokenLabel | Should -BeExactly 'QKDLite'
                $key.Created | Should -BeGreaterThan $before
                $key.Created | Should -BeLessThan ([DateTimeOffset]::UtcNow.AddSeconds(5))
            }
            @($keys.Label | Select-Object -Unique).Count | Should -Be 3
            (Get-KeyCount -KeyId 'VPN').Count | Should -Be 3
        }

        It 'creates one key by default' {
            @(New-QuantumKey -KeyId 'DEFAULT').Count | Should -Be 1
            (Get-KeyCount -KeyId 'DEFAULT').Count | Should -Be 1
        }

        It '-Label gives the keys those labels, one key per label' {
            $keys = @(New-QuantumKey -KeyId 'LABELLED' -Label 'site-a/1', 'site-a/2')
            $keys.Label | Should -Be @('site-a/1', 'site-a/2')
            (Get-QuantumKey -Label 'site-a/2').KeyId | Should -BeExactly 'LABELLED'
            (Get-KeyCount -KeyId 'LABELLED').Count | Should -Be 2
        }

        It 'takes the keyID from the pipeline by property name' {
            $key = [pscustomobject]@{ KeyId = 'PIPED' } | New-QuantumKey
            $key.KeyId | Should -BeExactly 'PIPED'
            (Get-KeyCount -KeyId 'PIPED').Count | Should -Be 1
        }

        # 72 and 200 bits are not whole 64-bit blocks: the key wrap SoftHSM2 pads them.
        It 'stores a <SizeBits>-bit key whose bytes and check value match' -TestCases @(
            @{ SizeBits = 128 }, @{ SizeBits = 192 }, @{ SizeBits = 256 }
            @{ SizeBits = 64 }, @{ SizeBits = 1024 }, @{ SizeBits = 8192 }
        ) {
            $key = New-QuantumKey -KeyId "SIZE$SizeBits" -Size $SizeBits
            $key.SizeBits | Should -Be $SizeBits
            $stored = Get-QuantumKey -Label $key.Label
            $stored.SizeBits | Should -Be $SizeBits
            $stored.CheckValue | Should -BeExactly $key.CheckValue -Because 'the token computes the same check value'
            $material = Get-QuantumKey -Label $key.Label -IncludeKeyMaterial
            $material.Key.Length | Should -Be ($SizeBits / 8)
            Get-TestCheckValue -Key $material.Key -SizeBits $SizeBits | Should -BeExactly $key.CheckValue
        }

        # Regression (fixed): SoftHSM2 zero-pads the key to a multiple of 8 bytes before CKM_AES_KEY_WRAP_PAD
        # and Pkcs11KeyStore.ReadKeyMaterial returns the unwrapped bytes without cutting them back to
        # the key's length, so a 72-bit key comes out as 16 bytes.
        It 'returns exactly the bytes of a <SizeBits>-bit key (not a multiple of 64 bits)' -TestCases @(
            @{ SizeBits = 72 }, @{ SizeBits = 200 }
        ) {
            $key = New-QuantumKey -KeyId "SIZE$SizeBits" -Size $SizeBits
            $material = Get-QuantumKey -Label $key.Label -IncludeKeyMaterial
            $material.Key.Length | Should -Be ($SizeBits / 8)
            Get-TestCheckValue -Key $material.Key -SizeBits $SizeBits | Should -BeExactly $key.CheckValue
        }

        It 'makes different keys from different random bytes' {
            $keys = @(New-QuantumKey -KeyId 'DISTINCT' -Count 2)
            $a = (Get-QuantumKey -Label $keys[0].Label -IncludeKeyMaterial).Key
            $b = (Get-QuantumKey -Label $keys[1].Label -IncludeKeyMaterial).Key
            [Convert]::ToHexString($a) | Should -Not -Be ([Convert]::ToHexString($b))
        }

        It '-WhatIf creates nothing and returns nothing' {
            $state = Get-TestStoreState
            New-QuantumKey -KeyId 'WHATIF' -Count 2 -WhatIf | Should -BeNullOrEmpty
            New-QuantumKey -KeyId 'WHATIF' -Label 'whatif-label' -WhatIf | Should -BeNullOrEmpty
            Get-TestStoreState | Should -BeExactly $state
            (Get-KeyCount -KeyId 'WHATIF').Count | Should -Be 0
        }

        It 'pipes into Remove-QuantumKey -Force' {
            $state = Get-TestStoreState
            New-QuantumKey -KeyId 'TRANSIENT' -Count 2 | Remove-QuantumKey -Force
            (Get-KeyCount -KeyId 'TRANSIENT').Count | Should -Be 0
            Get-TestStoreState | Should -BeExactly $state
        }
    }

    Context 'bad requests change nothing' {
        BeforeEach {
            $state = Get-TestStoreState
        }

        AfterEach {
            Get-TestStoreState | Should -BeExactly $state
        }

        It 'rejects <Name> with <Id> (<Category>)' -TestCases @(
            @{ Name = 'size 255'; Parameters = @{ KeyId = 'BAD'; Size = 255 }; Id = 'KeySizeNotMultipleOf8'; Category = 'InvalidArgument'; Target = 255 }
            @{ Name = 'size 56'; Parameters = @{ KeyId = 'BAD'; Size = 56 }; Id = 'KeySizeOutOfRange'; Category = 'InvalidArgument'; Target = 56 }
            @{ Name = 'size 8200'; Parameters = @{ KeyId = 'BAD'; Size = 8200 }; Id = 'KeySizeOutOfRange'; Category = 'InvalidArgument'; Target = 8200 }
            @{ Name = 'size 0'; Parameters = @{ KeyId = 'BAD'; Size = 0 }; Id = 'KeySizeOutOfRange'; Category = 'InvalidArgument'; Target = 0 }
            @{ Name = 'count 0'; Parameters = @{ KeyId = 'BAD'; Count = 0 }; Id = 'KeyCountOutOfRange'; Category = 'InvalidArgument'; Target = 0 }
            @{ Name = 'count -1'; Parameters = @{ KeyId = 'BAD'; Count = -1 }; Id = 'KeyCountOutOfRange'; Category = 'InvalidArgument'; Target = -1 }
            @{ Name = 'count 100001'; Parameters = @{ KeyId = 'BAD'; Count = 100001 }; Id = 'KeyCountOutOfRange'; Category = 'InvalidArgument'; Target = 100001 }
            @{ Name = "keyID 'bad id!'"; Parameters = @{ KeyId = 'bad id!' }; Id = 'KeyIdInvalid'; Category = 'InvalidArgument'; Target = 'bad id!' }
            @{ Name = "keyID '-lead'"; Parameters = @{ KeyId = '-lead' }; Id = 'KeyIdInvalid'; Category = 'InvalidArgument'; Target = '-lead' }
            @{ Name = 'a 65-character keyID'; Parameters = @{ KeyId = 'K' * 65 }; Id = 'KeyIdInvalid'; Category = 'InvalidArgument'; Target = 'K' * 65 }
            @{ Name = 'an existing label'; Parameters = @{ KeyId = 'DUP'; Label = 'fresh-label-1', 'existing-label' }; Id = 'DuplicateKeyLabel'; Category = 'ResourceExists'; Target = 'existing-label' }
            @{ Name = 'a label twice'; Parameters = @{ KeyId = 'DUP'; Label = 'twice', 'twice' }; Id = 'DuplicateKeyLabel'; Category = 'ResourceExists'; Target = 'twice' }
            @{ Name = 'more labels than keys'; Parameters = @{ KeyId = 'DUP'; Label = 'l1', 'l2'; Count = 3 }; Id = 'KeyLabelCountMismatch'; Category = 'InvalidArgument'; Target = 2 }
            @{ Name = 'an empty label'; Parameters = @{ KeyId = 'DUP'; Label = @('') }; Id = 'KeyLabelInvalid'; Category = 'InvalidArgument'; Target = '' }
            @{ Name = 'a label with a leading space'; Parameters = @{ KeyId = 'DUP'; Label = @(' padded') }; Id = 'KeyLabelInvalid'; Category = 'InvalidArgument'; Target = ' padded' }
            @{ Name = 'the Qrng source'; Parameters = @{ KeyId = 'QRNG'; Source = 'Qrng' }; Id = 'KeySourceNotAvailable'; Category = 'InvalidArgument'; Target = 'Qrng' }
            @{ Name = 'the Kme source'; Parameters = @{ KeyId = 'KME'; Source = 'Kme' }; Id = 'KeySourceNotAvailable'; Category = 'InvalidArgument'; Target = 'Kme' }
        ) {
            $err = { New-QuantumKey @Parameters } | Should -Throw -ErrorId "$Id,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be $Category
            "$($err.TargetObject)" | Should -BeExactly "$Target"
        }

        It 'rejects an empty keyID at parameter binding' {
            { New-QuantumKey -KeyId '' } | Should -Throw -ErrorId "ParameterArgumentValidationErrorEmptyStringNotAllowed,$cmd"
        }

        It 'creates none of the keys of a request with a duplicate label' {
            { New-QuantumKey -KeyId 'PARTIAL' -Label 'partial-1', 'partial-2', 'existing-label' } |
                Should -Throw -ErrorId "DuplicateKeyLabel,$cmd"
            (Get-KeyCount -KeyId 'PARTIAL').Count | Should -Be 0
            Get-QuantumKey -Label 'partial-1' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            (Get-QuantumKey -Label 'existing-label').CheckValue | Should -BeExactly $existing.CheckValue
        }
    }

    It 'offers existing keyIDs for -KeyId completion' {
        Get-TestCompletion 'New-QuantumKey -KeyId LAB' | Should -Be @('LABELLED')
    }
}
