#Requires -Version 7.2
# Get-KeyCount: active keys per keyID; a named keyID without keys counts 0; counts always agree with
# what Get-QuantumKey lists.

Describe 'Get-KeyCount' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelper.psm1') -Force
        $node = New-TestNode
        $alpha = @(New-QuantumKey -KeyId 'ALPHA' -Count 3)
        $null = New-QuantumKey -KeyId 'ALPHA-2' -Count 1
        $null = New-QuantumKey -KeyId 'BETA' -Count 2
        # A second keyID that differs only in case: keyIDs are case-sensitive.
        $null = New-QuantumKey -KeyId 'beta' -Count 1
    }

    AfterAll {
        Remove-TestNode -Path $node
    }

    It 'counts the keys of every keyID, as KeyCountInfo of this token' {
        $counts = @(Get-KeyCount)
        $counts | ForEach-Object { $_ | Should -BeOfType ([QKDLite.Output.KeyCountInfo]) }
        ($counts | ForEach-Object { "$($_.KeyId)=$($_.Count)" } | Sort-Object -CaseSensitive) |
            Should -Be (@('ALPHA=3', 'ALPHA-2=1', 'BETA=2', 'beta=1') | Sort-Object -CaseSensitive)
        $counts.TokenLabel | Select-Object -Unique | Should -BeExactly 'QKDLite'
    }

    It '-KeyId counts one keyID' {
        $count = @(Get-KeyCount -KeyId 'ALPHA')
        $count.Count | Should -Be 1
        $count[0].KeyId | Should -BeExactly 'ALPHA'
        $count[0].Count | Should -Be 3
    }

    It 'counts 0 for a keyID that has no keys' {
        $count = @(Get-KeyCount -KeyId 'NOKEYS')
        $count.Count | Should -Be 1
        $count[0].KeyId | Should -BeExactly 'NOKEYS'
        $count[0].Count | Should -Be 0
    }

    It 'takes wildcards, and returns nothing for a pattern that matches no keyID' {
        (@(Get-KeyCount -KeyId 'ALPHA*') | ForEach-Object { "$($_.KeyId)=$($_.Count)" } | Sort-Object) |
            Should -Be (@('ALPHA=3', 'ALPHA-2=1') | Sort-Object)
        Get-KeyCount -KeyId 'NOMATCH*' | Should -BeNullOrEmpty
    }

    It 'takes keyIDs as several values, from the pipeline and by property name' {
        # (ForEach-Object Count: on an array, .Count would be the array's length.)
        Get-KeyCount -KeyId 'ALPHA', 'ALPHA-2' | ForEach-Object Count | Should -Be @(3, 1)
        'ALPHA-2', 'ALPHA' | Get-KeyCount | ForEach-Object Count | Should -Be @(1, 3)
        ([pscustomobject]@{ KeyId = 'ALPHA' } | Get-KeyCount).Count | Should -Be 3
    }

    It 'agrees with Get-QuantumKey for all keys' {
        $listed = Get-QuantumKey | Group-Object -Property KeyId -CaseSensitive | ForEach-Object { "$($_.Name)=$($_.Count)" } | Sort-Object -CaseSensitive
        $counted = Get-KeyCount | ForEach-Object { "$($_.KeyId)=$($_.Count)" } | Sort-Object -CaseSensitive
        $counted | Should -Be $listed
        (Get-KeyCount | Measure-Object -Property Count -Sum).Sum | Should -Be (Get-KeyStore).KeyCount
    }

    It 'agrees with Get-QuantumKey for -KeyId <KeyId>' -TestCases @(
        @{ KeyId = 'ALPHA' }, @{ KeyId = 'BETA' }, @{ KeyId = 'beta' }, @{ KeyId = 'NOKEYS' }, @{ KeyId = 'ALPHA*' }
    ) {
        (Get-KeyCount -KeyId $KeyId | Measure-Object -Property Count -Sum).Sum | Should -Be @(Get-QuantumKey -KeyId $KeyId).Count
    }

    It 'matches a keyID without regard to case' {
        (Get-KeyCount -KeyId 'alpha').Count | Should -Be 3
        (Get-KeyCount -KeyId 'Alpha-2').Count | Should -Be 1
    }

    # Regression (fixed): the help promises exactly one result for a keyID without wildcards, but when two
    # keyIDs differ only in case (New-QuantumKey accepts both) Get-KeyCount writes one result per
    # keyID, so a monitoring script's (Get-KeyCount -KeyId BETA).Count is the number of objects (2),
    # not the number of keys (3).
    It 'gives exactly one result for a keyID without wildcards, also when keyIDs differ only in case' {
        $counts = @(Get-KeyCount -KeyId 'BETA')
        $counts.Count | Should -Be 1
        $counts[0].Count | Should -Be @(Get-QuantumKey -KeyId 'BETA').Count
    }

    It 'follows creations and removals' {
        $null = New-QuantumKey -KeyId 'ALPHA' -Count 2
        (Get-KeyCount -KeyId 'ALPHA').Count | Should -Be 5
        $alpha | Remove-QuantumKey -Force
        (Get-KeyCount -KeyId 'ALPHA').Count | Should -Be 2
    }

    It 'offers keyIDs for -KeyId completion' {
        Get-TestCompletion 'Get-KeyCount -KeyId AL' | Should -Be @('ALPHA', 'ALPHA-2')
    }
}
