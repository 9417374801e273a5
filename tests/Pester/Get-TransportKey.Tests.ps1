#Requires -Version 7.2
# Get-TransportKey: describes the transport key of the default or a named store (label, check value,
# origin, creation time), never its bytes; a store without one gives a non-terminating error.

Describe 'Get-TransportKey' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $cmd = 'QKDLite.Commands.GetTransportKeyCommand'
        Initialize-TestKeyStore -TokenLabel 'NodeA'
        Initialize-TestKeyStore -TokenLabel 'NodeB'
        $components = @(New-TestKeyComponent -Count 2)
        $transportKey = Get-TestXor -Component $components
        $expected = Get-TestCheckValue -Key $transportKey -SizeBits 256
        $set = Set-TransportKey -TokenLabel 'NodeA' -Component $components.Secure -ComponentCheckValue $components.CheckValue -Confirm:$false
    }

    AfterAll {
        Remove-TestNode -Path $node
    }

    Context 'a store without a transport key' {
        It 'writes a non-terminating TransportKeyNotSet error and nothing else' {
            $output = Get-TransportKey -TokenLabel 'NodeB' -ErrorAction SilentlyContinue -ErrorVariable tkErrors
            $output | Should -BeNullOrEmpty
            $tkErrors.Count | Should -Be 1
            $tkErrors[0].FullyQualifiedErrorId | Should -BeExactly "TransportKeyNotSet,$cmd"
            $tkErrors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $tkErrors[0].TargetObject | Should -BeExactly 'NodeB'
            $tkErrors[0].Exception.Message | Should -BeLike '*Set-TransportKey*'
        }

        It 'lets the script go on (the error is not terminating)' {
            $after = & {
                Get-TransportKey -TokenLabel 'NodeB' -ErrorAction SilentlyContinue
                'went on'
            }
            $after | Should -Be @('went on')
        }

        It 'throws with -ErrorAction Stop' {
            { Get-TransportKey -TokenLabel 'NodeB' -ErrorAction Stop } | Should -Throw -ErrorId "TransportKeyNotSet,$cmd"
        }
    }

    Context 'a store with a transport key' {
        It 'describes it: label, check value, origin, store, creation time' {
            $info = Get-TransportKey -TokenLabel 'NodeA'
            $info | Should -BeOfType ([QKDLite.Core.TransportKeys.TransportKeyInfo])
            $info.Label | Should -BeExactly 'QKDLite transport key'
            $info.CheckValue | Should -BeExactly $expected
            $info.Origin | Should -Be 'Components'
            $info.TokenLabel | Should -BeExactly 'NodeA'
            $info.Created | Should -Be $set.Created
            $info.Ciphertext | Should -BeNullOrEmpty
        }

        It 'works on the default store without -TokenLabel' {
            # NodeB was connected last, so it is the default.
            (Get-KeyStore).TokenLabel | Should -BeExactly 'NodeB'
            Get-TransportKey -ErrorAction SilentlyContinue -ErrorVariable tkErrors | Should -BeNullOrEmpty
            $tkErrors[0].TargetObject | Should -BeExactly 'NodeB'
        }

        It 'carries no key bytes: only descriptive properties' {
            $info = Get-TransportKey -TokenLabel 'NodeA'
            @($info.PSObject.Properties.Name | Sort-Object) | Should -Be @('CheckValue', 'Ciphertext', 'Created', 'Label', 'Origin', 'TokenLabel')
            foreach ($property in $info.PSObject.Properties) {
                $property.Value | Should -Not -BeOfType ([byte[]])
            }
        }

        It 'shows no key bytes in any rendering' {
            $info = Get-TransportKey -TokenLabel 'NodeA'
            $renderings = @(
                $info | Out-String
                $info | Format-List * | Out-String
                $info | Format-Table * | Out-String
                $info | ConvertTo-Json
                $info | ConvertTo-Csv
                "$info"
                [System.Management.Automation.PSSerializer]::Serialize($info)
            ) -join "`n"
            $secrets = @(Get-TestKeyRepresentation -Key $transportKey) + @($components | ForEach-Object { Get-TestKeyRepresentation -Key $_.Bytes })
            Find-TestSecret -Text $renderings -Secret $secrets | Should -BeNullOrEmpty -Because 'no rendering may show the transport key or a component'
        }

        It 'shows the check value in its default view' {
            $text = Get-TransportKey -TokenLabel 'NodeA' | Out-String
            $text | Should -Match "CheckValue\s*:\s*$expected"
            $text | Should -Match 'Origin\s*:\s*Components'
            $text | Should -Match 'TokenLabel\s*:\s*NodeA'
            $text | Should -Not -Match 'Ciphertext'
        }

        It 'is shown the same in a fresh process' {
            $result = Invoke-TestChildProcess -ArgumentList @{ Connection = (Get-TestKeyStoreConnection -TokenLabel 'NodeA') } -ScriptBlock {
                param($Connection)
                Connect-KeyStore @Connection
                $info = Get-TransportKey
                [pscustomobject]@{ CheckValue = $info.CheckValue; Origin = [string]$info.Origin; Text = ($info | Out-String) }
            }
            $result.TerminatingError | Should -BeNullOrEmpty
            $outcome = $result.Output | Select-Object -First 1
            $outcome.CheckValue | Should -BeExactly $expected
            $outcome.Origin | Should -BeExactly 'Components'
            $outcome.Text | Should -Match "CheckValue\s*:\s*$expected"
        }

        It 'sees at once a transport key another process set on a store this process has warm' {
            Initialize-TestKeyStore -TokenLabel 'Warm'
            $null = Get-TransportKey -TokenLabel 'Warm' -ErrorAction SilentlyContinue
            $other = @(New-TestKeyComponent -Count 2)
            $result = Invoke-TestChildProcess -ArgumentList @{
                Connection = (Get-TestKeyStoreConnection -TokenLabel 'Warm')
                Hex        = @($other.Hex)
                Kcv        = @($other.CheckValue)
            } -ScriptBlock {
                param($Connection, $Hex, $Kcv)
                Connect-KeyStore @Connection
                $secure = @($Hex | ForEach-Object { ConvertTo-SecureString -String $_ -AsPlainText -Force })
                (Set-TransportKey -Component $secure -ComponentCheckValue $Kcv -Confirm:$false).CheckValue
            }
            $result.TerminatingError | Should -BeNullOrEmpty
            $otherKcv = Get-TestCheckValue -Key (Get-TestXor -Component $other) -SizeBits 256
            $result.Output | Should -Be @($otherKcv)
            (Get-TransportKey -TokenLabel 'Warm').CheckValue | Should -BeExactly $otherKcv
        }
    }

    Context 'bad requests' {
        It 'refuses a store that is not connected (KeyStoreNotConnected)' {
            $err = { Get-TransportKey -TokenLabel 'NoSuchStore' } | Should -Throw -ErrorId "KeyStoreNotConnected,$cmd" -PassThru
            $err.TargetObject | Should -BeExactly 'NoSuchStore'
        }

        It 'rejects an empty -TokenLabel at parameter binding' {
            { Get-TransportKey -TokenLabel '' } | Should -Throw -ErrorId "ParameterArgumentValidationError,$cmd"
        }
    }
}
