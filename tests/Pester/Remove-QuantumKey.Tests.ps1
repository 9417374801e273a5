#Requires -Version 7.2
# Remove-QuantumKey: destroys keys by label or from the pipeline, asks first unless -Force, honours
# -WhatIf even with -Force, and reports unknown labels per item without stopping the pipeline.

Describe 'Remove-QuantumKey' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $cmd = 'QKDLite.Commands.RemoveQuantumKeyCommand'
        $bystander = @(New-QuantumKey -KeyId 'BYSTANDER' -Count 2)
        $script:group = 0
        # Every test gets its own keyID, so what one test removes cannot hide another's mistake.
        function New-Group([int]$Count = 3) {
            $script:group++
            $keyId = "RM$script:group"
            [pscustomobject]@{ KeyId = $keyId; Keys = @(New-QuantumKey -KeyId $keyId -Count $Count) }
        }
        function Get-Remaining([string]$KeyId) { @(Get-QuantumKey -KeyId $KeyId | ForEach-Object Label | Sort-Object) }
        # The description of a key with the same label, as listed from another node's token.
        function New-ForeignKey($Key) {
            [QKDLite.Core.Keys.QuantumKeyInfo]::new($Key.Label, $Key.KeyId, $Key.SizeBits, $Key.Source, $Key.Created, $Key.State, $Key.CheckValue, 'OtherNode')
        }
    }

    AfterEach {
        # No test may touch keys outside its own keyID.
        Get-Remaining 'BYSTANDER' | Should -Be @($bystander.Label | Sort-Object)
    }

    AfterAll {
        Remove-TestNode -Path $node
    }

    Context 'removing' {
        It '-Label removes exactly that key' {
            $g = New-Group
            Remove-QuantumKey -Label $g.Keys[1].Label -Force | Should -BeNullOrEmpty
            Get-Remaining $g.KeyId | Should -Be @($g.Keys[0].Label, $g.Keys[2].Label | Sort-Object)
            Get-QuantumKey -Label $g.Keys[1].Label -ErrorAction SilentlyContinue -ErrorVariable errors | Should -BeNullOrEmpty
            $errors[0].FullyQualifiedErrorId | Should -BeExactly 'KeyNotFound,QKDLite.Commands.GetQuantumKeyCommand'
        }

        It 'removes the QuantumKeyInfo objects piped from Get-QuantumKey' {
            $g = New-Group
            Get-QuantumKey -KeyId $g.KeyId | Remove-QuantumKey -Force
            Get-Remaining $g.KeyId | Should -BeNullOrEmpty
            (Get-KeyCount -KeyId $g.KeyId).Count | Should -Be 0
        }

        It 'removes labels piped as strings' {
            $g = New-Group
            $g.Keys[0].Label, $g.Keys[2].Label | Remove-QuantumKey -Force
            Get-Remaining $g.KeyId | Should -Be @($g.Keys[1].Label)
        }

        It 'removes labels piped by property name (key_ID)' {
            $g = New-Group -Count 2
            [pscustomobject]@{ key_ID = $g.Keys[0].Label } | Remove-QuantumKey -Force
            Get-Remaining $g.KeyId | Should -Be @($g.Keys[1].Label)
        }

        It 'removes only the first two when the pipeline is cut with Select-Object -First 2' {
            $g = New-Group -Count 4
            $first = @(Get-QuantumKey -KeyId $g.KeyId | Select-Object -First 2)
            Get-QuantumKey -KeyId $g.KeyId | Select-Object -First 2 | Remove-QuantumKey -Force
            $remaining = Get-Remaining $g.KeyId
            $remaining.Count | Should -Be 2
            $remaining | Should -Not -Contain $first[0].Label
            $remaining | Should -Not -Contain $first[1].Label
        }

        It '-PassThru returns the description of each removed key' {
            $g = New-Group -Count 2
            $removed = @($g.Keys | Remove-QuantumKey -Force -PassThru)
            $removed.Count | Should -Be 2
            $removed | ForEach-Object { $_ | Should -BeOfType ([QKDLite.Core.Keys.QuantumKeyInfo]) }
            $removed.Label | Should -Be $g.Keys.Label
            $removed.CheckValue | Should -Be $g.Keys.CheckValue
            Get-Remaining $g.KeyId | Should -BeNullOrEmpty
        }

        It '-Confirm:$false removes without -Force' {
            $g = New-Group -Count 1
            Remove-QuantumKey -Label $g.Keys[0].Label -Confirm:$false
            Get-Remaining $g.KeyId | Should -BeNullOrEmpty
        }
    }

    Context 'unknown labels' {
        It 'reports an unknown label as a non-terminating KeyNotFound and still removes the others' {
            $g = New-Group
            $g.Keys[0].Label, 'no-such-label', $g.Keys[1].Label |
                Remove-QuantumKey -Force -ErrorVariable errors -ErrorAction SilentlyContinue
            Get-Remaining $g.KeyId | Should -Be @($g.Keys[2].Label)
            $errors.Count | Should -Be 1
            $errors[0].FullyQualifiedErrorId | Should -BeExactly "KeyNotFound,$cmd"
            $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $errors[0].TargetObject | Should -BeExactly 'no-such-label'
        }

        It 'reports a key removed twice in one call as KeyNotFound the second time, with no -PassThru output for it' {
            $g = New-Group -Count 1
            $removed = @(Remove-QuantumKey -Label $g.Keys[0].Label, $g.Keys[0].Label -Force -PassThru -ErrorVariable errors -ErrorAction SilentlyContinue)
            $removed.Label | Should -Be @($g.Keys[0].Label)
            $errors.Count | Should -Be 1
            $errors[0].FullyQualifiedErrorId | Should -BeExactly "KeyNotFound,$cmd"
        }
    }

    Context 'removing nothing' {
        It '-WhatIf removes nothing' {
            $g = New-Group -Count 2
            Remove-QuantumKey -Label $g.Keys[0].Label -WhatIf | Should -BeNullOrEmpty
            $g.Keys | Remove-QuantumKey -WhatIf
            Get-Remaining $g.KeyId | Should -Be @($g.Keys.Label | Sort-Object)
        }

        It '-Force -WhatIf removes nothing' {
            $g = New-Group -Count 2
            Remove-QuantumKey -Label $g.Keys[0].Label -Force -WhatIf -PassThru | Should -BeNullOrEmpty
            Get-QuantumKey -KeyId $g.KeyId | Remove-QuantumKey -Force -WhatIf
            Get-Remaining $g.KeyId | Should -Be @($g.Keys.Label | Sort-Object)
        }

        It 'refuses a key from another key store given to -InputObject with KeyFromAnotherStore, and goes on with the next' {
            $g = New-Group -Count 2
            # The same label on another node's token, as replication makes it.
            $foreign = New-ForeignKey $g.Keys[0]
            $removed = @(Remove-QuantumKey -InputObject $foreign, $g.Keys[1] -Force -PassThru -ErrorVariable errors -ErrorAction SilentlyContinue)
            $removed.Label | Should -Be @($g.Keys[1].Label)
            $errors.Count | Should -Be 1
            $errors[0].FullyQualifiedErrorId | Should -BeExactly "KeyFromAnotherStore,$cmd"
            $errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $errors[0].TargetObject | Should -BeExactly $g.Keys[0].Label
            Get-Remaining $g.KeyId | Should -Be @($g.Keys[0].Label)
        }

        # Regression (fixed): a piped QuantumKeyInfo binds to -Label by property name (Label is the default
        # parameter set), never to -InputObject, so the KeyFromAnotherStore check is skipped and
        # `Get-QuantumKey (other node) | Remove-QuantumKey` destroys this store's copy.
        It 'refuses a key from another key store piped in with KeyFromAnotherStore' {
            $g = New-Group -Count 2
            $removed = @(New-ForeignKey $g.Keys[0] | Remove-QuantumKey -Force -PassThru -ErrorVariable errors -ErrorAction SilentlyContinue)
            Get-Remaining $g.KeyId | Should -Be @($g.Keys.Label | Sort-Object)
            $removed | Should -BeNullOrEmpty
            $errors[0].FullyQualifiedErrorId | Should -BeExactly "KeyFromAnotherStore,$cmd"
        }

        It '$WhatIfPreference with -Force removes nothing' {
            $g = New-Group -Count 1
            & {
                $WhatIfPreference = $true
                Remove-QuantumKey -Label $g.Keys[0].Label -Force
            }
            Get-Remaining $g.KeyId | Should -Be @($g.Keys[0].Label)
        }
    }

    Context 'in a fresh, non-interactive process' {
        BeforeAll {
            $kept = New-Group -Count 2
            $gone = New-Group -Count 2
            Remove-QuantumKey -Label $gone.Keys[0].Label -Force
            $child = Invoke-TestChildProcess -ArgumentList @{ Kept = $kept.Keys[0].Label; Gone = $gone.Keys[0].Label; GoneKeyId = $gone.KeyId } -ScriptBlock {
                param($Kept, $Gone, $GoneKeyId)
                $ConfirmPreference = 'High'
                $removeError = try { Remove-QuantumKey -Label $Kept; 'no error' } catch { $_.FullyQualifiedErrorId }
                $lookup = @(Get-QuantumKey -Label $Gone -ErrorAction SilentlyContinue -ErrorVariable lookupErrors)
                [pscustomobject]@{
                    RemoveWithoutForce = $removeError
                    GoneFound          = $lookup.Count
                    GoneError          = [string]$lookupErrors[0].FullyQualifiedErrorId
                    GoneKeyIdCount     = (Get-KeyCount -KeyId $GoneKeyId).Count
                }
            }
            $outcome = $child.Output[0]
        }

        It 'asks for confirmation without -Force: it fails there, and removes nothing' {
            $child.TerminatingError | Should -BeNullOrEmpty
            $outcome.RemoveWithoutForce | Should -Not -Be 'no error'
            $outcome.RemoveWithoutForce | Should -BeLike "*,$cmd"
            Get-Remaining $kept.KeyId | Should -Be @($kept.Keys.Label | Sort-Object)
        }

        It 'does not find a removed key' {
            $outcome.GoneFound | Should -Be 0
            $outcome.GoneError | Should -BeExactly 'KeyNotFound,QKDLite.Commands.GetQuantumKeyCommand'
            $outcome.GoneKeyIdCount | Should -Be 1
        }
    }

    It 'offers labels for -Label completion' {
        $g = New-Group -Count 1
        $label = $g.Keys[0].Label
        Get-TestCompletion "Remove-QuantumKey -Label $($label.Substring(0, 8))" | Should -Contain $label
        Get-TestCompletion "Remove-QuantumKey -Label $($label.Substring(0, 8))" | Should -Not -Contain $bystander[0].Label
    }
}
