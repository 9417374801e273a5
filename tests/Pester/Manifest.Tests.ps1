# The module manifest against the staged module in bin/ (STYLE.md §6 and §10): explicit exports,
# typed output, editions, formats, and one version shared by the manifest and the assembly.

BeforeAll {
    $script:ManifestPath = (Resolve-Path -LiteralPath (Join-Path $PSScriptRoot '../../QKDLite.psd1')).ProviderPath
    $script:Manifest = Import-PowerShellDataFile -LiteralPath $ManifestPath
    $script:Module = Import-Module $ManifestPath -Force -PassThru
    $script:ExportedCmdlets = @(Get-Command -Module $Module.Name -CommandType Cmdlet)
}

AfterAll {
    Remove-Module -Name QKDLite -Force -ErrorAction Ignore
}

Describe 'QKDLite.psd1' {
    It 'passes Test-ModuleManifest' {
        { Test-ModuleManifest -Path $ManifestPath -ErrorAction Stop } | Should -Not -Throw
    }

    It 'lists CmdletsToExport explicitly, without wildcards' {
        @($Manifest.CmdletsToExport).Count | Should -BeGreaterThan 0
        @($Manifest.CmdletsToExport | Where-Object { [WildcardPattern]::ContainsWildcardCharacters($_) }) |
            Should -BeNullOrEmpty -Because 'CmdletsToExport names every cmdlet (no wildcards)'
    }

    It 'exports exactly the cmdlets listed in CmdletsToExport' {
        $listed = @($Manifest.CmdletsToExport)
        $exported = @($ExportedCmdlets.Name)
        @($listed | Where-Object { $_ -notin $exported }) |
            Should -BeNullOrEmpty -Because 'these cmdlets are listed in CmdletsToExport but the module does not export them'
        @($exported | Where-Object { $_ -notin $listed }) |
            Should -BeNullOrEmpty -Because 'these cmdlets are exported but not listed in CmdletsToExport'
    }

    It 'lists every cmdlet class of the assembly in CmdletsToExport' {
        # Exports are filtered by the manifest, so an implemented but unlisted cmdlet only shows here.
        $implemented = @($Module.ImplementingAssembly.GetExportedTypes() |
                Where-Object { -not $_.IsAbstract -and $_.IsDefined([System.Management.Automation.CmdletAttribute], $false) } |
                ForEach-Object {
                    $attribute = $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
                    "$($attribute.VerbName)-$($attribute.NounName)"
                })
        @($implemented | Where-Object { $_ -notin @($Manifest.CmdletsToExport) }) |
            Should -BeNullOrEmpty -Because 'these cmdlets are implemented in bin/QKDLite.dll but not listed in CmdletsToExport'
    }

    It 'declares an [OutputType] on every exported cmdlet' {
        # The failure message names the cmdlets that lack one.
        @($ExportedCmdlets | Where-Object { @($_.OutputType).Count -eq 0 } | ForEach-Object Name) |
            Should -BeNullOrEmpty -Because 'every cmdlet declares a concrete [OutputType] (STYLE.md §6); these cmdlets have none'
    }

    It 'is compatible with both PowerShell editions' {
        $Manifest.CompatiblePSEditions | Should -Contain 'Desktop'
        $Manifest.CompatiblePSEditions | Should -Contain 'Core'
    }

    It 'ships every file named in FormatsToProcess' {
        @($Manifest.FormatsToProcess).Count | Should -BeGreaterThan 0
        @($Manifest.FormatsToProcess | Where-Object { -not (Test-Path -LiteralPath (Join-Path $Module.ModuleBase $_) -PathType Leaf) }) |
            Should -BeNullOrEmpty -Because 'these FormatsToProcess files are missing from the module folder'
    }

    It 'carries the manifest version in the assembly FileVersion and ProductVersion' {
        $dll = Join-Path $Module.ModuleBase $Manifest.RootModule
        $info = [System.Diagnostics.FileVersionInfo]::GetVersionInfo($dll)
        $moduleVersion = [version]$Manifest.ModuleVersion
        # ProductVersion is "<Version>+<commit>" (SourceLink); FileVersion always has four parts.
        ($info.ProductVersion -split '\+')[0] | Should -Be $Manifest.ModuleVersion
        [version]$info.FileVersion | Should -Be ([version]::new($moduleVersion.Major, $moduleVersion.Minor,
                [Math]::Max(0, $moduleVersion.Build), [Math]::Max(0, $moduleVersion.Revision)))
    }
}
