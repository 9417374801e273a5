# Every exported cmdlet has complete help (synopsis, description, every parameter, an example),
# and the about topic exists.
BeforeDiscovery {
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repo 'QKDLite.psd1') -Force
    $script:Cmdlets = @((Get-Module QKDLite).ExportedCmdlets.Keys | ForEach-Object { @{ Name = $_ } })
}

BeforeAll {
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repo 'QKDLite.psd1') -Force
    $script:Common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
}

Describe 'Help of <Name>' -ForEach $script:Cmdlets {
    BeforeAll {
        $script:Help = Get-Help $Name -Full
        $script:Command = Get-Command $Name
    }

    It 'has a synopsis written for it (not the generated syntax)' {
        $script:Help.Synopsis | Should -Not -BeNullOrEmpty
        $script:Help.Synopsis.Trim() | Should -Not -BeLike "$Name *"
        $script:Help.Synopsis.Trim() | Should -Not -Be $Name
    }

    It 'has a description' {
        ($script:Help.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty
    }

    It 'has at least one example with code and remarks' {
        @($script:Help.Examples.Example).Count | Should -BeGreaterThan 0
        foreach ($example in $script:Help.Examples.Example) {
            $example.Code | Should -Not -BeNullOrEmpty
            ($example.Remarks | Out-String).Trim() | Should -Not -BeNullOrEmpty
        }
    }

    It 'documents every parameter' {
        $documented = @($script:Help.Parameters.Parameter | Where-Object { ($_.Description | Out-String).Trim() } | ForEach-Object Name)
        $missing = @($script:Command.Parameters.Keys | Where-Object { $_ -notin $script:Common -and $_ -notin $documented })
        $missing | Should -BeNullOrEmpty -Because "every parameter of $Name needs help text"
    }
}

Describe 'about_QKDLite' {
    It 'is found by Get-Help and explains the key model and the error ids' {
        $text = Get-Help about_QKDLite | Out-String
        $text | Should -Match 'keyLabel'
        $text | Should -Match 'KeyNotFound'
        $text | Should -Match 'PIN'
    }
}
