#Requires -Version 7.2
# Submit-, Complete-, Undo- and Get-QuantumKeyTransaction: a node's side of two-phase replication.
# NodeA exports key blocks; NodeB prepares them as pending (invisible), then commits or aborts.
# The node's own record (SQLite, in the data directory) refuses replays and flips, also in a new process.

Describe 'QuantumKeyTransaction cmdlets' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $components = @(New-TestKeyComponent -Count 2)
        foreach ($token in 'NodeA', 'NodeB') {
            Initialize-TestKeyStore -TokenLabel $token
            $null = Set-TransportKey -TokenLabel $token -Component $components.Secure -ComponentCheckValue $components.CheckValue -Confirm:$false
        }

        function New-TestBlock([int]$Count = 1, [string]$KeyId = 'TXN') {
            New-QuantumKey -TokenLabel NodeA -KeyId $KeyId -Count $Count | Export-QuantumKey -TokenLabel NodeA
        }

        function Get-Visible([string]$Label) {
            Get-QuantumKey -TokenLabel NodeB -Label $Label -ErrorAction SilentlyContinue
        }

        function Get-ErrorId([scriptblock]$Script) {
            try { & $Script; 'no error' } catch { $_.FullyQualifiedErrorId -replace ',.*$', '' }
        }
    }

    AfterAll {
        Remove-TestNode -Path $node
    }

    It 'prepares piped key blocks as pending keys that nothing lists, counts or exports' {
        $blocks = @(New-TestBlock -Count 3 -KeyId 'PENDING')
        $id = [guid]::NewGuid().ToString('N')
        $info = $blocks | Submit-QuantumKeyTransaction -TransactionId $id -TokenLabel NodeB
        $info | Should -BeOfType ([QKDLite.Core.Replication.KeyTransactionInfo])
        $info.Phase | Should -Be 'Prepared'
        $info.Operation | Should -Be 'Import'
        $info.HeldKeys | Should -Be 3
        @($info.Labels) | Should -Be @($blocks.Label)
        foreach ($block in $blocks) { Get-Visible $block.Label | Should -BeNullOrEmpty }
        (Get-KeyCount -TokenLabel NodeB -KeyId 'PENDING').Count | Should -Be 0
        { Export-QuantumKey -TokenLabel NodeB -Label $blocks[0].Label -ErrorAction Stop } | Should -Throw -ErrorId 'KeyNotFound*'
        (Get-QuantumKeyTransaction -TokenLabel NodeB -TransactionId $id).HeldKeys | Should -Be 3
    }

    It 'commits: the keys become visible with the check values they had on NodeA; repeating changes nothing' {
        $blocks = @(New-TestBlock -Count 2)
        $id = [guid]::NewGuid().ToString('N')
        $null = $blocks | Submit-QuantumKeyTransaction -TransactionId $id -TokenLabel NodeB
        $done = Complete-QuantumKeyTransaction -TransactionId $id -TokenLabel NodeB
        $done.Phase | Should -Be 'Committed'
        $done.HeldKeys | Should -Be 0
        foreach ($block in $blocks) { (Get-Visible $block.Label).CheckValue | Should -BeExactly $block.CheckValue }
        (Complete-QuantumKeyTransaction -TransactionId $id -TokenLabel NodeB).Phase | Should -Be 'Committed'
        Get-ErrorId { Undo-QuantumKeyTransaction -TransactionId $id -TokenLabel NodeB } | Should -Be 'TransactionAlreadyDecided'
        Get-ErrorId { $blocks | Submit-QuantumKeyTransaction -TransactionId $id -TokenLabel NodeB } | Should -Be 'TransactionAlreadyDecided'
        foreach ($block in $blocks) { Get-Visible $block.Label | Should -Not -BeNullOrEmpty }
    }

    It 'aborts: nothing of the transaction is left, and a late prepare for it is refused' {
        $block = New-TestBlock
        $id = [guid]::NewGuid().ToString('N')
        $null = Submit-QuantumKeyTransaction -TransactionId $id -KeyBlock $block.Text -TokenLabel NodeB
        (Undo-QuantumKeyTransaction -TransactionId $id -TokenLabel NodeB).Phase | Should -Be 'Aborted'
        Get-ErrorId { Submit-QuantumKeyTransaction -TransactionId $id -KeyBlock $block.Text -TokenLabel NodeB } | Should -Be 'TransactionAlreadyDecided'
        Get-ErrorId { Complete-QuantumKeyTransaction -TransactionId $id -TokenLabel NodeB } | Should -Be 'TransactionAlreadyDecided'
        Get-Visible $block.Label | Should -BeNullOrEmpty
        (Get-QuantumKeyTransaction -TokenLabel NodeB -TransactionId $id).HeldKeys | Should -Be 0
        # The label is free again: a new transaction may bring the same key.
        $again = [guid]::NewGuid().ToString('N')
        $null = Submit-QuantumKeyTransaction -TransactionId $again -KeyBlock $block.Text -TokenLabel NodeB
        $null = Complete-QuantumKeyTransaction -TransactionId $again -TokenLabel NodeB
        (Get-Visible $block.Label).CheckValue | Should -BeExactly $block.CheckValue
    }

    It 'deletes in two phases, and a replayed block of the deleted key is refused with KeyLabelDeleted' {
        $block = New-TestBlock
        $import = [guid]::NewGuid().ToString('N')
        $null = $block | Submit-QuantumKeyTransaction -TransactionId $import -TokenLabel NodeB | Complete-QuantumKeyTransaction -TokenLabel NodeB
        $undone = [guid]::NewGuid().ToString('N')
        (Submit-QuantumKeyTransaction -TransactionId $undone -DeleteLabel $block.Label -TokenLabel NodeB).HeldKeys | Should -Be 1
        Get-Visible $block.Label | Should -BeNullOrEmpty
        $null = Undo-QuantumKeyTransaction -TransactionId $undone -TokenLabel NodeB
        (Get-Visible $block.Label).CheckValue | Should -BeExactly $block.CheckValue

        $delete = [guid]::NewGuid().ToString('N')
        $null = Get-QuantumKey -TokenLabel NodeB -Label $block.Label | Submit-QuantumKeyTransaction -TransactionId $delete -TokenLabel NodeB -DeleteLabel { $_.Label }
        $null = Complete-QuantumKeyTransaction -TransactionId $delete -TokenLabel NodeB
        Get-Visible $block.Label | Should -BeNullOrEmpty
        Get-ErrorId { $block | Submit-QuantumKeyTransaction -TransactionId ([guid]::NewGuid().ToString('N')) -TokenLabel NodeB } | Should -Be 'KeyLabelDeleted'
        Get-Visible $block.Label | Should -BeNullOrEmpty
    }

    It 'refuses bad input with a specific error and changes nothing' {
        $block = New-TestBlock
        $before = Get-TestStoreState
        Get-ErrorId { Submit-QuantumKeyTransaction -TransactionId 'not valid!' -KeyBlock $block.Text -TokenLabel NodeB } | Should -Be 'TransactionIdInvalid'
        Get-ErrorId { Submit-QuantumKeyTransaction -TransactionId 'x1' -KeyBlock 'QKDLKB1.garbage' -TokenLabel NodeB } | Should -Be 'KeyBlockMalformed'
        $tampered = Edit-TestKeyBlock -Text $block.Text -Part Mac
        Get-ErrorId { Submit-QuantumKeyTransaction -TransactionId 'x2' -KeyBlock $tampered -TokenLabel NodeB } | Should -Be 'KeyBlockTampered'
        Get-ErrorId { Complete-QuantumKeyTransaction -TransactionId 'never-prepared' -TokenLabel NodeB } | Should -Be 'TransactionNotFound'
        Get-Visible $block.Label | Should -BeNullOrEmpty
        (Get-QuantumKeyTransaction -TokenLabel NodeB -TransactionId 'x2').HeldKeys | Should -Be 0
        Get-TestStoreState | Should -BeExactly $before
    }

    It 'changes nothing with -WhatIf' {
        $block = New-TestBlock
        $id = [guid]::NewGuid().ToString('N')
        Submit-QuantumKeyTransaction -TransactionId $id -KeyBlock $block.Text -TokenLabel NodeB -WhatIf | Should -BeNullOrEmpty
        Get-QuantumKeyTransaction -TokenLabel NodeB -TransactionId $id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'prepares new keys with New-QuantumKey -TransactionId and exports them for the other node with Export-QuantumKey -TransactionId' {
        $id = [guid]::NewGuid().ToString('N')
        $made = @(New-QuantumKey -TokenLabel NodeA -KeyId 'MADE' -Count 2 -TransactionId $id)
        $made.Count | Should -Be 2
        $made | ForEach-Object { $_.State | Should -Be 'Pending' }
        (Get-KeyCount -TokenLabel NodeA -KeyId 'MADE').Count | Should -Be 0
        # Repeating the prepare with the same labels makes nothing new.
        @(New-QuantumKey -TokenLabel NodeA -KeyId 'MADE' -Label $made.Label -TransactionId $id).CheckValue | Should -Be @($made.CheckValue)
        $blocks = @(Export-QuantumKey -TokenLabel NodeA -TransactionId $id)
        @($blocks.Label) | Should -Be @($made.Label)
        Get-ErrorId { Export-QuantumKey -TokenLabel NodeA -Label $made[0].Label -ErrorAction Stop } | Should -Be 'KeyNotFound'
        $null = $blocks | Submit-QuantumKeyTransaction -TransactionId $id -TokenLabel NodeB
        $null = Complete-QuantumKeyTransaction -TransactionId $id -TokenLabel NodeB
        $null = Complete-QuantumKeyTransaction -TransactionId $id -TokenLabel NodeA
        foreach ($key in $made) {
            (Get-QuantumKey -TokenLabel NodeA -Label $key.Label).CheckValue | Should -BeExactly $key.CheckValue
            (Get-Visible $key.Label).CheckValue | Should -BeExactly $key.CheckValue
        }
        @(Export-QuantumKey -TokenLabel NodeA -TransactionId $id) | Should -BeNullOrEmpty
        # KME keys are prepared too (ReplicationFaults.Tests.ps1 takes them from the test KME); an unknown KME prepares nothing.
        Get-ErrorId { New-QuantumKey -TokenLabel NodeA -KeyId 'MADE' -Source Kme -Kme X -SlaveSaeId Y -TransactionId 'kme-1' } | Should -Be 'KeySourceNotConfigured'
        @(Get-QuantumKeyTransaction -TokenLabel NodeA -TransactionId 'kme-1') | Should -BeNullOrEmpty
    }

    It 'exports only the prepared keys given from the pipeline with -TransactionId, and refuses a key the transaction does not hold' {
        $id = [guid]::NewGuid().ToString('N')
        $first = @(New-QuantumKey -TokenLabel NodeA -KeyId 'PART' -Count 2 -TransactionId $id)
        $second = @(New-QuantumKey -TokenLabel NodeA -KeyId 'PART' -Count 1 -TransactionId $id)
        $blocks = @($second | Export-QuantumKey -TokenLabel NodeA -TransactionId $id)
        @($blocks.Label) | Should -Be @($second.Label)
        $blocks[0].CheckValue | Should -BeExactly $second[0].CheckValue
        @(Export-QuantumKey -TokenLabel NodeA -TransactionId $id).Count | Should -Be 3
        Get-ErrorId { $first[0] | Export-QuantumKey -TokenLabel NodeA -TransactionId 'another-transaction' -ErrorAction Stop } | Should -Be 'KeyNotFound'
        $null = Undo-QuantumKeyTransaction -TransactionId $id -TokenLabel NodeA
    }

    It 'keeps its record across processes: another process sees the prepare and commits it' {
        $block = New-TestBlock
        $id = [guid]::NewGuid().ToString('N')
        $null = Submit-QuantumKeyTransaction -TransactionId $id -KeyBlock $block.Text -TokenLabel NodeB
        $child = Invoke-TestChildProcess -ArgumentList @{ Id = $id; Connection = (Get-TestKeyStoreConnection -TokenLabel NodeB) } -ScriptBlock {
            param($Id, $Connection)
            Connect-KeyStore @Connection
            $seen = Get-QuantumKeyTransaction -TransactionId $Id
            $done = Complete-QuantumKeyTransaction -TransactionId $Id
            "$($seen.Phase) $($seen.HeldKeys) $($done.Phase) $($done.HeldKeys)"
        }
        $child.TerminatingError | Should -BeNullOrEmpty
        $child.Output | Should -Be 'Prepared 1 Committed 0'
        (Get-Visible $block.Label).CheckValue | Should -BeExactly $block.CheckValue
        Get-ErrorId { Undo-QuantumKeyTransaction -TransactionId $id -TokenLabel NodeB } | Should -Be 'TransactionAlreadyDecided'
    }
}
