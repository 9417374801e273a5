#Requires -Version 7.2
# Disconnect-KeyStore: forgets the session's store; the next cmdlet that needs one reconnects from
# node.json (with the PIN file recorded there), or says KeyStoreNotConnected when there is none.

Describe 'Disconnect-KeyStore' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $nodeJson = Join-Path $node 'node.json'
        $pinFile = Join-Path $node 'QKDLite.pin'
        $null = New-QuantumKey -KeyId 'DISCONNECT' -Count 2
        # Completion asks only the connected store (it never connects), so it shows whether one is.
        $completion = 'Get-KeyCount -KeyId DISC'
    }

    AfterAll {
        Remove-TestNode -Path $node
    }

    It 'forgets the store: completion has nothing to offer until a cmdlet connects again' {
        Get-TestCompletion $completion | Should -Be @('DISCONNECT')
        Disconnect-KeyStore | Should -BeNullOrEmpty
        Get-TestCompletion $completion | Should -BeNullOrEmpty
    }

    It 'reconnects automatically from node.json on the next cmdlet' {
        Disconnect-KeyStore
        (Get-KeyCount -KeyId 'DISCONNECT').Count | Should -Be 2
        Get-TestCompletion $completion | Should -Be @('DISCONNECT')
    }

    It 'reads the recorded PIN file again when it reconnects' {
        $saved = [IO.File]::ReadAllBytes($pinFile)
        Disconnect-KeyStore
        try {
            [IO.File]::WriteAllText($pinFile, 'not-the-pin-1234')
            { Get-KeyCount } | Should -Throw -ErrorId 'KeyStorePinIncorrect,QKDLite.Commands.GetKeyCountCommand'
        }
        finally { [IO.File]::WriteAllBytes($pinFile, $saved) }
        (Get-KeyCount -KeyId 'DISCONNECT').Count | Should -Be 2
    }

    It 'reports KeyStoreNotConnected (InvalidOperation) after a disconnect when node.json is gone' {
        $saved = "$nodeJson.saved"
        Disconnect-KeyStore
        Move-Item -LiteralPath $nodeJson -Destination $saved
        try {
            $err = { Get-QuantumKey } | Should -Throw -ErrorId 'KeyStoreNotConnected,QKDLite.Commands.GetQuantumKeyCommand' -PassThru
            $err.CategoryInfo.Category | Should -Be 'InvalidOperation'
            $err.Exception.Message | Should -Match 'Initialize-KeyStore|Connect-KeyStore'
        }
        finally { Move-Item -LiteralPath $saved -Destination $nodeJson }
        @(Get-QuantumKey -KeyId 'DISCONNECT').Count | Should -Be 2
    }

    It 'is silent when no store is connected, and -Verbose names the store it forgets' {
        Connect-KeyStore
        $verbose = Disconnect-KeyStore -Verbose 4>&1
        "$verbose" | Should -Match "'QKDLite'"
        { Disconnect-KeyStore -ErrorAction Stop } | Should -Not -Throw
        Disconnect-KeyStore -Verbose 4>&1 | Should -BeNullOrEmpty
    }
}
