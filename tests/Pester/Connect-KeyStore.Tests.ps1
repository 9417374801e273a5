#Requires -Version 7.2
# Connect-KeyStore: selects a store from node.json or from explicit settings; every refused PIN
# source is a specific, stable error that leaves the store and the session's selection unchanged.

Describe 'Connect-KeyStore' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $cmd = 'QKDLite.Commands.ConnectKeyStoreCommand'
        $nodeJson = Join-Path $node 'node.json'
        $pinFile = Join-Path $node 'QKDLite.pin'
        $softHsmConfig = Join-Path $node 'softhsm2.conf'
        $library = (Get-Content -Raw -LiteralPath $nodeJson | ConvertFrom-Json).KeyStore.Library
        $null = New-QuantumKey -KeyId 'CONNECT' -Count 2
        $stateBefore = Get-TestStoreState

        function New-PinCopy([string]$Name, [string]$Content, [string]$Mode = 'UserRead, UserWrite') {
            $path = Join-Path $node $Name
            [IO.File]::WriteAllText($path, $Content)
            if (-not $IsWindows) { [IO.File]::SetUnixFileMode($path, [IO.UnixFileMode]$Mode) }
            $path
        }
        function Get-Pin { [IO.File]::ReadAllText($pinFile).Trim() }
    }

    AfterAll {
        Remove-TestNode -Path $node
    }

    Context 'connecting' {
        It 'connects from node.json by default and -PassThru returns the KeyStoreInfo' {
            Disconnect-KeyStore
            $info = Connect-KeyStore -PassThru
            $info | Should -BeOfType ([QKDLite.Core.KeyStore.KeyStoreInfo])
            $info.TokenLabel | Should -BeExactly 'QKDLite'
            $info.KeyCount | Should -Be 2
            $info.SoftHsmConfig | Should -Be $softHsmConfig
        }

        It 'writes nothing to the pipeline without -PassThru' {
            Connect-KeyStore | Should -BeNullOrEmpty
            (Get-KeyStore).TokenLabel | Should -BeExactly 'QKDLite'
        }

        It 'connects with explicit -Library, -TokenLabel, -SoftHsmConfig and -PinFile' {
            Disconnect-KeyStore
            $info = Connect-KeyStore -Library $library -TokenLabel 'QKDLite' -SoftHsmConfig $softHsmConfig -PinFile $pinFile -PassThru
            $info.TokenLabel | Should -BeExactly 'QKDLite'
            $info.KeyCount | Should -Be 2
            (Get-KeyCount -KeyId 'CONNECT').Count | Should -Be 2
        }

        It 'connects with the right PIN given as a SecureString' {
            $secure = ConvertTo-SecureString (Get-Pin) -AsPlainText -Force
            (Connect-KeyStore -Pin $secure -PassThru).KeyCount | Should -Be 2
        }

        It 'connects through -PinEnvironmentVariable' {
            $env:QKDLITE_TEST_CONNECT_PIN = Get-Pin
            try {
                $info = Connect-KeyStore -Library $library -TokenLabel 'QKDLite' -SoftHsmConfig $softHsmConfig -PinEnvironmentVariable 'QKDLITE_TEST_CONNECT_PIN' -PassThru
                $info.KeyCount | Should -Be 2
            }
            finally { Remove-Item env:QKDLITE_TEST_CONNECT_PIN }
        }

        It '-Save records the explicit store and its PIN file (not the PIN) in node.json' {
            $saved = Join-Path $node 'node.json.saved'
            Move-Item -LiteralPath $nodeJson -Destination $saved
            try {
                Connect-KeyStore -Library $library -TokenLabel 'QKDLite' -SoftHsmConfig $softHsmConfig -PinFile $pinFile -Save
                $text = Get-Content -Raw -LiteralPath $nodeJson
                $config = $text | ConvertFrom-Json
                $config.KeyStore.Library | Should -Be $library
                $config.KeyStore.TokenLabel | Should -BeExactly 'QKDLite'
                $config.KeyStore.SoftHsmConfig | Should -Be $softHsmConfig
                $config.KeyStore.PinFile | Should -Be $pinFile
                $text.Contains((Get-Pin)) | Should -BeFalse
                # The saved configuration is usable: a reconnect reads it.
                Disconnect-KeyStore
                (Get-KeyStore).KeyCount | Should -Be 2
            }
            finally { Move-Item -LiteralPath $saved -Destination $nodeJson -Force }
        }
    }

    Context 'refused connections change nothing' {
        BeforeEach {
            Connect-KeyStore
        }

        AfterEach {
            # Still connected to the same store, with the same keys.
            (Get-KeyStore).TokenLabel | Should -BeExactly 'QKDLite'
            Get-TestStoreState | Should -BeExactly $stateBefore
        }

        It 'refuses a wrong -Pin with KeyStorePinIncorrect (AuthenticationError)' {
            $wrong = ConvertTo-SecureString 'wrong' -AsPlainText -Force
            $err = { Connect-KeyStore -Pin $wrong } | Should -Throw -ErrorId "KeyStorePinIncorrect,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'AuthenticationError'
        }

        It 'refuses a wrong owner-only PIN file with KeyStorePinIncorrect' {
            $wrongFile = New-PinCopy -Name 'wrong.pin' -Content "not-the-pin-1234`n"
            { Connect-KeyStore -Library $library -TokenLabel 'QKDLite' -SoftHsmConfig $softHsmConfig -PinFile $wrongFile } |
                Should -Throw -ErrorId "KeyStorePinIncorrect,$cmd"
        }

        It 'refuses a PIN file that others can read with PinFileNotOwnerOnly (SecurityError)' -Skip:$IsWindows {
            $openFile = New-PinCopy -Name 'open.pin' -Content (Get-Pin) -Mode 'UserRead, UserWrite, GroupRead, OtherRead'
            $err = { Connect-KeyStore -PinFile $openFile } | Should -Throw -ErrorId "PinFileNotOwnerOnly,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'SecurityError'
            $err.TargetObject | Should -Be $openFile
        }

        It 'refuses a missing PIN file with PinFileNotFound' {
            { Connect-KeyStore -PinFile (Join-Path $node 'missing.pin') } | Should -Throw -ErrorId "PinFileNotFound,$cmd"
        }

        It 'refuses an unset PIN variable with PinEnvironmentVariableNotSet (ObjectNotFound)' {
            $err = { Connect-KeyStore -Library $library -TokenLabel 'QKDLite' -SoftHsmConfig $softHsmConfig -PinEnvironmentVariable 'QKDLITE_TEST_NOT_SET' } |
                Should -Throw -ErrorId "PinEnvironmentVariableNotSet,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $err.TargetObject | Should -BeExactly 'QKDLITE_TEST_NOT_SET'
        }

        # (Found ignored before 37aa07b: the recorded PIN file won over an explicit variable.)
        It 'uses an explicit -PinEnvironmentVariable rather than the PIN file recorded in node.json' {
            { Connect-KeyStore -PinEnvironmentVariable 'QKDLITE_TEST_NOT_SET' } |
                Should -Throw -ErrorId "PinEnvironmentVariableNotSet,$cmd"
            $env:QKDLITE_TEST_WRONG_PIN = 'wrong-pin-1234'
            try {
                { Connect-KeyStore -PinEnvironmentVariable 'QKDLITE_TEST_WRONG_PIN' } |
                    Should -Throw -ErrorId "KeyStorePinIncorrect,$cmd"
            }
            finally { Remove-Item env:QKDLITE_TEST_WRONG_PIN }
        }

        It 'reports an unknown token as KeyStoreTokenNotFound (ObjectNotFound)' {
            $err = { Connect-KeyStore -Library $library -TokenLabel 'NoSuchToken' -SoftHsmConfig $softHsmConfig -PinFile $pinFile } |
                Should -Throw -ErrorId "KeyStoreTokenNotFound,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $err.Exception.Message | Should -Match "'QKDLite'" -Because 'the message lists the tokens that are there'
        }

        It 'reports a missing library as KeyStoreLibraryNotFound (NotInstalled)' {
            $err = { Connect-KeyStore -Library '/nonexistent/lib.so' -TokenLabel 'QKDLite' -SoftHsmConfig $softHsmConfig -PinFile $pinFile } |
                Should -Throw -ErrorId "KeyStoreLibraryNotFound,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'NotInstalled'
        }

        It 'reports a missing SoftHSM2 configuration file as SoftHsmConfigNotFound (ObjectNotFound)' {
            $missing = Join-Path $node 'missing/softhsm2.conf'
            $err = { Connect-KeyStore -Library $library -TokenLabel 'QKDLite' -SoftHsmConfig $missing -PinFile $pinFile } |
                Should -Throw -ErrorId "SoftHsmConfigNotFound,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $err.TargetObject | Should -Be $missing
        }

        It 'reports a missing configuration file as NodeConfigurationNotFound' {
            { Connect-KeyStore -ConfigurationPath (Join-Path $node 'missing.json') } | Should -Throw -ErrorId "NodeConfigurationNotFound,$cmd"
        }

        It 'reports a malformed configuration file as NodeConfigurationInvalid (InvalidData)' {
            $bad = Join-Path $node 'bad.json'
            Set-Content -LiteralPath $bad -Value '{ "KeyStore": { "Library": '
            $err = { Connect-KeyStore -ConfigurationPath $bad } | Should -Throw -ErrorId "NodeConfigurationInvalid,$cmd" -PassThru
            $err.CategoryInfo.Category | Should -Be 'InvalidData'
        }

        It 'reports a missing PIN in a non-interactive session as KeyStorePinMissing (fresh process)' {
            $result = Invoke-TestChildProcess -ArgumentList @{ Library = $library; SoftHsmConfig = $softHsmConfig } -ScriptBlock {
                param($Library, $SoftHsmConfig)
                Connect-KeyStore -Library $Library -TokenLabel 'QKDLite' -SoftHsmConfig $SoftHsmConfig
            }
            $result.TerminatingError.FullyQualifiedErrorId | Should -BeExactly "KeyStorePinMissing,$cmd"
            $result.TerminatingError.Category | Should -Be 'AuthenticationError'
            $result.ExitCode | Should -Not -Be 0
        }

        # Regression (fixed): the open-store cache is keyed by the library path as written, and a second path
        # to the same library (a symlink) reaches a token this process is already logged in to;
        # CKR_USER_ALREADY_LOGGED_IN is then taken as success, so the PIN is never checked.
        It 'refuses a wrong PIN when the library is named through another path (symlink)' -Skip:$IsWindows {
            $alias = Join-Path $node 'alias-libsofthsm2.so'
            $null = New-Item -ItemType SymbolicLink -Path $alias -Target $library -Force
            $wrong = ConvertTo-SecureString 'wrong' -AsPlainText -Force
            try {
                { Connect-KeyStore -Library $alias -TokenLabel 'QKDLite' -SoftHsmConfig $softHsmConfig -Pin $wrong } |
                    Should -Throw -ErrorId "KeyStorePinIncorrect,$cmd"
            }
            finally { Connect-KeyStore }
        }

        # Regression (fixed): the library is looked for only after SOFTHSM2_CONF was switched to the new
        # configuration, and a failure does not switch it back, so the next connection to the real
        # store fails with SoftHsmConfigurationConflict until PowerShell is restarted.
        It 'still connects to the real store after a missing library with another SoftHSM2 configuration' {
            # A real configuration of another token directory, as for a second node on this machine.
            $other = Join-Path $node 'other'
            $null = New-Item -ItemType Directory -Path (Join-Path $other 'tokens') -Force
            $otherConfig = Join-Path $other 'softhsm2.conf'
            Set-Content -LiteralPath $otherConfig -Value "directories.tokendir = $other/tokens`nobjectstore.backend = file`n"
            try {
                { Connect-KeyStore -Library '/nonexistent/lib.so' -TokenLabel 'Other' -SoftHsmConfig $otherConfig -PinFile $pinFile } |
                    Should -Throw -ErrorId "KeyStoreLibraryNotFound,$cmd"
                { Connect-KeyStore } | Should -Not -Throw
            }
            finally {
                # Undo the damage for the rest of this file: the same bug switches SOFTHSM2_CONF back.
                try { Connect-KeyStore -Library '/nonexistent/lib.so' -TokenLabel 'QKDLite' -SoftHsmConfig $softHsmConfig -PinFile $pinFile } catch { $null = $_ }
                Connect-KeyStore
            }
        }
    }
}
