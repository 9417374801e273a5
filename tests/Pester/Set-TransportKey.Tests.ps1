#Requires -Version 7.2
# Set-TransportKey: provisions a node's transport key from custodians' components or generates it
# and shows the components on the console only (never in redirected output or a transcript).
# The ML-KEM parameter sets are covered in New-TransportKeyRequest.Tests.ps1. A bad component is
# refused before the store is touched, and an existing transport key is replaced only with -Force.

Describe 'Set-TransportKey' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $cmd = 'QKDLite.Commands.SetTransportKeyCommand'
        Initialize-TestKeyStore -TokenLabel 'NodeA'
        Initialize-TestKeyStore -TokenLabel 'NodeB'

        # Every way a component or the combined key could show up in text.
        function Get-ComponentText([object[]]$Components) {
            foreach ($component in $Components) {
                Get-TestKeyRepresentation -Key $component.Bytes
                $component.Grouped
                $component.Grouped.ToLowerInvariant()
            }
            Get-TestKeyRepresentation -Key (Get-TestXor -Component $Components)
        }
    }

    AfterAll {
        Remove-TestNode -Path $node
    }

    Context 'from custodian components' {
        It 'combines <Count> components into a transport key whose check value is that of their XOR' -TestCases @(
            @{ Count = 2 }, @{ Count = 3 }
        ) {
            $token = "Components$Count"
            Initialize-TestKeyStore -TokenLabel $token
            $components = @(New-TestKeyComponent -Count $Count)
            $expected = Get-TestCheckValue -Key (Get-TestXor -Component $components) -SizeBits 256
            $before = [DateTimeOffset]::UtcNow.AddSeconds(-5)

            $info = Set-TransportKey -TokenLabel $token -Component $components.Secure -ComponentCheckValue $components.CheckValue -Confirm:$false

            $info | Should -BeOfType ([QKDLite.Core.TransportKeys.TransportKeyInfo])
            $info.CheckValue | Should -BeExactly $expected
            $info.Origin | Should -Be 'Components'
            $info.TokenLabel | Should -BeExactly $token
            $info.Ciphertext | Should -BeNullOrEmpty
            $info.Created | Should -BeGreaterThan $before
            $stored = Get-TransportKey -TokenLabel $token
            $stored.CheckValue | Should -BeExactly $expected
            $stored.Origin | Should -Be 'Components'
            $stored.Created | Should -Be $info.Created
        }

        It 'gives two nodes the same transport key from the same components' {
            $components = @(New-TestKeyComponent -Count 2)
            $expected = Get-TestCheckValue -Key (Get-TestXor -Component $components) -SizeBits 256
            $a = Set-TransportKey -TokenLabel 'NodeA' -Component $components.Secure -ComponentCheckValue $components.CheckValue -Confirm:$false
            $b = Set-TransportKey -TokenLabel 'NodeB' -Component $components.Secure -ComponentCheckValue $components.CheckValue -Confirm:$false
            $a.CheckValue | Should -BeExactly $expected
            $b.CheckValue | Should -BeExactly $expected
            (Get-TransportKey -TokenLabel 'NodeA').CheckValue | Should -BeExactly $expected
            (Get-TransportKey -TokenLabel 'NodeB').CheckValue | Should -BeExactly $expected
            $b.TokenLabel | Should -BeExactly 'NodeB'
        }

        It 'takes components grouped as -Generate shows them, and lower-case hex and check values' {
            $token = 'Grouped'
            Initialize-TestKeyStore -TokenLabel $token
            $components = @(New-TestKeyComponent -Count 2)
            $expected = Get-TestCheckValue -Key (Get-TestXor -Component $components) -SizeBits 256
            $secure = @(
                ConvertTo-SecureString -String $components[0].Grouped -AsPlainText -Force
                ConvertTo-SecureString -String ($components[1].Grouped.ToLowerInvariant() -replace ' ', '-') -AsPlainText -Force
            )
            $checkValues = $components[0].CheckValue, $components[1].CheckValue.ToLowerInvariant()
            $info = Set-TransportKey -TokenLabel $token -Component $secure -ComponentCheckValue $checkValues -Confirm:$false
            $info.CheckValue | Should -BeExactly $expected
        }

        It 'is not a quantum key: not listed, counted, exported or removable' {
            $token = 'NotAKey'
            Initialize-TestKeyStore -TokenLabel $token
            $null = New-QuantumKey -TokenLabel $token -KeyId 'BUSINESS' -Count 2
            $components = @(New-TestKeyComponent -Count 2)
            $info = Set-TransportKey -TokenLabel $token -Component $components.Secure -ComponentCheckValue $components.CheckValue -Confirm:$false
            (Get-KeyStore -TokenLabel $token).KeyCount | Should -Be 2
            @(Get-QuantumKey -TokenLabel $token).Count | Should -Be 2
            @(Get-KeyCount -TokenLabel $token).KeyId | Should -Be @('BUSINESS')
            foreach ($label in 'QKDLite transport key', 'QKDLite transport key (authentication)') {
                Remove-QuantumKey -TokenLabel $token -Label $label -Force -ErrorAction SilentlyContinue -ErrorVariable removeErrors
                $removeErrors[0].FullyQualifiedErrorId | Should -BeExactly 'KeyNotFound,QKDLite.Commands.RemoveQuantumKeyCommand'
                Export-QuantumKey -TokenLabel $token -Label $label -ErrorAction SilentlyContinue -ErrorVariable exportErrors | Should -BeNullOrEmpty
                $exportErrors[0].FullyQualifiedErrorId | Should -BeExactly 'KeyNotFound,QKDLite.Commands.ExportQuantumKeyCommand'
                Get-QuantumKey -TokenLabel $token -Label $label -IncludeKeyMaterial -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            }
            (Get-TransportKey -TokenLabel $token).CheckValue | Should -BeExactly $info.CheckValue
        }

        # Regression (fixed): Pkcs11KeyStore.StoreTransportKey (src/QKDLite.Core/KeyStore/Pkcs11KeyStore.TransportKey.cs,
        # `existingWrap = index.Get(TransportKeyLabel)`) takes any object labelled "QKDLite transport key"
        # for the existing transport key, and New-QuantumKey (and Import-QuantumKey) accept that label
        # for a quantum key. With such a key in the store, Set-TransportKey reports TransportKeyExists
        # although Get-TransportKey says there is none, and with -Force it destroys the quantum key.
        # A key must never be lost to a label collision: either the reserved labels are refused for
        # keys (KeyLabelInvalid), or transport key objects are told apart by their CKA_ID record.
        It 'refuses the transport key labels for quantum keys (KeyLabelInvalid) and provisions normally' {
            $token = 'Reserved1'
            Initialize-TestKeyStore -TokenLabel $token
            foreach ($label in 'QKDLite transport key', 'QKDLite transport key (authentication)') {
                { New-QuantumKey -TokenLabel $token -KeyId 'RESERVED' -Label $label } |
                    Should -Throw -ErrorId 'KeyLabelInvalid,QKDLite.Commands.NewQuantumKeyCommand'
            }
            (Get-KeyCount -TokenLabel $token -KeyId 'RESERVED').Count | Should -Be 0
            $components = @(New-TestKeyComponent -Count 2)
            { Set-TransportKey -TokenLabel $token -Component $components.Secure -ComponentCheckValue $components.CheckValue -Confirm:$false } | Should -Not -Throw
            (Get-TransportKey -TokenLabel $token).CheckValue | Should -BeExactly (Get-TestCheckValue -Key (Get-TestXor -Component $components) -SizeBits 256)
        }
    }

    Context 'bad components change nothing' {
        BeforeAll {
            Initialize-TestKeyStore -TokenLabel 'Empty'
            Initialize-TestKeyStore -TokenLabel 'Holder'
            $held = @(New-TestKeyComponent -Count 2)
            $null = Set-TransportKey -TokenLabel 'Holder' -Component $held.Secure -ComponentCheckValue $held.CheckValue -Confirm:$false
            $null = New-QuantumKey -TokenLabel 'Holder' -KeyId 'HELD' -Count 2
        }

        BeforeEach {
            $states = @{ Empty = Get-TestTokenState -TokenLabel 'Empty'; Holder = Get-TestTokenState -TokenLabel 'Holder' }
        }

        AfterEach {
            Get-TestTokenState -TokenLabel 'Empty' | Should -BeExactly $states.Empty
            Get-TestTokenState -TokenLabel 'Holder' | Should -BeExactly $states.Holder
            Get-TransportKey -TokenLabel 'Empty' -ErrorAction SilentlyContinue -ErrorVariable tkErrors | Should -BeNullOrEmpty
            $tkErrors[0].FullyQualifiedErrorId | Should -BeExactly 'TransportKeyNotSet,QKDLite.Commands.GetTransportKeyCommand'
        }

        # Each case runs against a store without a transport key and, with -Force, one with a transport key.
        It 'rejects <Name> with <Id> (<Category>)' -TestCases @(
            @{ Name = 'a wrong check value for component 2'; Count = 2; Break = { param($c, $v) $v[1] = '000000' }; Id = 'ComponentCheckValueMismatch'; Category = 'InvalidData'; Target = 2 }
            @{ Name = 'a wrong check value for component 1 of 3'; Count = 3; Break = { param($c, $v) $v[0] = $v[2] }; Id = 'ComponentCheckValueMismatch'; Category = 'InvalidData'; Target = 1 }
            @{ Name = 'the check values swapped'; Count = 2; Break = { param($c, $v) $v[0], $v[1] = $v[1], $v[0] }; Id = 'ComponentCheckValueMismatch'; Category = 'InvalidData'; Target = 1 }
            @{ Name = 'fewer check values than components'; Count = 3; Break = { param($c, $v) $v.RemoveAt(2) }; Id = 'ComponentCheckValueMismatch'; Category = 'InvalidArgument'; Target = 2 }
            @{ Name = 'a single component'; Count = 2; Break = { param($c, $v) $c.RemoveAt(1); $v.RemoveAt(1) }; Id = 'TooFewComponents'; Category = 'InvalidArgument'; Target = 1 }
            @{ Name = 'a component of 63 hex digits'; Count = 2; Break = { param($c, $v) $c[1] = $c[1].Substring(1) }; Id = 'ComponentMalformed'; Category = 'InvalidArgument'; Target = 2 }
            @{ Name = 'a component of 66 hex digits'; Count = 2; Break = { param($c, $v) $c[0] = $c[0] + 'AB' }; Id = 'ComponentMalformed'; Category = 'InvalidArgument'; Target = 1 }
            @{ Name = 'a component with a non-hex digit'; Count = 2; Break = { param($c, $v) $c[1] = 'G' + $c[1].Substring(1) }; Id = 'ComponentMalformed'; Category = 'InvalidArgument'; Target = 2 }
            @{ Name = 'an empty component'; Count = 2; Break = { param($c, $v) $c[0] = ' ' }; Id = 'ComponentMalformed'; Category = 'InvalidArgument'; Target = 1 }
            # Regression (fixed): KeyComponents.Combine accepted components that cancel out, so a component
            # entered twice made an all-zero transport key (check value DC95C0, known to everyone).
            @{ Name = 'the same component twice'; Count = 2; Break = { param($c, $v) $c[1] = $c[0]; $v[1] = $v[0] }; Id = 'ComponentsNotIndependent'; Category = 'InvalidData'; Target = 2 }
            @{ Name = 'three components that cancel out'; Count = 3; Break = {
                    param($c, $v)
                    $last = Get-TestXor -Component ([Convert]::FromHexString($c[0])), ([Convert]::FromHexString($c[1]))
                    $c[2] = [Convert]::ToHexString($last)
                    $v[2] = Get-TestCheckValue -Key $last -SizeBits 256
                }; Id = 'ComponentsNotIndependent'; Category = 'InvalidData'; Target = ''
            }
        ) {
            $components = @(New-TestKeyComponent -Count $Count)
            $hex = [System.Collections.Generic.List[string]]::new([string[]]$components.Hex)
            $checkValues = [System.Collections.Generic.List[string]]::new([string[]]$components.CheckValue)
            & $Break $hex $checkValues
            $secure = @($hex | ForEach-Object { ConvertTo-SecureString -String $_ -AsPlainText -Force })
            $secrets = @(Get-ComponentText $components)
            foreach ($store in @{ TokenLabel = 'Empty' }, @{ TokenLabel = 'Holder'; Force = $true }) {
                $err = { Set-TransportKey @store -Component $secure -ComponentCheckValue $checkValues.ToArray() -Confirm:$false } |
                    Should -Throw -ErrorId "$Id,$cmd" -PassThru
                $err.CategoryInfo.Category | Should -Be $Category
                "$($err.TargetObject)" | Should -BeExactly "$Target"
                if ($Id -eq 'ComponentCheckValueMismatch' -and $Category -eq 'InvalidData') {
                    $err.Exception.Message | Should -Match "Component $Target\b" -Because 'the custodian must know which component to re-enter'
                }
                Find-TestSecret -Text $err.Exception.Message -Secret $secrets | Should -BeNullOrEmpty -Because 'an error message must not carry a component'
            }
        }

        It 'rejects -ComponentCount 1 before prompting for anything' {
            $err = { Set-TransportKey -TokenLabel 'Empty' -ComponentCount 1 -Confirm:$false } | Should -Throw -ErrorId "TooFewComponents,$cmd" -PassThru
            $err.TargetObject | Should -Be 1
        }
    }

    Context 'replacing a transport key' {
        BeforeAll {
            $token = 'Replace'
            Initialize-TestKeyStore -TokenLabel $token
            $first = @(New-TestKeyComponent -Count 2)
            $original = Set-TransportKey -TokenLabel $token -Component $first.Secure -ComponentCheckValue $first.CheckValue -Confirm:$false
        }

        It 'refuses a second transport key without -Force and keeps the first' {
            $second = @(New-TestKeyComponent -Count 2)
            $err = { Set-TransportKey -TokenLabel $token -Component $second.Secure -ComponentCheckValue $second.CheckValue -Confirm:$false } |
                Should -Throw -ErrorId "TransportKeyExists,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'ResourceExists'
            $err.TargetObject | Should -BeExactly $token
            $err.Exception.Message | Should -BeLike "*$($original.CheckValue)*"
            $err.Exception.Message | Should -BeLike '*-Force*'
            $now = Get-TransportKey -TokenLabel $token
            $now.CheckValue | Should -BeExactly $original.CheckValue
            $now.Created | Should -Be $original.Created
        }

        It '-WhatIf provisions nothing, on a store without and with a transport key' {
            Initialize-TestKeyStore -TokenLabel 'WhatIfEmpty'
            $other = @(New-TestKeyComponent -Count 2)
            $state = Get-TestTokenState -TokenLabel $token
            Set-TransportKey -TokenLabel 'WhatIfEmpty' -Component $other.Secure -ComponentCheckValue $other.CheckValue -WhatIf | Should -BeNullOrEmpty
            Set-TransportKey -TokenLabel $token -Component $other.Secure -ComponentCheckValue $other.CheckValue -Force -WhatIf | Should -BeNullOrEmpty
            Get-TransportKey -TokenLabel 'WhatIfEmpty' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Get-TestTokenState -TokenLabel $token | Should -BeExactly $state
        }

        # Regression (fixed): SetTransportKeyCommand.EndProcessing (src/QKDLite/Commands/SetTransportKeyCommand.cs,
        # `default: WriteObject(FromComponents(store, target, action))`) writes the null that
        # FromComponents returns when ShouldProcess declines, so -WhatIf (or answering No to the
        # confirmation) puts one $null object into the pipeline: @(Set-TransportKey ... -WhatIf).Count
        # is 1 and a downstream ForEach-Object runs once with $_ = $null. It should write nothing.
        It '-WhatIf writes no object to the pipeline' {
            $other = @(New-TestKeyComponent -Count 2)
            @(Set-TransportKey -TokenLabel $token -Component $other.Secure -ComponentCheckValue $other.CheckValue -Force -WhatIf).Count | Should -Be 0
        }

        It 'replaces the transport key with -Force' {
            $second = @(New-TestKeyComponent -Count 2)
            $expected = Get-TestCheckValue -Key (Get-TestXor -Component $second) -SizeBits 256
            $info = Set-TransportKey -TokenLabel $token -Component $second.Secure -ComponentCheckValue $second.CheckValue -Force -Confirm:$false
            $info.CheckValue | Should -BeExactly $expected
            $info.CheckValue | Should -Not -Be $original.CheckValue
            $info.Created | Should -BeGreaterThan $original.Created
            (Get-TransportKey -TokenLabel $token).CheckValue | Should -BeExactly $expected
        }

        It 'asks for confirmation by default (ConfirmImpact High)' {
            $attribute = (Get-Command Set-TransportKey).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
            $attribute.ConfirmImpact | Should -Be 'High'
            $attribute.SupportsShouldProcess | Should -BeTrue
        }
    }

    Context 'prompting for components on a terminal' {
        BeforeAll {
            Initialize-TestKeyStore -TokenLabel 'Prompted'
            $prompted = @(New-TestKeyComponent -Count 2)
            $promptTranscript = Join-Path $node 'prompt.transcript.txt'
            $answers = @(
                @{ After = 'Component 1 of 2[^:]*: '; Text = "$($prompted[0].Hex)`r" }
                @{ After = 'Check value of component 1: '; Text = "$($prompted[0].CheckValue)`r" }
                @{ After = 'Component 2 of 2[^:]*: '; Text = "$($prompted[1].Grouped)`r" }
                @{ After = 'Check value of component 2: '; Text = "$($prompted[1].CheckValue)`r" }
            )
            $run = Invoke-TestTerminalProcess -Interactive -Answers $answers -ArgumentList @{
                Connection = (Get-TestKeyStoreConnection -TokenLabel 'Prompted')
                Transcript = $promptTranscript
            } -ScriptBlock {
                param($Connection, $Transcript)
                Connect-KeyStore @Connection
                $null = Start-Transcript -LiteralPath $Transcript
                try {
                    $info = Set-TransportKey -Confirm:$false
                    $info | Out-Host
                    $info.CheckValue
                }
                finally { $null = Stop-Transcript }
            }
            $promptText = if (Test-Path -LiteralPath $promptTranscript) { Get-Content -Raw -LiteralPath $promptTranscript } else { '' }
        }

        It 'asks for each component and its check value, and stores their XOR' {
            $run.TerminatingError | Should -BeNullOrEmpty
            $expected = Get-TestCheckValue -Key (Get-TestXor -Component $prompted) -SizeBits 256
            $run.Output | Should -Be @($expected)
            (Get-TransportKey -TokenLabel 'Prompted').CheckValue | Should -BeExactly $expected
        }

        It 'does not echo the components' {
            Find-TestSecret -Text $run.Terminal -Secret @(Get-ComponentText $prompted) | Should -BeNullOrEmpty -Because 'a component typed at the prompt is not echoed'
            $run.Terminal.Contains('(64 hex digits, not echoed)') | Should -BeTrue
        }

        It 'keeps the components out of the transcript' {
            $promptText.Contains((Get-TestCheckValue -Key (Get-TestXor -Component $prompted) -SizeBits 256)) | Should -BeTrue -Because 'the transcript recorded the session (canary)'
            Find-TestSecret -Text $promptText -Secret @(Get-ComponentText $prompted) | Should -BeNullOrEmpty -Because 'no component may reach a transcript'
        }
    }

    # A session that cannot prompt (-NonInteractive, a service, remoting) must fail with a QKDLite
    # error id, before anything is stored.
    Context 'in a session that cannot prompt' {
        BeforeAll {
            Initialize-TestKeyStore -TokenLabel 'NoPrompt'
            $knownIds = @([QKDLite.Core.Errors.ErrorIds].GetFields() | ForEach-Object { $_.GetValue($null) })
            $noPrompt = @(New-TestKeyComponent -Count 2)
            $result = Invoke-TestChildProcess -ArgumentList @{ Connection = (Get-TestKeyStoreConnection -TokenLabel 'NoPrompt'); Hex = @($noPrompt.Hex) } -ScriptBlock {
                param($Connection, $Hex)
                Connect-KeyStore @Connection
                $secure = @($Hex | ForEach-Object { ConvertTo-SecureString -String $_ -AsPlainText -Force })
                $noComponents = try { Set-TransportKey -Confirm:$false -ErrorAction Stop; '' } catch { $_.FullyQualifiedErrorId }
                $noCheckValues = try { Set-TransportKey -Component $secure -Confirm:$false -ErrorAction Stop; '' } catch { $_.FullyQualifiedErrorId }
                [pscustomobject]@{ NoComponents = $noComponents; NoCheckValues = $noCheckValues }
            }
            $outcome = $result.Output | Select-Object -First 1
        }

        It 'refuses to prompt for components (ComponentPromptUnavailable)' {
            $result.TerminatingError | Should -BeNullOrEmpty
            $outcome.NoComponents | Should -BeExactly "ComponentPromptUnavailable,$cmd"
        }

        # Regression (fixed): SetTransportKeyCommand.Prompt called Host.UI.ReadLine without the handling
        # PromptSecure has, so -Component without -ComponentCheckValue failed with PowerShell's generic
        # "InvalidOperation" ("PowerShell is in NonInteractive mode...") instead of a QKDLite error id.
        It 'refuses to prompt for check values (ComponentPromptUnavailable)' {
            ($outcome.NoCheckValues -split ',')[0] | Should -BeIn $knownIds
            $outcome.NoCheckValues | Should -BeExactly "ComponentPromptUnavailable,$cmd"
        }

        It 'stores nothing' {
            Get-TransportKey -TokenLabel 'NoPrompt' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }
    }

    Context '-Generate with output redirected (no console)' {
        BeforeAll {
            Initialize-TestKeyStore -TokenLabel 'GenRedirected'
            $result = Invoke-TestChildProcess -ArgumentList @{ Connection = (Get-TestKeyStoreConnection -TokenLabel 'GenRedirected') } -ScriptBlock {
                param($Connection)
                Connect-KeyStore @Connection
                $countError = try { Set-TransportKey -Generate -ComponentCount 1 -Confirm:$false -ErrorAction Stop; '' } catch { $_.FullyQualifiedErrorId }
                $countError
                Set-TransportKey -Generate -Confirm:$false
            }
        }

        It 'fails with ComponentDisplayUnavailable and shows no component' {
            $result.TerminatingError.FullyQualifiedErrorId | Should -BeExactly "ComponentDisplayUnavailable,$cmd"
            $result.TerminatingError.Category | Should -Be 'InvalidOperation'
            [regex]::IsMatch($result.StdOut, '[0-9A-F]{4}( [0-9A-F]{4}){15}') | Should -BeFalse -Because 'no component is shown'
            $result.StdOut.Contains('your component') | Should -BeFalse
        }

        It 'checks the component count first (TooFewComponents)' {
            $result.Output | Select-Object -First 1 | Should -BeExactly "TooFewComponents,$cmd"
        }

        It 'creates no transport key' {
            Get-TransportKey -TokenLabel 'GenRedirected' -ErrorAction SilentlyContinue -ErrorVariable tkErrors | Should -BeNullOrEmpty
            $tkErrors[0].FullyQualifiedErrorId | Should -BeExactly 'TransportKeyNotSet,QKDLite.Commands.GetTransportKeyCommand'
        }
    }

    Context '-Generate on a terminal' {
        BeforeAll {
            Initialize-TestKeyStore -TokenLabel 'GenTerminal'
            $transcript = Join-Path $node 'generate.transcript.txt'
            # One Enter per custodian; the second Set-TransportKey must not get to show anything.
            $run = Invoke-TestTerminalProcess -InputText "`n`n`n" -ArgumentList @{ Connection = (Get-TestKeyStoreConnection -TokenLabel 'GenTerminal'); Transcript = $transcript } -ScriptBlock {
                param($Connection, $Transcript)
                Connect-KeyStore @Connection
                $null = Start-Transcript -LiteralPath $Transcript
                try {
                    $info = Set-TransportKey -Generate -ComponentCount 3 -Confirm:$false -Verbose
                    $info | Out-Host
                    Get-TransportKey | Format-List * | Out-Host
                    $again = try { Set-TransportKey -Generate -ComponentCount 3 -Confirm:$false -ErrorAction Stop; '' } catch { $_.FullyQualifiedErrorId }
                    [pscustomobject]@{ CheckValue = $info.CheckValue; Origin = [string]$info.Origin; Again = $again }
                }
                finally {
                    $null = Stop-Transcript
                }
            }
            $outcome = $run.Output | Select-Object -First 1
            $pattern = 'your component: (?<hex>[0-9A-F]{4}(?: [0-9A-F]{4}){15})\s+check value (?<kcv>[0-9A-F]{6})'
            $shown = @([regex]::Matches($run.Terminal, $pattern) | ForEach-Object {
                    $grouped = $_.Groups['hex'].Value
                    $hex = $grouped -replace ' ', ''
                    [pscustomobject]@{
                        Grouped    = $grouped
                        Hex        = $hex
                        Bytes      = [Convert]::FromHexString($hex)
                        CheckValue = $_.Groups['kcv'].Value
                    }
                })
            $transcriptText = if (Test-Path -LiteralPath $transcript) { Get-Content -Raw -LiteralPath $transcript } else { '' }
        }

        It 'the terminal process worked' {
            $run.TerminatingError | Should -BeNullOrEmpty
            $run.Errors | Should -BeNullOrEmpty
            $run.ExitCode | Should -Be 0
            $outcome.Origin | Should -BeExactly 'Generated'
        }

        It 'shows each of the 3 components on the terminal once, as 16 groups of 4 hex digits with a check value' {
            $shown.Count | Should -Be 3
            @($shown.Hex | Select-Object -Unique).Count | Should -Be 3
            foreach ($n in 1..3) { $run.Terminal.Contains("Custodian $n of 3") | Should -BeTrue -Because "custodian $n gets a component" }
        }

        It 'shows each component with its own check value' {
            foreach ($component in $shown) {
                Get-TestCheckValue -Key $component.Bytes -SizeBits 256 | Should -BeExactly $component.CheckValue
            }
        }

        It 'stores the transport key the components XOR to' {
            $expected = Get-TestCheckValue -Key (Get-TestXor -Component $shown) -SizeBits 256
            $outcome.CheckValue | Should -BeExactly $expected
            $stored = Get-TransportKey -TokenLabel 'GenTerminal'
            $stored.CheckValue | Should -BeExactly $expected
            $stored.Origin | Should -Be 'Generated'
        }

        It 'erases each component from the screen after Enter' {
            $erase = "`e[1A`e[2K`e[1A`e[2K"
            foreach ($component in $shown) {
                $at = $run.Terminal.IndexOf($component.Grouped, [StringComparison]::Ordinal)
                $run.Terminal.IndexOf($erase, $at, [StringComparison]::Ordinal) | Should -BeGreaterThan $at
            }
        }

        It 'refuses to generate over the existing transport key without -Force' {
            $outcome.Again | Should -BeExactly "TransportKeyExists,$cmd"
        }

        It 'lets the custodians provision another node with the components shown' {
            Initialize-TestKeyStore -TokenLabel 'GenPeer'
            $secure = @($shown | ForEach-Object { ConvertTo-SecureString -String $_.Grouped -AsPlainText -Force })
            $info = Set-TransportKey -TokenLabel 'GenPeer' -Component $secure -ComponentCheckValue $shown.CheckValue -Confirm:$false
            $info.CheckValue | Should -BeExactly (Get-TransportKey -TokenLabel 'GenTerminal').CheckValue
        }

        It 'keeps the components out of the transcript' {
            # Canaries: the check finds the components where they are, and the transcript did record the session.
            @(Find-TestSecret -Text $run.Terminal -Secret @($shown.Grouped)).Count | Should -Be 3
            $transcriptText.Contains($outcome.CheckValue) | Should -BeTrue -Because 'the transcript recorded the session (canary)'
            Find-TestSecret -Text $transcriptText -Secret @(Get-ComponentText $shown) | Should -BeNullOrEmpty -Because 'no component may reach a transcript'
            [regex]::IsMatch($transcriptText, '[0-9A-F]{4}( [0-9A-F]{4}){15}') | Should -BeFalse -Because 'nothing shaped like a component may reach a transcript'
        }
    }
}
