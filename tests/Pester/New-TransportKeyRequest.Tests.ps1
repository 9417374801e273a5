#Requires -Version 7.2
# New-TransportKeyRequest and the ML-KEM-1024 parameter sets of Set-TransportKey: the receiving node
# publishes an encapsulation key, the sending node encapsulates to it (-EncapsulationKey) and hands
# back a ciphertext, the receiving node completes its pending request with it (-Ciphertext); both
# then hold the same transport key. Only public values travel; bad ones change nothing.

Describe 'New-TransportKeyRequest and the ML-KEM transfer' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $cmd = 'QKDLite.Commands.NewTransportKeyRequestCommand'
        $setCmd = 'QKDLite.Commands.SetTransportKeyCommand'
        # Everything an ML-KEM-1024 encapsulation key and ciphertext are long (FIPS 203).
        $encapsulationKeyBytes = 1568
        $ciphertextBytes = 1568
        Initialize-TestKeyStore -TokenLabel 'NodeA'
        Initialize-TestKeyStore -TokenLabel 'NodeB'

        function Get-Fingerprint([string]$Base64) {
            [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData([Convert]::FromBase64String($Base64)), 0, 8)
        }
    }

    AfterAll {
        Remove-TestNode -Path $node
    }

    Context 'a request' {
        BeforeAll {
            Initialize-TestKeyStore -TokenLabel 'Requester'
            $null = New-QuantumKey -TokenLabel 'Requester' -KeyId 'BEFORE' -Count 2
            $state = Get-TestTokenState -TokenLabel 'Requester'
            $before = [DateTimeOffset]::UtcNow.AddSeconds(-5)
            $request = New-TransportKeyRequest -TokenLabel 'Requester'
        }

        It 'returns an ML-KEM-1024 encapsulation key (Base64) and a 16-hex-digit fingerprint of it' {
            $request | Should -BeOfType ([QKDLite.Core.TransportKeys.TransportKeyRequest])
            $request.EncapsulationKey | Should -MatchExactly '^[A-Za-z0-9+/]+={0,2}$'
            [Convert]::FromBase64String($request.EncapsulationKey).Length | Should -Be $encapsulationKeyBytes
            $request.Fingerprint | Should -MatchExactly '^[0-9A-F]{16}$'
            $request.Fingerprint | Should -BeExactly (Get-Fingerprint $request.EncapsulationKey) -Because 'the fingerprint is the first 8 bytes of SHA-256 of the encapsulation key'
            $request.TokenLabel | Should -BeExactly 'Requester'
            $request.Created | Should -BeGreaterThan $before
            "$request" | Should -BeExactly $request.EncapsulationKey
        }

        It 'shows the fingerprint, not the whole encapsulation key, in its default view' {
            $text = $request | Out-String
            $text | Should -Match "Fingerprint\s*:\s*$($request.Fingerprint)"
            $text | Should -Not -Match ([regex]::Escape($request.EncapsulationKey.Substring(0, 40)))
        }

        It 'creates no quantum key and no transport key' {
            Get-TestTokenState -TokenLabel 'Requester' | Should -BeExactly $state
            (Get-KeyStore -TokenLabel 'Requester').KeyCount | Should -Be 2
            Get-QuantumKey -TokenLabel 'Requester' -Label 'QKDLite transport key request' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Remove-QuantumKey -TokenLabel 'Requester' -Label 'QKDLite transport key request' -Force -ErrorAction SilentlyContinue -ErrorVariable removeErrors
            $removeErrors[0].FullyQualifiedErrorId | Should -BeExactly 'KeyNotFound,QKDLite.Commands.RemoveQuantumKeyCommand'
        }

        It 'makes a new key pair each time' {
            $second = New-TransportKeyRequest -TokenLabel 'Requester'
            $second.EncapsulationKey | Should -Not -BeExactly $request.EncapsulationKey
            $second.Fingerprint | Should -Not -BeExactly $request.Fingerprint
        }

        It '-WhatIf creates no request' {
            Initialize-TestKeyStore -TokenLabel 'RequestWhatIf'
            New-TransportKeyRequest -TokenLabel 'RequestWhatIf' -WhatIf | Should -BeNullOrEmpty
            Initialize-TestKeyStore -TokenLabel 'WhatIfSender'
            $sent = Set-TransportKey -TokenLabel 'WhatIfSender' -EncapsulationKey $request.EncapsulationKey -Confirm:$false
            { Set-TransportKey -TokenLabel 'RequestWhatIf' -Ciphertext $sent.Ciphertext -Confirm:$false } |
                Should -Throw -ErrorId "TransportKeyRequestNotFound,$setCmd"
        }
    }

    Context 'a transfer from NodeA (sending) to NodeB (receiving)' {
        BeforeAll {
            $request = New-TransportKeyRequest -TokenLabel 'NodeB'
            $sent = Set-TransportKey -TokenLabel 'NodeA' -EncapsulationKey $request.EncapsulationKey -Confirm:$false
            $received = Set-TransportKey -TokenLabel 'NodeB' -Ciphertext $sent.Ciphertext -Confirm:$false
        }

        It 'the sending node returns the ciphertext for the receiving node' {
            $sent | Should -BeOfType ([QKDLite.Core.TransportKeys.TransportKeyInfo])
            $sent.Origin | Should -Be 'MlKemEncapsulation'
            $sent.TokenLabel | Should -BeExactly 'NodeA'
            $sent.CheckValue | Should -MatchExactly '^[0-9A-F]{6}$'
            # QKDLTK1.<fingerprint of the request it answers>.<Base64 ML-KEM-1024 ciphertext>.<key confirmation>
            $sent.Ciphertext | Should -MatchExactly '^QKDLTK1\.[0-9A-F]{16}\.[A-Za-z0-9+/]+={0,2}\.[0-9A-F]{32}$'
            $parts = $sent.Ciphertext.Split('.')
            $parts[1] | Should -BeExactly $request.Fingerprint
            [Convert]::FromBase64String($parts[2]).Length | Should -Be $ciphertextBytes
            ($sent | Out-String) | Should -Match 'Ciphertext\s*:.*Set-TransportKey -Ciphertext'
        }

        It 'the receiving node derives the same transport key' {
            $received.Origin | Should -Be 'MlKemDecapsulation'
            $received.TokenLabel | Should -BeExactly 'NodeB'
            $received.CheckValue | Should -BeExactly $sent.CheckValue
            $received.Ciphertext | Should -BeNullOrEmpty
        }

        It 'both stores keep it' {
            $a = Get-TransportKey -TokenLabel 'NodeA'
            $b = Get-TransportKey -TokenLabel 'NodeB'
            $a.CheckValue | Should -BeExactly $sent.CheckValue
            $b.CheckValue | Should -BeExactly $sent.CheckValue
            $a.Origin | Should -Be 'MlKemEncapsulation'
            $b.Origin | Should -Be 'MlKemDecapsulation'
            $a.Ciphertext | Should -BeNullOrEmpty -Because 'the ciphertext is handed out once, not stored'
        }

        It 'a key exported on NodeA imports on NodeB' {
            $key = New-QuantumKey -TokenLabel 'NodeA' -KeyId 'MLKEM'
            $imported = $key | Export-QuantumKey -TokenLabel 'NodeA' | Import-QuantumKey -TokenLabel 'NodeB'
            $imported.Label | Should -BeExactly $key.Label
            $imported.CheckValue | Should -BeExactly $key.CheckValue
        }

        It 'the request is used up: a second completion fails with TransportKeyRequestNotFound and changes nothing' {
            $state = Get-TestTokenState -TokenLabel 'NodeB'
            $err = { Set-TransportKey -TokenLabel 'NodeB' -Ciphertext $sent.Ciphertext -Force -Confirm:$false } |
                Should -Throw -ErrorId "TransportKeyRequestNotFound,$setCmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $err.TargetObject | Should -BeExactly 'NodeB'
            Get-TestTokenState -TokenLabel 'NodeB' | Should -BeExactly $state
        }

        It 'without -Force a second completion is refused for the existing transport key' {
            { Set-TransportKey -TokenLabel 'NodeB' -Ciphertext $sent.Ciphertext -Confirm:$false } |
                Should -Throw -ErrorId "TransportKeyExists,$setCmd"
            (Get-TransportKey -TokenLabel 'NodeB').CheckValue | Should -BeExactly $sent.CheckValue
        }

        It 'completes in another process than the one that made the request' {
            Initialize-TestKeyStore -TokenLabel 'Later'
            $laterRequest = New-TransportKeyRequest -TokenLabel 'Later'
            $laterSent = Set-TransportKey -TokenLabel 'NodeA' -EncapsulationKey $laterRequest.EncapsulationKey -Force -Confirm:$false
            $result = Invoke-TestChildProcess -ArgumentList @{ Connection = (Get-TestKeyStoreConnection -TokenLabel 'Later'); Ciphertext = $laterSent.Ciphertext } -ScriptBlock {
                param($Connection, $Ciphertext)
                Connect-KeyStore @Connection
                (Set-TransportKey -Ciphertext $Ciphertext -Confirm:$false).CheckValue
            }
            $result.TerminatingError | Should -BeNullOrEmpty
            $result.Output | Should -Be @($laterSent.CheckValue)
            (Get-TransportKey -TokenLabel 'Later').CheckValue | Should -BeExactly $laterSent.CheckValue
        }
    }

    Context 'bad input changes nothing' {
        BeforeAll {
            Initialize-TestKeyStore -TokenLabel 'Sender'
            Initialize-TestKeyStore -TokenLabel 'Receiver'
            $pending = New-TransportKeyRequest -TokenLabel 'Receiver'
            $random = [byte[]]::new($encapsulationKeyBytes)
            [System.Security.Cryptography.RandomNumberGenerator]::Fill($random)
        }

        BeforeEach {
            $states = @{ Sender = Get-TestTokenState -TokenLabel 'Sender'; Receiver = Get-TestTokenState -TokenLabel 'Receiver' }
        }

        AfterEach {
            Get-TestTokenState -TokenLabel 'Sender' | Should -BeExactly $states.Sender
            Get-TestTokenState -TokenLabel 'Receiver' | Should -BeExactly $states.Receiver
        }

        It 'rejects an encapsulation key that <Name> with EncapsulationKeyInvalid' -TestCases @(
            @{ Name = 'is not Base64'; Text = '!!! not base64 ***' }
            @{ Name = 'is 100 bytes'; Text = [Convert]::ToBase64String([byte[]](1..100)) }
            @{ Name = 'has coefficients above the modulus'; Text = [Convert]::ToBase64String([byte[]](@(255) * 1536 + @(0) * 32)) }
            @{ Name = 'is 1568 random bytes'; Text = 'RANDOM' }
        ) {
            if ($Text -eq 'RANDOM') { $Text = [Convert]::ToBase64String($random) }
            $err = { Set-TransportKey -TokenLabel 'Sender' -EncapsulationKey $Text -Confirm:$false } |
                Should -Throw -ErrorId "EncapsulationKeyInvalid,$setCmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'InvalidData'
            Get-TransportKey -TokenLabel 'Sender' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }

        It 'rejects a ciphertext that <Name> with CiphertextInvalid and keeps the request pending' -TestCases @(
            @{ Name = 'is a word'; Make = { param($fp) 'AAAA' } }
            @{ Name = 'is bare Base64 without the QKDLTK1 form'; Make = { param($fp) [Convert]::ToBase64String([byte[]]::new(1568)) } }
            @{ Name = 'has a Base64 part that is not Base64'; Make = { param($fp) "QKDLTK1.$fp.%%% not base64" } }
            @{ Name = 'has a short fingerprint'; Make = { param($fp) "QKDLTK1.$($fp.Substring(0, 8)).$([Convert]::ToBase64String([byte[]]::new(1568)))" } }
            @{ Name = 'is one byte short'; Make = { param($fp) "QKDLTK1.$fp.$([Convert]::ToBase64String([byte[]]::new(1567)))" } }
        ) {
            $text = & $Make $pending.Fingerprint
            $err = { Set-TransportKey -TokenLabel 'Receiver' -Ciphertext $text -Confirm:$false } |
                Should -Throw -ErrorId "CiphertextInvalid,$setCmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'InvalidData'
        }

        It 'refuses a ciphertext made for another request (TransportKeyRequestMismatch) and keeps the request pending' {
            $other = "QKDLTK1.0123456789ABCDEF.$([Convert]::ToBase64String([byte[]]::new($ciphertextBytes))).$('0' * 32)"
            $err = { Set-TransportKey -TokenLabel 'Receiver' -Ciphertext $other -Confirm:$false } |
                Should -Throw -ErrorId "TransportKeyRequestMismatch,$setCmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'InvalidData'
            $err.Exception.Message | Should -BeLike "*$($pending.Fingerprint)*"
        }

        It 'refuses a ciphertext on a store without a pending request (TransportKeyRequestNotFound)' {
            $wellFormed = "QKDLTK1.$($pending.Fingerprint).$([Convert]::ToBase64String([byte[]]::new($ciphertextBytes))).$('0' * 32)"
            { Set-TransportKey -TokenLabel 'Sender' -Ciphertext $wellFormed -Confirm:$false } |
                Should -Throw -ErrorId "TransportKeyRequestNotFound,$setCmd"
        }

        It 'completes the pending request after the bad ciphertexts' {
            $sent = Set-TransportKey -TokenLabel 'NodeA' -EncapsulationKey $pending.EncapsulationKey -Force -Confirm:$false
            $received = Set-TransportKey -TokenLabel 'Receiver' -Ciphertext $sent.Ciphertext -Confirm:$false
            $received.CheckValue | Should -BeExactly $sent.CheckValue
            $states.Receiver = Get-TestTokenState -TokenLabel 'Receiver'
        }
    }

    Context 'existing transport keys' {
        BeforeAll {
            Initialize-TestKeyStore -TokenLabel 'Holder'
            $components = @(New-TestKeyComponent -Count 2)
            $held = Set-TransportKey -TokenLabel 'Holder' -Component $components.Secure -ComponentCheckValue $components.CheckValue -Confirm:$false
            $peerRequest = New-TransportKeyRequest -TokenLabel 'NodeB'
        }

        It 'the sending node refuses to replace its transport key without -Force' {
            $err = { Set-TransportKey -TokenLabel 'Holder' -EncapsulationKey $peerRequest.EncapsulationKey -Confirm:$false } |
                Should -Throw -ErrorId "TransportKeyExists,$setCmd" -PassThru
            $err.TargetObject | Should -BeExactly 'Holder'
            (Get-TransportKey -TokenLabel 'Holder').CheckValue | Should -BeExactly $held.CheckValue
        }

        It 'the receiving node refuses without -Force and keeps both its transport key and its request' {
            $request = New-TransportKeyRequest -TokenLabel 'Holder'
            $sent = Set-TransportKey -TokenLabel 'NodeA' -EncapsulationKey $request.EncapsulationKey -Force -Confirm:$false
            { Set-TransportKey -TokenLabel 'Holder' -Ciphertext $sent.Ciphertext -Confirm:$false } |
                Should -Throw -ErrorId "TransportKeyExists,$setCmd"
            (Get-TransportKey -TokenLabel 'Holder').CheckValue | Should -BeExactly $held.CheckValue
            $replaced = Set-TransportKey -TokenLabel 'Holder' -Ciphertext $sent.Ciphertext -Force -Confirm:$false
            $replaced.CheckValue | Should -BeExactly $sent.CheckValue
            $replaced.Origin | Should -Be 'MlKemDecapsulation'
        }

        It '-WhatIf neither encapsulates nor decapsulates' {
            $state = Get-TestTokenState -TokenLabel 'Holder'
            $request = New-TransportKeyRequest -TokenLabel 'Holder'
            $stateA = Get-TestTokenState -TokenLabel 'NodeA'
            Set-TransportKey -TokenLabel 'NodeA' -EncapsulationKey $request.EncapsulationKey -Force -WhatIf | Should -BeNullOrEmpty
            Get-TestTokenState -TokenLabel 'NodeA' | Should -BeExactly $stateA
            $sent = Set-TransportKey -TokenLabel 'NodeA' -EncapsulationKey $request.EncapsulationKey -Force -Confirm:$false
            Set-TransportKey -TokenLabel 'Holder' -Ciphertext $sent.Ciphertext -Force -WhatIf | Should -BeNullOrEmpty
            Get-TestTokenState -TokenLabel 'Holder' | Should -BeExactly $state
            # The request survived -WhatIf.
            (Set-TransportKey -TokenLabel 'Holder' -Ciphertext $sent.Ciphertext -Force -Confirm:$false).CheckValue | Should -BeExactly $sent.CheckValue
        }
    }

    # ML-KEM decapsulation with the wrong key does not fail (implicit rejection): it yields an
    # unrelated secret. The ciphertext therefore names the fingerprint of the request it answers, and a
    # ciphertext for a request that has since been replaced is refused. The fingerprint is not
    # authenticated, though: a ciphertext relabelled with the pending fingerprint still decapsulates to
    # an unrelated key, which only the administrators' comparison of check values catches.
    Context 'a new request replaces the pending one' {
        BeforeAll {
            Initialize-TestKeyStore -TokenLabel 'Replaced'
            Initialize-TestKeyStore -TokenLabel 'OldSender'
            Initialize-TestKeyStore -TokenLabel 'NewSender'
            $old = New-TransportKeyRequest -TokenLabel 'Replaced'
            $sentOld = Set-TransportKey -TokenLabel 'OldSender' -EncapsulationKey $old.EncapsulationKey -Confirm:$false
            $new = New-TransportKeyRequest -TokenLabel 'Replaced'
        }

        It 'has a different encapsulation key' {
            $new.Fingerprint | Should -Not -BeExactly $old.Fingerprint
        }

        It 'refuses the ciphertext made for the old request (TransportKeyRequestMismatch) and changes nothing' {
            $err = { Set-TransportKey -TokenLabel 'Replaced' -Ciphertext $sentOld.Ciphertext -Confirm:$false } |
                Should -Throw -ErrorId "TransportKeyRequestMismatch,$setCmd" -PassThru
            $err.Exception.Message | Should -BeLike "*$($old.Fingerprint)*"
            $err.Exception.Message | Should -BeLike "*$($new.Fingerprint)*"
            Get-TransportKey -TokenLabel 'Replaced' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }

        It 'a ciphertext relabelled with the pending fingerprint does not give the sending node''s transport key' {
            $relabelled = $sentOld.Ciphertext.Replace(".$($old.Fingerprint).", ".$($new.Fingerprint).")
            $relabelled | Should -Not -BeExactly $sentOld.Ciphertext
            $stale = $null
            $staleError = $null
            try { $stale = Set-TransportKey -TokenLabel 'Replaced' -Ciphertext $relabelled -Force -Confirm:$false -ErrorAction Stop } catch { $staleError = $_ }
            if ($staleError) {
                $staleError.FullyQualifiedErrorId | Should -BeLike "*,$setCmd"
            }
            else {
                # What happens today: the request is used up and an unrelated key is stored; the check
                # values differ, which is what the administrators compare.
                $stale.CheckValue | Should -Not -BeExactly $sentOld.CheckValue
                (Get-TransportKey -TokenLabel 'Replaced').CheckValue | Should -Not -BeExactly $sentOld.CheckValue
            }
        }

        It 'a new exchange gives both nodes the same transport key again' {
            $again = New-TransportKeyRequest -TokenLabel 'Replaced'
            $sent = Set-TransportKey -TokenLabel 'NewSender' -EncapsulationKey $again.EncapsulationKey -Confirm:$false
            $received = Set-TransportKey -TokenLabel 'Replaced' -Ciphertext $sent.Ciphertext -Force -Confirm:$false
            $received.CheckValue | Should -BeExactly $sent.CheckValue
        }
    }

    # Regression (fixed): the pending request is found by label alone (Pkcs11KeyStore.TransportKey.cs:
    # CreateTransportKeyRequest `index.Get(TransportKeyRequestLabel)` then DestroyObject, and
    # CompleteTransportKeyRequest likewise), while New-QuantumKey and Import-QuantumKey accept the label
    # "QKDLite transport key request" for a quantum key. New-TransportKeyRequest then destroys that
    # quantum key without asking, and Set-TransportKey -Ciphertext reads the quantum key's bytes as the
    # request's ML-KEM seed (before eda8fb7 it then stored a transport key derived from them and
    # destroyed the key; now the fingerprint check stops it with TransportKeyRequestMismatch naming a
    # "pending request" that does not exist). The reserved labels should be refused for keys, or the
    # request told apart by its CKA_ID record; a quantum key must never be lost or read as a seed.
    Context 'a quantum key labelled like the request object' {
        It 'is refused: labels starting with "QKDLite " are reserved (KeyLabelInvalid)' {
            Initialize-TestKeyStore -TokenLabel 'Clash1'
            { New-QuantumKey -TokenLabel 'Clash1' -KeyId 'CLASH' -Label 'QKDLite transport key request' } |
                Should -Throw -ErrorId 'KeyLabelInvalid,QKDLite.Commands.NewQuantumKeyCommand'
            (Get-KeyCount -TokenLabel 'Clash1' -KeyId 'CLASH').Count | Should -Be 0
            (New-TransportKeyRequest -TokenLabel 'Clash1').Fingerprint | Should -Match '^[0-9A-F]{16}$'
        }

        It 'Set-TransportKey -Ciphertext without a request is TransportKeyRequestNotFound and changes nothing' {
            Initialize-TestKeyStore -TokenLabel 'Clash2'
            $request = New-TransportKeyRequest -TokenLabel 'NodeB'
            $sent = Set-TransportKey -TokenLabel 'NodeA' -EncapsulationKey $request.EncapsulationKey -Force -Confirm:$false
            $err = $null
            try { $null = Set-TransportKey -TokenLabel 'Clash2' -Ciphertext $sent.Ciphertext -Confirm:$false -ErrorAction Stop } catch { $err = $_ }
            $err.FullyQualifiedErrorId | Should -BeExactly "TransportKeyRequestNotFound,$setCmd"
            Get-TransportKey -TokenLabel 'Clash2' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty -Because 'no request was pending'
        }
    }
}
