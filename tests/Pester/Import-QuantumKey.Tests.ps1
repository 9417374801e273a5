#Requires -Version 7.2
# Import-QuantumKey: verifies key blocks (KeyBlock objects, their text, deserialized objects, or files)
# and stores their keys under the original label, keyID, source and creation time. A bad block gives
# a non-terminating error, writes nothing, and the other blocks of the pipeline are still imported;
# importing a key that is already there changes nothing. Secrets never reach a transcript.

Describe 'Import-QuantumKey' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $cmd = 'QKDLite.Commands.ImportQuantumKeyCommand'
        $components = @(New-TestKeyComponent -Count 2)
        foreach ($token in 'NodeA', 'NodeB') {
            Initialize-TestKeyStore -TokenLabel $token
            $tk = Set-TransportKey -TokenLabel $token -Component $components.Secure -ComponentCheckValue $components.CheckValue -Confirm:$false
        }

        function Get-KeyHex([string]$TokenLabel, [string]$Label) {
            $material = Get-QuantumKey -TokenLabel $TokenLabel -Label $Label -IncludeKeyMaterial
            try { [Convert]::ToHexString($material.Key) } finally { [Array]::Clear($material.Key) }
        }

        function Get-Labels([string]$TokenLabel) {
            @(Get-QuantumKey -TokenLabel $TokenLabel | ForEach-Object Label | Sort-Object)
        }

        function Assert-SameKey($Imported, $Original) {
            $Imported | Should -BeOfType ([QKDLite.Core.Keys.QuantumKeyInfo])
            $Imported.Label | Should -BeExactly $Original.Label
            $Imported.KeyId | Should -BeExactly $Original.KeyId
            $Imported.SizeBits | Should -Be $Original.SizeBits
            $Imported.Source | Should -Be $Original.Source
            $Imported.CheckValue | Should -BeExactly $Original.CheckValue
            $Imported.Created.UtcTicks | Should -Be $Original.Created.UtcTicks
            $Imported.State | Should -Be 'Active'
        }
    }

    AfterAll {
        Remove-TestNode -Path $node
    }

    Context 'a round trip from NodeA to NodeB' {
        BeforeAll {
            $keys = @(New-QuantumKey -TokenLabel 'NodeA' -KeyId 'ROUND' -Label 'round-1', 'round-2', 'round-3')
            $imported = @($keys | Export-QuantumKey -TokenLabel 'NodeA' | Import-QuantumKey -TokenLabel 'NodeB')
        }

        It 'returns the imported keys with the same label, keyID, size, source, check value and creation time' {
            $imported.Count | Should -Be 3
            for ($i = 0; $i -lt 3; $i++) {
                Assert-SameKey $imported[$i] $keys[$i]
                $imported[$i].TokenLabel | Should -BeExactly 'NodeB'
            }
        }

        It 'stores them on NodeB as they were on NodeA' {
            foreach ($key in $keys) {
                Assert-SameKey (Get-QuantumKey -TokenLabel 'NodeB' -Label $key.Label) $key
            }
            (Get-KeyCount -TokenLabel 'NodeB' -KeyId 'ROUND').Count | Should -Be 3
        }

        It 'stores the same key bytes' {
            foreach ($key in $keys) {
                Get-KeyHex 'NodeB' $key.Label | Should -BeExactly (Get-KeyHex 'NodeA' $key.Label)
            }
        }

        It 'leaves NodeA unchanged' {
            (Get-KeyCount -TokenLabel 'NodeA' -KeyId 'ROUND').Count | Should -Be 3
        }

        It 'round-trips a <SizeBits>-bit key with the same bytes' -TestCases @(
            @{ SizeBits = 64 }, @{ SizeBits = 128 }, @{ SizeBits = 192 }, @{ SizeBits = 512 }, @{ SizeBits = 8192 }
        ) {
            $key = New-QuantumKey -TokenLabel 'NodeA' -KeyId "SIZE$SizeBits" -Size $SizeBits
            $copy = $key | Export-QuantumKey -TokenLabel 'NodeA' | Import-QuantumKey -TokenLabel 'NodeB'
            Assert-SameKey $copy $key
            $hex = Get-KeyHex 'NodeB' $key.Label
            $hex.Length | Should -Be ($SizeBits / 4)
            $hex | Should -BeExactly (Get-KeyHex 'NodeA' $key.Label)
        }

        It 'the imported keys are visible to a fresh process' {
            $result = Invoke-TestChildProcess -ArgumentList @{ Connection = (Get-TestKeyStoreConnection -TokenLabel 'NodeB') } -ScriptBlock {
                param($Connection)
                Connect-KeyStore @Connection
                [pscustomobject]@{
                    Count  = (Get-KeyCount -KeyId 'ROUND').Count
                    Checks = @(Get-QuantumKey -KeyId 'ROUND' | ForEach-Object { '{0}={1}' -f $_.Label, $_.CheckValue })
                }
            }
            $result.TerminatingError | Should -BeNullOrEmpty
            $outcome = $result.Output | Select-Object -First 1
            $outcome.Count | Should -Be 3
            @($outcome.Checks) | Should -Be @($keys | ForEach-Object { '{0}={1}' -f $_.Label, $_.CheckValue })
        }

        It 'a process that has NodeB warm sees the keys of an import pipeline once it ends' {
            $ready = Join-Path $node 'import.ready'
            $go = Join-Path $node 'import.go'
            $child = Start-TestChildProcess -ArgumentList @{ Connection = (Get-TestKeyStoreConnection -TokenLabel 'NodeB'); Ready = $ready; Go = $go } -ScriptBlock {
                param($Connection, $Ready, $Go)
                Connect-KeyStore @Connection
                $warm = @(Get-QuantumKey -KeyId 'WARM').Count
                $null = Get-KeyCount
                Set-Content -LiteralPath $Ready -Value 'ready'
                $deadline = [DateTime]::UtcNow.AddSeconds(60)
                while (-not (Test-Path -LiteralPath $Go)) {
                    if ([DateTime]::UtcNow -gt $deadline) { throw 'The parent never said go.' }
                    Start-Sleep -Milliseconds 50
                }
                [pscustomobject]@{
                    Warm   = $warm
                    After  = (Get-KeyCount -KeyId 'WARM').Count
                    Labels = @(Get-QuantumKey -KeyId 'WARM' | ForEach-Object Label)
                }
            }
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not (Test-Path -LiteralPath $ready) -and -not $child.Process.HasExited -and [DateTime]::UtcNow -lt $deadline) {
                Start-Sleep -Milliseconds 50
            }
            $warmKeys = @(New-QuantumKey -TokenLabel 'NodeA' -KeyId 'WARM' -Label 'warm-1', 'warm-2', 'warm-3')
            $null = $warmKeys | Export-QuantumKey -TokenLabel 'NodeA' | Import-QuantumKey -TokenLabel 'NodeB'
            Set-Content -LiteralPath $go -Value 'go'
            $result = Wait-TestChildProcess -Child $child -TimeoutSeconds 90
            $result.TerminatingError | Should -BeNullOrEmpty
            $outcome = $result.Output | Select-Object -First 1
            $outcome.Warm | Should -Be 0
            $outcome.After | Should -Be 3
            @($outcome.Labels) | Should -Be @('warm-1', 'warm-2', 'warm-3')
        }
    }

    Context 'where the blocks come from' {
        It 'imports the text of blocks, from the pipeline and from -Text' {
            $keys = @(New-QuantumKey -TokenLabel 'NodeA' -KeyId 'TEXT' -Count 3)
            $texts = @($keys | Export-QuantumKey -TokenLabel 'NodeA' | ForEach-Object Text)
            $texts[0] | Should -BeOfType ([string])
            $piped = @($texts[0], $texts[1] | Import-QuantumKey -TokenLabel 'NodeB')
            $piped.Label | Should -Be @($keys[0].Label, $keys[1].Label)
            $positional = Import-QuantumKey $texts[2] -TokenLabel 'NodeB'
            Assert-SameKey $positional $keys[2]
        }

        It 'imports KeyBlock objects given to -KeyBlock' {
            $keys = @(New-QuantumKey -TokenLabel 'NodeA' -KeyId 'OBJECTS' -Count 2)
            $blocks = @($keys | Export-QuantumKey -TokenLabel 'NodeA')
            $imported = @(Import-QuantumKey -TokenLabel 'NodeB' -KeyBlock $blocks)
            $imported.Label | Should -Be @($keys.Label)
        }

        It 'imports files with -Path, skipping blank lines and # comments' {
            $keys = @(New-QuantumKey -TokenLabel 'NodeA' -KeyId 'FILE' -Count 3)
            $texts = @($keys | Export-QuantumKey -TokenLabel 'NodeA' | ForEach-Object Text)
            $first = Join-Path $node 'first.keyblocks'
            $second = Join-Path $node 'second.keyblocks'
            Set-Content -LiteralPath $first -Value @('# key blocks from NodeA', '', $texts[0], '   ', "  $($texts[1])  ", '#', '')
            Set-Content -LiteralPath $second -Value @('', $texts[2])
            $imported = @(Import-QuantumKey -TokenLabel 'NodeB' -Path $first, $second -ErrorVariable importErrors)
            $importErrors | Should -BeNullOrEmpty
            $imported.Label | Should -Be @($keys.Label)
            (Get-KeyCount -TokenLabel 'NodeB' -KeyId 'FILE').Count | Should -Be 3
        }

        It 'imports files matched by a wildcard' {
            $keys = @(New-QuantumKey -TokenLabel 'NodeA' -KeyId 'WILD' -Count 2)
            $directory = Join-Path $node 'wild'
            $null = New-Item -ItemType Directory -Path $directory
            $i = 0
            $keys | Export-QuantumKey -TokenLabel 'NodeA' | ForEach-Object { $_ | Set-Content -LiteralPath (Join-Path $directory "$((++$i)).keyblocks") }
            @(Import-QuantumKey -TokenLabel 'NodeB' -Path (Join-Path $directory '*.keyblocks')).Label | Sort-Object | Should -Be @($keys.Label | Sort-Object)
        }

        It 'reports a missing file (non-terminating) and imports the other files' {
            $key = New-QuantumKey -TokenLabel 'NodeA' -KeyId 'MISSING'
            $file = Join-Path $node 'present.keyblocks'
            $key | Export-QuantumKey -TokenLabel 'NodeA' | Set-Content -LiteralPath $file
            $imported = @(Import-QuantumKey -TokenLabel 'NodeB' -Path (Join-Path $node 'absent.keyblocks'), $file -ErrorAction SilentlyContinue -ErrorVariable importErrors)
            $imported.Label | Should -Be @($key.Label)
            $importErrors.Count | Should -Be 1
            $importErrors[0].FullyQualifiedErrorId | Should -BeExactly "KeyBlockFileNotFound,$cmd"
            $importErrors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        }

        # Remoting and jobs hand over deserialized objects (Deserialized.QKDLite.Core.KeyBlocks.KeyBlock):
        # they must import by their Text property.
        It 'imports KeyBlock objects serialized by another process (Export-Clixml / Import-Clixml)' {
            $keys = @(New-QuantumKey -TokenLabel 'NodeA' -KeyId 'CLIXML' -Count 2)
            $file = Join-Path $node 'blocks.clixml'
            $result = Invoke-TestChildProcess -ArgumentList @{ Connection = (Get-TestKeyStoreConnection -TokenLabel 'NodeA'); Labels = @($keys.Label); File = $file } -ScriptBlock {
                param($Connection, $Labels, $File)
                Connect-KeyStore @Connection
                Export-QuantumKey -Label $Labels | Export-Clixml -LiteralPath $File
            }
            $result.TerminatingError | Should -BeNullOrEmpty
            $deserialized = @(Import-Clixml -LiteralPath $file)
            $deserialized.Count | Should -Be 2
            $deserialized[0].PSObject.TypeNames[0] | Should -BeExactly 'Deserialized.QKDLite.Core.KeyBlocks.KeyBlock'
            $imported = @($deserialized | Import-QuantumKey -TokenLabel 'NodeB')
            $imported.Count | Should -Be 2
            for ($i = 0; $i -lt 2; $i++) { Assert-SameKey $imported[$i] $keys[$i] }
            Get-KeyHex 'NodeB' $keys[1].Label | Should -BeExactly (Get-KeyHex 'NodeA' $keys[1].Label)
        }

        It 'skips empty input without an error' {
            $before = Get-TestTokenState -TokenLabel 'NodeB'
            @('', '   ' | Import-QuantumKey -TokenLabel 'NodeB' -ErrorVariable importErrors) | Should -BeNullOrEmpty
            $importErrors | Should -BeNullOrEmpty
            Get-TestTokenState -TokenLabel 'NodeB' | Should -BeExactly $before
        }
    }

    Context 'importing a key that is already there' {
        BeforeAll {
            $key = New-QuantumKey -TokenLabel 'NodeA' -KeyId 'TWICE'
            $block = $key | Export-QuantumKey -TokenLabel 'NodeA'
            $first = $block | Import-QuantumKey -TokenLabel 'NodeB'
        }

        It 'leaves one key and returns the existing one' {
            $state = Get-TestTokenState -TokenLabel 'NodeB'
            $second = $block | Import-QuantumKey -TokenLabel 'NodeB' -Verbose 4>&1
            $records = @($second | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
            $keysOut = @($second | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
            $keysOut.Count | Should -Be 1
            Assert-SameKey $keysOut[0] $key
            $keysOut[0].Created.UtcTicks | Should -Be $first.Created.UtcTicks
            $records.Message | Should -BeLike '*already*'
            (Get-KeyCount -TokenLabel 'NodeB' -KeyId 'TWICE').Count | Should -Be 1
            Get-TestTokenState -TokenLabel 'NodeB' | Should -BeExactly $state
        }

        It 'imports a block given twice in one pipeline once' {
            $other = New-QuantumKey -TokenLabel 'NodeA' -KeyId 'TWICE2'
            $otherBlock = $other | Export-QuantumKey -TokenLabel 'NodeA'
            $out = @($otherBlock, $otherBlock.Text, $otherBlock | Import-QuantumKey -TokenLabel 'NodeB')
            $out.Count | Should -Be 3
            @($out.Label | Select-Object -Unique) | Should -Be @($other.Label)
            (Get-KeyCount -TokenLabel 'NodeB' -KeyId 'TWICE2').Count | Should -Be 1
        }
    }

    Context 'bad blocks change nothing' {
        BeforeAll {
            # Two fresh blocks that import, to go around a bad one.
            function Get-GoodPair {
                , @(New-QuantumKey -TokenLabel 'NodeA' -KeyId 'GOOD' -Count 2 | Export-QuantumKey -TokenLabel 'NodeA')
            }

            Initialize-TestKeyStore -TokenLabel 'NodeC'
            $otherComponents = @(New-TestKeyComponent -Count 2)
            $otherTk = Set-TransportKey -TokenLabel 'NodeC' -Component $otherComponents.Secure -ComponentCheckValue $otherComponents.CheckValue -Confirm:$false
            Initialize-TestKeyStore -TokenLabel 'NoTk'

            # Runs good, bad, good through one pipeline and checks: one error with an expected id, the good
            # ones imported, the bad one not, the transport key untouched.
            function Invoke-BadBlock([string]$Bad, [string[]]$Ids, [string]$Label) {
                $pair = Get-GoodPair
                $out = @($pair[0], $Bad, $pair[1] | Import-QuantumKey -TokenLabel 'NodeB' -ErrorAction SilentlyContinue -ErrorVariable importErrors)
                $out.Label | Should -Be @($pair[0].Label, $pair[1].Label) -Because 'the other blocks of the pipeline are still imported'
                $importErrors.Count | Should -Be 1
                ($importErrors[0].FullyQualifiedErrorId -split ',')[0] | Should -BeIn $Ids
                ($importErrors[0].FullyQualifiedErrorId -split ',', 2)[1] | Should -BeExactly $cmd
                if ($Label) {
                    Get-QuantumKey -TokenLabel 'NodeB' -Label $Label -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
                }
                Get-Labels 'NodeB' | Should -Be @($beforeLabels + $pair[0].Label + $pair[1].Label | Sort-Object)
                (Get-TransportKey -TokenLabel 'NodeB').CheckValue | Should -BeExactly $tk.CheckValue
                $importErrors[0]
            }
        }

        BeforeEach {
            $before = Get-TestTokenState -TokenLabel 'NodeB'
            $beforeLabels = Get-Labels 'NodeB'
        }

        It 'refuses a block with one character changed <Where> (<Expected>)' -TestCases @(
            @{ Where = 'in the middle'; Part = 'Middle'; Expected = 'KeyBlockTampered', 'KeyBlockMalformed' }
            @{ Where = 'in the header'; Part = 'Header'; Expected = 'KeyBlockTampered', 'KeyBlockMalformed' }
            @{ Where = 'in the wrapped key'; Part = 'Wrapped'; Expected = @('KeyBlockTampered') }
            @{ Where = 'in the MAC'; Part = 'Mac'; Expected = @('KeyBlockTampered') }
        ) {
            $key = New-QuantumKey -TokenLabel 'NodeA' -KeyId 'TAMPER'
            $text = ($key | Export-QuantumKey -TokenLabel 'NodeA').Text
            $bad = Edit-TestKeyBlock -Text $text -Part $Part
            $bad | Should -Not -BeExactly $text
            $bad.Length | Should -Be $text.Length
            $err = Invoke-BadBlock -Bad $bad -Ids $Expected -Label $key.Label
            $err.CategoryInfo.Category | Should -BeIn 'SecurityError', 'InvalidData'
        }

        It 'refuses text that is not a key block: <Name> (KeyBlockMalformed)' -TestCases @(
            @{ Name = 'a word'; Make = { param($t) 'hello' } }
            @{ Name = 'a block without its MAC'; Make = { param($t) $t.Substring(0, $t.LastIndexOf('.')) } }
            @{ Name = 'a block cut short'; Make = { param($t) $t.Substring(0, $t.Length - 10) } }
            @{ Name = 'a block with a line break inside'; Make = { param($t) $t.Insert(40, "`n") } }
        ) {
            $key = New-QuantumKey -TokenLabel 'NodeA' -KeyId 'MALFORMED'
            $bad = & $Make ($key | Export-QuantumKey -TokenLabel 'NodeA').Text
            $err = Invoke-BadBlock -Bad $bad -Ids 'KeyBlockMalformed' -Label $key.Label
            $err.CategoryInfo.Category | Should -Be 'InvalidData'
        }

        It 'refuses a block of an unknown format version (KeyBlockVersionUnsupported)' {
            $key = New-QuantumKey -TokenLabel 'NodeA' -KeyId 'VERSION'
            $bad = ($key | Export-QuantumKey -TokenLabel 'NodeA').Text -replace '^QKDLKB1\.', 'QKDLKB2.'
            $err = Invoke-BadBlock -Bad $bad -Ids 'KeyBlockVersionUnsupported' -Label $key.Label
            $err.Exception.Message | Should -BeLike '*version 2*'
        }

        It 'refuses a block made under another transport key (KeyBlockWrongTransportKey)' {
            $key = New-QuantumKey -TokenLabel 'NodeC' -KeyId 'WRONGTK'
            $block = $key | Export-QuantumKey -TokenLabel 'NodeC'
            $block.TransportKeyCheckValue | Should -BeExactly $otherTk.CheckValue
            $err = Invoke-BadBlock -Bad $block.Text -Ids 'KeyBlockWrongTransportKey' -Label $key.Label
            $err.CategoryInfo.Category | Should -Be 'SecurityError'
            $err.TargetObject | Should -BeExactly $key.Label
            $err.Exception.Message | Should -BeLike "*$($otherTk.CheckValue)*"
            $err.Exception.Message | Should -BeLike "*$($tk.CheckValue)*"
        }

        It 'refuses a different key under a label NodeB already has (KeyLabelConflict) and keeps NodeB''s key' {
            $theirs = New-QuantumKey -TokenLabel 'NodeA' -KeyId 'CONFLICT' -Label 'conflict-1'
            $ours = New-QuantumKey -TokenLabel 'NodeB' -KeyId 'CONFLICT' -Label 'conflict-1'
            $oursHex = Get-KeyHex 'NodeB' 'conflict-1'
            $beforeLabels = Get-Labels 'NodeB'
            $err = Invoke-BadBlock -Bad ($theirs | Export-QuantumKey -TokenLabel 'NodeA').Text -Ids 'KeyLabelConflict'
            $err.CategoryInfo.Category | Should -Be 'ResourceExists'
            $err.TargetObject | Should -BeExactly 'conflict-1'
            (Get-QuantumKey -TokenLabel 'NodeB' -Label 'conflict-1').CheckValue | Should -BeExactly $ours.CheckValue
            Get-KeyHex 'NodeB' 'conflict-1' | Should -BeExactly $oursHex
        }

        It 'refuses every block on a store without a transport key (TransportKeyNotSet)' {
            $state = Get-TestTokenState -TokenLabel 'NoTk'
            $blocks = Get-GoodPair
            $blocks | Import-QuantumKey -TokenLabel 'NoTk' -ErrorAction SilentlyContinue -ErrorVariable importErrors | Should -BeNullOrEmpty
            $importErrors.Count | Should -Be 2
            $importErrors[0].FullyQualifiedErrorId | Should -BeExactly "TransportKeyNotSet,$cmd"
            Get-TestTokenState -TokenLabel 'NoTk' | Should -BeExactly $state
        }

        It '-WhatIf imports nothing and returns nothing' {
            $blocks = Get-GoodPair
            $blocks | Import-QuantumKey -TokenLabel 'NodeB' -WhatIf | Should -BeNullOrEmpty
            Get-TestTokenState -TokenLabel 'NodeB' | Should -BeExactly $before
            Get-QuantumKey -TokenLabel 'NodeB' -Label $blocks[0].Label -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }

        It 'stops at the first bad block with -ErrorAction Stop, keeping what came before' {
            $pair = Get-GoodPair
            { $pair[0], 'not a key block', $pair[1] | Import-QuantumKey -TokenLabel 'NodeB' -ErrorAction Stop } |
                Should -Throw -ErrorId "KeyBlockMalformed,$cmd"
            Get-Labels 'NodeB' | Should -Be @($beforeLabels + $pair[0].Label | Sort-Object)
        }

        It 'refuses a store that is not connected (KeyStoreNotConnected)' {
            $pair = Get-GoodPair
            { $pair | Import-QuantumKey -TokenLabel 'NoSuchStore' } | Should -Throw -ErrorId "KeyStoreNotConnected,$cmd"
            Get-TestTokenState -TokenLabel 'NodeB' | Should -BeExactly $before
        }
    }

    # Everything an administrator does with the secrets, recorded by Start-Transcript in another
    # process: the transcript must hold none of the components, transport key or key bytes.
    Context 'secrets stay out of transcripts' {
        BeforeAll {
            Initialize-TestKeyStore -TokenLabel 'SecretA'
            Initialize-TestKeyStore -TokenLabel 'SecretB'
            $secretComponents = @(New-TestKeyComponent -Count 3)
            $secretTk = Get-TestXor -Component $secretComponents
            $transcript = Join-Path $node 'secrets.transcript.txt'
            $result = Invoke-TestChildProcess -ArgumentList @{
                A          = (Get-TestKeyStoreConnection -TokenLabel 'SecretA')
                B          = (Get-TestKeyStoreConnection -TokenLabel 'SecretB')
                Hex        = @($secretComponents.Hex)
                Grouped    = @($secretComponents.Grouped)
                Kcv        = @($secretComponents.CheckValue)
                Transcript = $transcript
            } -ScriptBlock {
                param($A, $B, $Hex, $Grouped, $Kcv, $Transcript)
                $VerbosePreference = 'Continue'
                $DebugPreference = 'Continue'
                Connect-KeyStore @A
                Connect-KeyStore @B
                $null = Start-Transcript -LiteralPath $Transcript
                try {
                    $secure = @($Hex | ForEach-Object { ConvertTo-SecureString -String $_ -AsPlainText -Force })
                    $grouped = @($Grouped | ForEach-Object { ConvertTo-SecureString -String $_ -AsPlainText -Force })
                    # A mistyped check value first: its error goes to the transcript.
                    try { Set-TransportKey -TokenLabel 'SecretA' -Component $secure -ComponentCheckValue '000000', $Kcv[1], $Kcv[2] -Confirm:$false } catch { $_ | Out-Host }
                    Set-TransportKey -TokenLabel 'SecretA' -Component $secure -ComponentCheckValue $Kcv -Confirm:$false | Out-Host
                    Set-TransportKey -TokenLabel 'SecretB' -Component $grouped -ComponentCheckValue $Kcv -Confirm:$false | Format-List * | Out-Host
                    Get-TransportKey -TokenLabel 'SecretB' | Out-Host
                    $blocks = New-QuantumKey -TokenLabel 'SecretA' -KeyId 'SECRET' -Count 2 | Export-QuantumKey -TokenLabel 'SecretA'
                    $blocks | Out-Host
                    $imported = $blocks | Import-QuantumKey -TokenLabel 'SecretB'
                    $imported | Format-List * | Out-Host
                    $blocks | Import-QuantumKey -TokenLabel 'SecretB' | Out-Host
                    $material = @(Get-QuantumKey -TokenLabel 'SecretB' -Label $imported.Label -IncludeKeyMaterial)
                    $material | Out-Host
                    $material | Format-List | Out-Host
                    $material | Format-Table | Out-Host
                    [pscustomobject]@{
                        Labels = @($imported.Label)
                        Keys   = @($material | ForEach-Object { [Convert]::ToBase64String($_.Key) })
                    }
                }
                finally {
                    $null = Stop-Transcript
                }
            }
            $outcome = $result.Output | Select-Object -First 1
            $text = if (Test-Path -LiteralPath $transcript) { Get-Content -Raw -LiteralPath $transcript } else { '' }
        }

        It 'the process worked' {
            $result.TerminatingError | Should -BeNullOrEmpty
            @($outcome.Labels).Count | Should -Be 2
            @($outcome.Keys).Count | Should -Be 2
        }

        It 'the transcript recorded the session (canary)' {
            $text.Contains('PowerShell transcript start') | Should -BeTrue
            $text.Contains((Get-TestCheckValue -Key $secretTk -SizeBits 256)) | Should -BeTrue -Because 'the transport key''s check value was shown'
            $text.Contains('Component 1 does not match its check value 000000') | Should -BeTrue -Because 'the error was shown'
            foreach ($label in $outcome.Labels) { $text.Contains($label) | Should -BeTrue -Because 'the imported keys were shown' }
            $text.Contains('TK KCV') | Should -BeTrue -Because 'the key blocks were shown'
        }

        It 'the transcript holds none of the components or the transport key' {
            $secrets = foreach ($component in $secretComponents) {
                Get-TestKeyRepresentation -Key $component.Bytes
                $component.Grouped
                $component.Grouped.ToLowerInvariant()
            }
            $secrets = @($secrets) + @(Get-TestKeyRepresentation -Key $secretTk)
            Find-TestSecret -Text $text -Secret $secrets | Should -BeNullOrEmpty -Because 'no component or transport key may reach a transcript'
        }

        It 'the transcript holds none of the imported key bytes' {
            foreach ($base64 in $outcome.Keys) {
                $bytes = [Convert]::FromBase64String($base64)
                $secrets = @(Get-TestKeyRepresentation -Key $bytes) + @($base64.TrimEnd('=').Replace('+', '-').Replace('/', '_'))
                Find-TestSecret -Text $text -Secret $secrets | Should -BeNullOrEmpty -Because 'no key bytes may reach a transcript'
            }
        }
    }
}
