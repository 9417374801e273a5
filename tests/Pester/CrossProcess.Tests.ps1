#Requires -Version 7.2
# Several processes on one key store (a shell, the ETSI server, replication): each keeps an index of
# the keys in memory, and must still see at once what the others created or destroyed, without
# reconnecting.

Describe 'Key store shared between processes' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        function Get-KeyHash([string]$Label) {
            $material = Get-QuantumKey -Label $Label -IncludeKeyMaterial
            try { [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData($material.Key)) }
            finally { [Array]::Clear($material.Key) }
        }
    }

    AfterAll {
        Remove-TestNode -Path $node
    }

    Context 'another process changes a store this process has warm' {
        BeforeAll {
            $base = @(New-QuantumKey -KeyId 'CROSS' -Count 3)
            # Warm: this process now has an index of the token in memory.
            $null = Get-KeyCount
            $null = Get-QuantumKey -Label $base[0].Label
            $result = Invoke-TestChildProcess -ArgumentList @{ Removed = $base[0].Label; Shared = $base[1].Label } -ScriptBlock {
                param($Removed, $Shared)
                $created = @(New-QuantumKey -KeyId 'CROSS' -Label 'child-1', 'child-2') + @(New-QuantumKey -KeyId 'CHILD' -Label 'child-only')
                Remove-QuantumKey -Label $Removed -Force
                $material = Get-QuantumKey -Label $Shared -IncludeKeyMaterial
                [pscustomobject]@{
                    Created    = @($created | ForEach-Object { [pscustomobject]@{ Label = $_.Label; CheckValue = $_.CheckValue } })
                    SharedHash = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData($material.Key))
                }
            }
            $outcome = $result.Output[0]
        }

        It 'the other process worked' {
            $result.TerminatingError | Should -BeNullOrEmpty
            $result.Errors | Should -BeNullOrEmpty
            $outcome.Created.Label | Should -Be @('child-1', 'child-2', 'child-only')
        }

        It 'counts its keys at once' {
            (Get-KeyCount -KeyId 'CROSS').Count | Should -Be 4
            (Get-KeyCount -KeyId 'CHILD').Count | Should -Be 1
            (Get-KeyStore).KeyCount | Should -Be 5
        }

        It 'finds the keys it created, as it described them' {
            foreach ($created in $outcome.Created) {
                (Get-QuantumKey -Label $created.Label).CheckValue | Should -BeExactly $created.CheckValue
            }
            (Get-QuantumKey -KeyId 'CROSS').Label | Should -Contain 'child-2'
        }

        It 'no longer finds the key it removed' {
            Get-QuantumKey -Label $base[0].Label -ErrorAction SilentlyContinue -ErrorVariable errors | Should -BeNullOrEmpty
            $errors[0].FullyQualifiedErrorId | Should -BeExactly 'KeyNotFound,QKDLite.Commands.GetQuantumKeyCommand'
            (Get-QuantumKey).Label | Should -Not -Contain $base[0].Label
        }

        It 'reads the same key bytes' {
            Get-KeyHash $base[1].Label | Should -BeExactly $outcome.SharedHash
        }

        It 'refuses a label the other process used, and can remove its keys' {
            { New-QuantumKey -KeyId 'CROSS' -Label 'child-1' } | Should -Throw -ErrorId 'DuplicateKeyLabel,QKDLite.Commands.NewQuantumKeyCommand'
            Remove-QuantumKey -Label 'child-only' -Force
            (Get-KeyCount -KeyId 'CHILD').Count | Should -Be 0
        }
    }

    Context 'this process changes a store another process has warm' {
        BeforeAll {
            $before = @(Get-QuantumKey -KeyId 'CROSS')
            $ready = Join-Path $node 'child.ready'
            $go = Join-Path $node 'child.go'
            $child = Start-TestChildProcess -ArgumentList @{ Ready = $ready; Go = $go; Removed = $before[0].Label } -ScriptBlock {
                param($Ready, $Go, $Removed)
                $warm = (Get-KeyCount -KeyId 'CROSS').Count
                $null = Get-QuantumKey -Label $Removed
                Set-Content -LiteralPath $Ready -Value 'ready'
                $deadline = [DateTime]::UtcNow.AddSeconds(60)
                while (-not (Test-Path -LiteralPath $Go)) {
                    if ([DateTime]::UtcNow -gt $deadline) { throw 'The parent never said go.' }
                    Start-Sleep -Milliseconds 50
                }
                $after = (Get-KeyCount -KeyId 'CROSS').Count
                $found = @(Get-QuantumKey -Label 'parent-1', $Removed -ErrorAction SilentlyContinue -ErrorVariable lookupErrors)
                $removeError = try { Remove-QuantumKey -Label 'parent-2' -Force -ErrorAction Stop; '' } catch { $_.FullyQualifiedErrorId }
                [pscustomobject]@{
                    Warm        = $warm
                    After       = $after
                    Found       = @($found.Label)
                    Missing     = @($lookupErrors | ForEach-Object { [string]$_.TargetObject })
                    RemoveError = $removeError
                }
            }
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not (Test-Path -LiteralPath $ready) -and -not $child.Process.HasExited -and [DateTime]::UtcNow -lt $deadline) {
                Start-Sleep -Milliseconds 50
            }
            $parentKeys = @(New-QuantumKey -KeyId 'CROSS' -Label 'parent-1', 'parent-2')
            Remove-QuantumKey -Label $before[0].Label -Force
            Set-Content -LiteralPath $go -Value 'go'
            $result = Wait-TestChildProcess -Child $child -TimeoutSeconds 90
            $outcome = $result.Output[0]
        }

        It 'the other process worked' {
            $result.TerminatingError | Should -BeNullOrEmpty
            $outcome.Warm | Should -Be $before.Count
        }

        It 'counts the keys this process created and removed at once' {
            $outcome.After | Should -Be ($before.Count + 2 - 1)
        }

        It 'finds the new key and no longer finds the removed one' {
            $outcome.Found | Should -Be @('parent-1')
            $outcome.Missing | Should -Be @($before[0].Label)
        }

        It 'can remove a key this process created, and this process sees it gone at once' {
            $outcome.RemoveError | Should -BeNullOrEmpty
            (Get-QuantumKey -KeyId 'CROSS').Label | Should -Not -Contain 'parent-2'
            (Get-KeyCount -KeyId 'CROSS').Count | Should -Be ($before.Count + 2 - 1 - 1)
        }
    }

    # Regression (fixed): StoreGeneration caches the list of change markers the first time it looks
    # (`_markers ??= FindMarkers(session)`), also when the token has none yet. A marker that another
    # process creates later is never looked up again, so this process keeps its stale index for good
    # (and its own next write creates a second marker the other process never reads).
    Context 'another process writes the first keys of a token this process has warm' {
        BeforeAll {
            $null = Initialize-KeyStore -TokenLabel 'Blank' -NewPinFile -WarningAction SilentlyContinue
            # A second store is connected for this session only; make it the node's store so the child uses it too.
            $node = Get-Content (Join-Path $env:QKDLITE_HOME 'node.json') -Raw | ConvertFrom-Json
            Connect-KeyStore -Library $node.KeyStore.Library -TokenLabel 'Blank' -SoftHsmConfig $node.KeyStore.SoftHsmConfig -PinFile (Join-Path $env:QKDLITE_HOME 'Blank.pin') -Save
            $null = Get-KeyCount
            $result = Invoke-TestChildProcess -ScriptBlock {
                (Get-KeyStore).TokenLabel
                $null = New-QuantumKey -KeyId 'FIRST' -Label 'first-1', 'first-2'
            }
        }

        It 'the other process worked on the same token' {
            $result.TerminatingError | Should -BeNullOrEmpty
            $result.Output | Should -Be @('Blank')
        }

        It 'counts its keys at once' {
            (Get-KeyStore).TokenLabel | Should -BeExactly 'Blank'
            (Get-KeyCount -KeyId 'FIRST').Count | Should -Be 2
        }

        It 'refuses a label the other process used' {
            { New-QuantumKey -KeyId 'FIRST' -Label 'first-1' } | Should -Throw -ErrorId 'DuplicateKeyLabel,QKDLite.Commands.NewQuantumKeyCommand'
        }
    }
}
