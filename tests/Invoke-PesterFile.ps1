#Requires -Version 7.2
<#
.SYNOPSIS
    Runs one Pester test file in this process and writes its counts as JSON.

.DESCRIPTION
    build.ps1 Test starts a fresh `dotnet pwsh` for each tests/Pester/*.Tests.ps1 file, because SoftHSM2
    reads its configuration (SOFTHSM2_CONF) once per process and every test file uses its own data
    directory. This script imports the Pester version pinned in tests/tools/tools.csproj from the NuGet
    packages folder, runs the file with detailed output, writes NUnit XML next to the JSON result
    (same name, .xml) and exits non-zero when anything failed.

    The JSON is {"passed": N, "failed": N, "skipped": N, "failures": ["name: first error line", ...]}. "failed" counts failed tests, failed
    containers (a file that does not parse) and failed BeforeAll/AfterAll blocks whose failure no test
    already carries. "skipped" includes pending and inconclusive tests.

.PARAMETER Path
    The Pester test file to run.

.PARAMETER ResultPath
    Where to write the JSON counts. Its folder also receives the NUnit XML result.

.EXAMPLE
    dotnet pwsh -NoProfile -NonInteractive -File tests/Invoke-PesterFile.ps1 -Path tests/Pester/Manifest.Tests.ps1 -ResultPath artifacts/test/Manifest.Tests.json
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string]$Path,
    [Parameter(Mandatory)][string]$ResultPath
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
if ([Console]::IsOutputRedirected) {
    $PSStyle.OutputRendering = 'PlainText'
}

function Get-PesterManifestPath {
    # The version is pinned once, in tests/tools/tools.csproj (build.ps1 Bootstrap restores it).
    $toolsProject = Join-Path $PSScriptRoot 'tools/tools.csproj'
    $download = ([xml](Get-Content -Raw -LiteralPath $toolsProject)).SelectSingleNode("//PackageDownload[@Include='Pester']")
    $version = $download.GetAttribute('Version').Trim('[', ']')
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else {
        Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages'
    }
    Join-Path $packages "pester/$version/tools/Pester.psd1"
}

function Test-HasFailedTest {
    param([Parameter(Mandatory)]$Block)
    foreach ($test in $Block.Tests) {
        if ($test.Result -eq 'Failed') { return $true }
    }
    foreach ($child in $Block.Blocks) {
        if (Test-HasFailedTest -Block $child) { return $true }
    }
    $false
}

function Get-FirstErrorLine {
    param($ErrorRecord)
    $first = @($ErrorRecord) | Select-Object -First 1
    if ($null -eq $first) { return '(no error record)' }
    $line = ("$first" -split "`r?`n" | Where-Object { $_.Trim() } | Select-Object -First 1)
    if ($line.Length -gt 300) { $line = $line.Substring(0, 300) + '...' }
    $line
}

$testFile = (Resolve-Path -LiteralPath $Path).ProviderPath
$resultFile = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($ResultPath)
$nunitFile = [IO.Path]::ChangeExtension($resultFile, '.xml')
$null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $resultFile)
Remove-Item -LiteralPath $resultFile, $nunitFile -ErrorAction Ignore

$pesterManifest = Get-PesterManifestPath
if (-not (Test-Path -LiteralPath $pesterManifest)) {
    throw "Pester is not restored at $pesterManifest; run: dotnet pwsh ./build.ps1 Bootstrap"
}
Import-Module -Name $pesterManifest -Force

# Plain text everywhere, also in the child processes tests start: ANSI escapes in a failure message
# would make the NUnit report invalid XML and hide the results.
$env:NO_COLOR = '1'
$PSStyle.OutputRendering = 'PlainText'

$config = New-PesterConfiguration
$config.Run.Path = $testFile
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
if ([Console]::IsOutputRedirected) {
    $config.Output.RenderMode = 'Plaintext'
}
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'NUnitXml'
$config.TestResult.OutputPath = $nunitFile
$config.TestResult.TestSuiteName = [IO.Path]::GetFileNameWithoutExtension($testFile)

# Tests run with PowerShell's defaults, not with this script's strict mode and 'Stop' preference:
# a test of a non-terminating error must behave as it would for a user.
$result = & {
    $ErrorActionPreference = 'Continue'
    Set-StrictMode -Off
    Invoke-Pester -Configuration $config
}

$unreportedBlockFailures = @($result.FailedBlocks | Where-Object { -not (Test-HasFailedTest -Block $_) }).Count
# What failed, by name and first line of its error, so a summary read from the end of a long log
# still says which test to look at.
$failures = @(
    foreach ($test in $result.Failed) { '{0}: {1}' -f $test.ExpandedPath, (Get-FirstErrorLine $test.ErrorRecord) }
    foreach ($block in $result.FailedBlocks) { '{0}: {1}' -f ($block.Path -join '.'), (Get-FirstErrorLine $block.ErrorRecord) }
    foreach ($container in $result.FailedContainers) { '{0}: {1}' -f $container.Item, (Get-FirstErrorLine $container.ErrorRecord) }
)
$counts = [ordered]@{
    passed   = [int]$result.PassedCount
    failed   = [int]$result.FailedCount + [int]$result.FailedContainersCount + $unreportedBlockFailures
    skipped  = [int]$result.SkippedCount + [int]$result.InconclusiveCount
    failures = $failures
}
if ($result.Result -eq 'Failed' -and $counts.failed -eq 0) {
    $counts.failed = 1
}
$counts | ConvertTo-Json -Compress | Set-Content -LiteralPath $resultFile -Encoding utf8NoBOM

exit ([int]($counts.failed -gt 0))
