#Requires -Version 7.2
# Initialize-KeyStore: creates the node's SoftHSM2 token, node.json and an owner-only PIN file,
# refuses to touch an existing store, and never writes or prints the PIN anywhere else.

Describe 'Initialize-KeyStore' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode -NoInitialize
        $nodeJson = Join-Path $node 'node.json'
        $pinFile = Join-Path $node 'QKDLite.pin'
        $cmd = 'QKDLite.Commands.InitializeKeyStoreCommand'

        # Everything the first Initialize-KeyStore writes to any stream, as text.
        # (-Debug would make a compiled cmdlet ask before each debug message: use the preference.)
        $records = & {
            $DebugPreference = 'Continue'
            $InformationPreference = 'Continue'
            @(Initialize-KeyStore -NewPinFile -Verbose *>&1)
        }
        $info = @($records | Where-Object { $_ -is [QKDLite.Core.KeyStore.KeyStoreInfo] })
        $streamText = ($records | ForEach-Object {
                if ($_ -is [System.Management.Automation.InformationalRecord]) { $_.Message } else { $_ | Format-List * | Out-String }
            }) -join "`n"
    }

    AfterAll {
        Remove-TestNode -Path $node
    }

    Context 'a new local key store' {
        It 'returns one KeyStoreInfo for the new, empty token' {
            $info.Count | Should -Be 1
            $info[0].TokenLabel | Should -BeExactly 'QKDLite'
            $info[0].KeyCount | Should -Be 0
            $info[0].SoftHsmConfig | Should -Be (Join-Path $node 'softhsm2.conf')
            $info[0].LibraryPath | Should -Exist
        }

        It 'records the store in node.json, with the PIN file but no PIN' {
            $config = Get-Content -Raw -LiteralPath $nodeJson | ConvertFrom-Json
            $config.KeyStore.TokenLabel | Should -BeExactly 'QKDLite'
            $config.KeyStore.Library | Should -Exist
            $config.KeyStore.SoftHsmConfig | Should -Be (Join-Path $node 'softhsm2.conf')
            $config.KeyStore.PinFile | Should -Be $pinFile
            @($config.KeyStore.PSObject.Properties.Name | Where-Object { $_ -notin 'Library', 'TokenLabel', 'SoftHsmConfig', 'PinFile', 'PinEnvironmentVariable' }) |
                Should -BeNullOrEmpty -Because 'the node configuration names where the PIN is, never the PIN'
        }

        It 'writes the generated PIN to a file only its owner can read or write' -Skip:$IsWindows {
            (Get-Item -LiteralPath $pinFile).UnixFileMode | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite')
            (Get-Content -Raw -LiteralPath $pinFile).Trim().Length | Should -BeGreaterOrEqual 16
        }

        It 'makes the data directory and the token directory owner-only (700)' -Skip:$IsWindows {
            $ownerAll = [IO.UnixFileMode]'UserRead, UserWrite, UserExecute'
            (Get-Item -LiteralPath $node).UnixFileMode | Should -Be $ownerAll
            (Get-Item -LiteralPath (Join-Path $node 'tokens')).UnixFileMode | Should -Be $ownerAll
        }

        It 'never writes the PIN to any other file of the node (node.json, softhsm2.conf, token files)' {
            $pin = [IO.File]::ReadAllText($pinFile).Trim()
            $others = @(Get-ChildItem -LiteralPath $node -Recurse -File | Where-Object FullName -NE $pinFile)
            $others.Name | Should -Contain 'node.json'
            $others.Name | Should -Contain 'softhsm2.conf'
            foreach ($file in $others) {
                # Latin-1 maps every byte to one character, so binary token files can be searched too.
                [Text.Encoding]::Latin1.GetString([IO.File]::ReadAllBytes($file.FullName)).Contains($pin) |
                    Should -BeFalse -Because "$($file.FullName) must not contain the PIN"
            }
        }

        It 'never shows the PIN in output, verbose, debug, warning or information streams' {
            $pin = [IO.File]::ReadAllText($pinFile).Trim()
            $streamText | Should -Match 'QKDLite' -Because 'the streams were captured'
            $streamText.Contains($pin) | Should -BeFalse
        }

        It 'selects the new store for the session' {
            (Get-KeyStore).TokenLabel | Should -BeExactly 'QKDLite'
            $null = New-QuantumKey -KeyId 'INIT' -Count 1
            (Get-KeyCount -KeyId 'INIT').Count | Should -Be 1
        }
    }

    Context 'a store that exists already' {
        BeforeAll {
            $configBefore = Get-Content -Raw -LiteralPath $nodeJson
            $pinBefore = [IO.File]::ReadAllBytes($pinFile)
            $pinTimeBefore = (Get-Item -LiteralPath $pinFile).LastWriteTimeUtc
            $stateBefore = Get-TestStoreState
        }

        # Regression (fixed): the PIN file is written before the token is looked for, so a second run with
        # -NewPinFile reports PinFileExists, which does not tell the user that the store exists.
        It 'refuses a second -NewPinFile initialization with KeyStoreExists' {
            { Initialize-KeyStore -NewPinFile -WarningAction SilentlyContinue } |
                Should -Throw -ErrorId "KeyStoreExists,$cmd"
        }

        It 'refuses a second initialization with another PIN source with KeyStoreExists (ResourceExists)' {
            $variable = 'QKDLITE_TEST_SECOND_PIN'
            Set-Item -Path "env:$variable" -Value 'second-pin-1234'
            try {
                $err = { Initialize-KeyStore -PinEnvironmentVariable $variable -WarningAction SilentlyContinue } |
                    Should -Throw -ErrorId "KeyStoreExists,$cmd" -PassThru
                $err.CategoryInfo.Category | Should -Be 'ResourceExists'
                $err.TargetObject | Should -BeExactly 'QKDLite'
            }
            finally { Remove-Item -Path "env:$variable" -ErrorAction Ignore }
        }

        It 'leaves node.json, the PIN file and the keys as they were' {
            Get-Content -Raw -LiteralPath $nodeJson | Should -BeExactly $configBefore
            [IO.File]::ReadAllBytes($pinFile) | Should -Be $pinBefore
            (Get-Item -LiteralPath $pinFile).LastWriteTimeUtc | Should -Be $pinTimeBefore
            Get-TestStoreState | Should -BeExactly $stateBefore
        }
    }

    Context 'bad input and -WhatIf' {
        BeforeAll {
            $configBefore = Get-Content -Raw -LiteralPath $nodeJson
            $stateBefore = Get-TestStoreState
        }

        It '-WhatIf creates no directory, token, PIN file or configuration' {
            $target = Join-Path $node 'whatif-home'
            $output = Initialize-KeyStore -Path $target -TokenLabel 'WhatIf' -NewPinFile -WhatIf
            $output | Should -BeNullOrEmpty
            $target | Should -Not -Exist
            Initialize-KeyStore -TokenLabel 'WhatIf' -NewPinFile -WhatIf
            Join-Path $node 'WhatIf.pin' | Should -Not -Exist
            Get-Content -Raw -LiteralPath $nodeJson | Should -BeExactly $configBefore
            $lib = (Get-KeyStore).LibraryPath
            { Connect-KeyStore -Library $lib -TokenLabel 'WhatIf' -SoftHsmConfig (Join-Path $node 'softhsm2.conf') -Pin (ConvertTo-SecureString 'any-pin-1234' -AsPlainText -Force) } |
                Should -Throw -ErrorId 'KeyStoreTokenNotFound,QKDLite.Commands.ConnectKeyStoreCommand'
        }

        It 'reports a missing PKCS#11 library as KeyStoreLibraryNotFound (NotInstalled) and leaves no PIN file' {
            $err = { Initialize-KeyStore -TokenLabel 'NoLibrary' -NewPinFile -Library '/nonexistent/lib.so' -WarningAction SilentlyContinue } |
                Should -Throw -ErrorId "KeyStoreLibraryNotFound,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'NotInstalled'
            Join-Path $node 'NoLibrary.pin' | Should -Not -Exist
            Get-Content -Raw -LiteralPath $nodeJson | Should -BeExactly $configBefore
        }

        It 'rejects the token label <Name> with TokenLabelInvalid (InvalidArgument) and writes no PIN file' -TestCases @(
            @{ Name = 'of 33 bytes'; Label = 'L' * 33; PinFile = ('L' * 33) + '.pin' }
            @{ Name = "'../escape' (it names the PIN file)"; Label = '../escape'; PinFile = '../escape.pin' }
            @{ Name = "' padded'"; Label = ' padded'; PinFile = ' padded.pin' }
        ) {
            $err = { Initialize-KeyStore -TokenLabel $Label -NewPinFile -WarningAction SilentlyContinue } |
                Should -Throw -ErrorId "TokenLabelInvalid,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
            Join-Path $node $PinFile | Should -Not -Exist
        }

        It 'rejects a new PIN shorter than 4 characters with PinLengthInvalid and creates no token' {
            $short = ConvertTo-SecureString 'abc' -AsPlainText -Force
            $err = { Initialize-KeyStore -TokenLabel 'ShortPin' -Pin $short -WarningAction SilentlyContinue } |
                Should -Throw -ErrorId "PinLengthInvalid,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $lib = (Get-KeyStore).LibraryPath
            { Connect-KeyStore -Library $lib -TokenLabel 'ShortPin' -SoftHsmConfig (Join-Path $node 'softhsm2.conf') -Pin $short } |
                Should -Throw -ErrorId 'KeyStoreTokenNotFound,QKDLite.Commands.ConnectKeyStoreCommand'
        }

        It 'reports an unset PIN variable as PinEnvironmentVariableNotSet' {
            { Initialize-KeyStore -TokenLabel 'NoVariable' -PinEnvironmentVariable 'QKDLITE_TEST_UNSET_VARIABLE' -WarningAction SilentlyContinue } |
                Should -Throw -ErrorId "PinEnvironmentVariableNotSet,$cmd"
        }

        It 'changed neither node.json nor the keys' {
            Get-Content -Raw -LiteralPath $nodeJson | Should -BeExactly $configBefore
            Get-TestStoreState | Should -BeExactly $stateBefore
        }
    }

    Context '-PinFile' {
        It 'refuses a PIN file that others can read with PinFileNotOwnerOnly, and creates no token' -Skip:$IsWindows {
            $open = Join-Path $node 'open.pin'
            [IO.File]::WriteAllText($open, 'open-pin-1234')
            [IO.File]::SetUnixFileMode($open, [IO.UnixFileMode]'UserRead, UserWrite, OtherRead')
            { Initialize-KeyStore -TokenLabel 'OpenPin' -PinFile $open -WarningAction SilentlyContinue } |
                Should -Throw -ErrorId "PinFileNotOwnerOnly,$cmd"
            $lib = (Get-KeyStore).LibraryPath
            { Connect-KeyStore -Library $lib -TokenLabel 'OpenPin' -SoftHsmConfig (Join-Path $node 'softhsm2.conf') -Pin (ConvertTo-SecureString 'open-pin-1234' -AsPlainText -Force) } |
                Should -Throw -ErrorId 'KeyStoreTokenNotFound,QKDLite.Commands.ConnectKeyStoreCommand'
        }

        It 'uses an existing owner-only PIN file and records it in node.json' {
            $own = Join-Path $node 'own.pin'
            [IO.File]::WriteAllText($own, "own-pin-$([guid]::NewGuid().ToString('N').Substring(0, 12))`n")
            if (-not $IsWindows) { [IO.File]::SetUnixFileMode($own, [IO.UnixFileMode]'UserRead, UserWrite') }
            $before = [IO.File]::ReadAllBytes($own)
            # A node whose node.json names no key store yet: Initialize-KeyStore records the new one.
            Remove-Item -LiteralPath $nodeJson
            (Initialize-KeyStore -TokenLabel 'FileStore' -PinFile $own -WarningAction SilentlyContinue).TokenLabel | Should -BeExactly 'FileStore'
            $config = Get-Content -Raw -LiteralPath $nodeJson | ConvertFrom-Json
            $config.KeyStore.TokenLabel | Should -BeExactly 'FileStore'
            $config.KeyStore.PinFile | Should -Be $own
            [IO.File]::ReadAllBytes($own) | Should -Be $before -Because 'an existing PIN file is only read'
            Disconnect-KeyStore
            (Get-KeyStore).TokenLabel | Should -BeExactly 'FileStore' -Because 'the recorded PIN file opens the new token'
        }
    }

    Context '-PinEnvironmentVariable' {
        BeforeAll {
            $variable = 'QKDLITE_TEST_PIN_' + [guid]::NewGuid().ToString('N').Substring(0, 8).ToUpperInvariant()
            $pin = 'Env' + [guid]::NewGuid().ToString('N').Substring(0, 20)
            Set-Item -Path "env:$variable" -Value $pin
            # A node whose node.json names no key store yet: Initialize-KeyStore records the new one.
            Remove-Item -LiteralPath $nodeJson
            $envInfo = Initialize-KeyStore -TokenLabel 'EnvStore' -PinEnvironmentVariable $variable -WarningAction SilentlyContinue
            $null = New-QuantumKey -KeyId 'ENVSTORE' -Count 2
        }

        AfterAll {
            Remove-Item -Path "env:$variable" -ErrorAction Ignore
        }

        It 'records the variable name (not its value) in node.json' {
            $envInfo.TokenLabel | Should -BeExactly 'EnvStore'
            $text = Get-Content -Raw -LiteralPath $nodeJson
            $config = $text | ConvertFrom-Json
            $config.KeyStore.TokenLabel | Should -BeExactly 'EnvStore'
            $config.KeyStore.PinEnvironmentVariable | Should -BeExactly $variable
            $config.KeyStore.PSObject.Properties.Name | Should -Not -Contain 'PinFile'
            $text.Contains($pin) | Should -BeFalse
        }

        It 'lets a fresh process connect through the variable, and not without it' {
            # The child inherits the variable from this process's environment, not from its command line.
            $result = Invoke-TestChildProcess -ArgumentList @{ Variable = $variable } -ScriptBlock {
                param($Variable)
                $store = Get-KeyStore
                Disconnect-KeyStore
                Remove-Item -Path "env:$Variable"
                $errorId = try { $null = Get-KeyStore; 'connected' } catch { $_.FullyQualifiedErrorId }
                [pscustomobject]@{ TokenLabel = $store.TokenLabel; KeyCount = $store.KeyCount; WithoutVariable = $errorId }
            }
            $result.TerminatingError | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 1
            $result.Output[0].TokenLabel | Should -BeExactly 'EnvStore'
            $result.Output[0].KeyCount | Should -Be 2
            $result.Output[0].WithoutVariable | Should -BeExactly 'PinEnvironmentVariableNotSet,QKDLite.Commands.GetKeyStoreCommand'
            "$($result.StdOut)$($result.StdErr)".Contains($pin) | Should -BeFalse
        }
    }
}
