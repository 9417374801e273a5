#Requires -Version 7.2
<#
.SYNOPSIS
    The one entry point for building, testing and running QKDLite.

.DESCRIPTION
    Run from the repository (the pinned PowerShell is a .NET local tool, so `dotnet pwsh` works only at
    or below the folder holding dotnet-tools.json):

        dotnet tool restore
        dotnet pwsh ./build.ps1 [Bootstrap|Build|Test|Demo|Bench|Clean] [-Configuration Release]

    Bootstrap  installs SoftHSM2, OpenSC and the OpenSSH server (apt, as root or through sudo) and
               restores the pinned Pester from NuGet.
    Build      publishes src/QKDLite into bin/ (the module the root QKDLite.psd1 loads), the ETSI
               server src/QKDLite.EtsiServer into bin/etsi/, and generates en-US/QKDLite.dll-Help.xml
               from docs/en-US. Needs only the .NET SDK.
    Test       Bootstrap + Build, then xunit (Core) and every tests/Pester/*.Tests.ps1 in its own
               fresh process. The last line is `N passed, N failed[, N skipped]`; exit code 1 on failure.
    Demo       Bootstrap + Build, then Examples/Start-Demo.ps1 in a fresh process.
    Bench      Bootstrap + Build, then tests/Benchmarks/Invoke-Benchmark.ps1 in a fresh process.
    Clean      removes everything the other tasks produce.

.EXAMPLE
    dotnet pwsh ./build.ps1 Test

.EXAMPLE
    dotnet pwsh -NoProfile -Command './build.ps1 Clean, Build -Configuration Debug'

    Several tasks need -Command: with -File (the form above) "Clean, Build" stays one string.
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Bootstrap', 'Build', 'Test', 'Demo', 'Bench', 'Clean')]
    [string[]]$Task = 'Build',

    [string]$Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

# CI runs us with no terminal and no stdin: plain text keeps ANSI escapes out of its logs.
$script:Interactive = [Environment]::UserInteractive -and
    -not [Console]::IsOutputRedirected -and -not [Console]::IsInputRedirected -and
    -not ([Environment]::GetCommandLineArgs() -match '^-noni')
if (-not $script:Interactive) {
    $PSStyle.OutputRendering = 'PlainText'
    # Children (pwsh, dotnet) honour NO_COLOR; their stderr would otherwise still carry ANSI codes.
    if (-not $env:NO_COLOR) { $env:NO_COLOR = '1' }
}
$env:DOTNET_NOLOGO = 'true'

$RepoRoot = $PSScriptRoot
$ManifestPath = Join-Path $RepoRoot 'QKDLite.psd1'
$BinDir = Join-Path $RepoRoot 'bin'
$ArtifactsDir = Join-Path $RepoRoot 'artifacts'
$TestResultsDir = Join-Path $ArtifactsDir 'test'
$ToolsProject = Join-Path $RepoRoot 'tests/tools/tools.csproj'
$HelpSource = Join-Path $RepoRoot 'docs/en-US'
$HelpOutput = Join-Path $RepoRoot 'en-US/QKDLite.dll-Help.xml'

$script:CompletedTasks = [System.Collections.Generic.HashSet[string]]::new([StringComparer]::OrdinalIgnoreCase)
$script:CurrentTask = ''
$script:ExitCode = 0
$script:TestResults = [System.Collections.Generic.List[object]]::new()
$script:TestSummaryPrinted = $false

#region Helpers

function Write-Step {
    param([Parameter(Mandatory)][string]$Message)
    Write-Host "[$script:CurrentTask] $Message"
}

function Invoke-Native {
    <#
    .SYNOPSIS
        Runs a native command; throws with the command line when it exits non-zero.
    .DESCRIPTION
        $ErrorActionPreference does not see native exit codes, so every native call goes through here.
        Callers must not capture the output: uncaptured, the child writes straight to our console (and
        keeps its colours on a terminal). With -IgnoreExitCode the caller reads $LASTEXITCODE itself.
    #>
    param(
        [Parameter(Mandatory, Position = 0)][string]$FilePath,
        [Parameter(Position = 1)][string[]]$ArgumentList = @(),
        [switch]$IgnoreExitCode
    )
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0 -and -not $IgnoreExitCode) {
        throw "Command failed with exit code ${LASTEXITCODE}: $FilePath $($ArgumentList -join ' ')"
    }
}

function Get-ModuleVersion {
    # The manifest is the one version source (STYLE.md §10); MSBuild gets it as -p:Version.
    $version = (Import-PowerShellDataFile -LiteralPath $ManifestPath).ModuleVersion
    if (-not ($version -as [version])) {
        throw "ModuleVersion '$version' in QKDLite.psd1 is not a version."
    }
    $version
}

function Get-PesterManifestPath {
    # tests/tools/tools.csproj pins the version; tests/Invoke-PesterFile.ps1 reads it the same way.
    $download = ([xml](Get-Content -Raw -LiteralPath $ToolsProject)).SelectSingleNode("//PackageDownload[@Include='Pester']")
    $version = $download.GetAttribute('Version').Trim('[', ']')
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else {
        Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages'
    }
    Join-Path $packages "pester/$version/tools/Pester.psd1"
}

function Invoke-Task {
    param([Parameter(Mandatory)][string]$Name)
    # Each task runs at most once, however many tasks depend on it.
    if (-not $script:CompletedTasks.Add($Name)) { return }
    $outer = $script:CurrentTask
    $script:CurrentTask = $Name
    try {
        & "Invoke-${Name}Task"
    }
    finally {
        $script:CurrentTask = $outer
    }
}

function Invoke-ChildScript {
    param([Parameter(Mandatory)][string]$RelativePath)
    $path = Join-Path $RepoRoot $RelativePath
    if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
        throw "$RelativePath does not exist (yet): the $script:CurrentTask task has nothing to run."
    }
    Write-Step "dotnet pwsh -NoProfile -File $RelativePath"
    Invoke-Native dotnet @('pwsh', '-NoProfile', '-File', $path) -IgnoreExitCode
    if ($LASTEXITCODE -ne 0) {
        Write-Step "$RelativePath exited with code $LASTEXITCODE"
        $script:ExitCode = $LASTEXITCODE
    }
}

#endregion

#region Tasks

function Invoke-BootstrapTask {
    if ($IsLinux) {
        # Package => files it provides; testing files spawns nothing, so a ready machine stays quiet.
        $required = [ordered]@{
            'softhsm2'       = '/usr/lib/softhsm/libsofthsm2.so', '/usr/bin/softhsm2-util'
            'opensc'         = @('/usr/bin/pkcs11-tool')
            'openssh-server' = @('/usr/sbin/sshd')
            # crontab: the scheduled maintenance tests register and remove a real crontab entry.
            'cron'           = @('/usr/bin/crontab')
        }
        $missing = @($required.Keys | Where-Object {
                @($required[$_] | Where-Object { -not (Test-Path -LiteralPath $_) }).Count -gt 0
            })
        if ($missing.Count -gt 0) {
            Install-DebianPackage -Name $missing
        }
    }
    elseif (@(Get-Command softhsm2-util, pkcs11-tool, sshd -CommandType Application -ErrorAction Ignore |
                Select-Object -ExpandProperty Name -Unique).Count -lt 3) {
        Write-Step ('Not Linux: install SoftHSM2 (softhsm2-util and its PKCS#11 library), OpenSC (pkcs11-tool) ' +
            'and an OpenSSH server (sshd) yourself; the tests that need them will fail without them.')
    }

    $pester = Get-PesterManifestPath
    if (-not (Test-Path -LiteralPath $pester)) {
        Write-Step 'dotnet restore tests/tools/tools.csproj (Pester from NuGet)'
        Invoke-Native dotnet @('restore', $ToolsProject, '--verbosity', 'quiet')
        if (-not (Test-Path -LiteralPath $pester)) {
            throw "Restoring tests/tools/tools.csproj did not produce $pester."
        }
    }
}

function Install-DebianPackage {
    param([Parameter(Mandatory)][string[]]$Name)
    $names = $Name -join ' '
    $install = @('DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-q', '--no-install-recommends') + $Name
    $manual = "sudo apt-get update && sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $names"

    if (-not (Get-Command apt-get -CommandType Application -ErrorAction Ignore)) {
        throw "Missing system packages: $names. Bootstrap installs them only with apt-get (Debian/Ubuntu); install the equivalents with your package manager."
    }
    $uid = & id -u
    if ($LASTEXITCODE -ne 0) { throw 'Command failed: id -u' }
    if ("$uid".Trim() -eq '0') {
        $prefix = @()
    }
    else {
        $canSudo = $false
        if (Get-Command sudo -CommandType Application -ErrorAction Ignore) {
            & sudo -n true 2>$null
            $canSudo = $LASTEXITCODE -eq 0
        }
        if (-not $canSudo) {
            throw "Missing Debian packages: $names. Installing them needs root; run:`n    $manual`nthen run this task again."
        }
        $prefix = @('sudo', '-n')
    }

    Write-Step "Installing $names with apt-get"
    $update = $prefix + @('apt-get', 'update', '-q')
    Invoke-Native $update[0] @($update | Select-Object -Skip 1)
    # env carries DEBIAN_FRONTEND through sudo, which resets the environment.
    $command = $prefix + @('env') + $install
    Invoke-Native $command[0] @($command | Select-Object -Skip 1)
}

function Invoke-BuildTask {
    $version = Get-ModuleVersion
    Write-Step "dotnet publish src/QKDLite -c $Configuration -p:Version=$version -> bin/"
    # A fresh bin/ each time: a stale file must never stand in for this build's output.
    if (Test-Path -LiteralPath $BinDir) {
        Remove-Item -LiteralPath $BinDir -Recurse -Force
    }
    Invoke-Native dotnet @(
        'publish', (Join-Path $RepoRoot 'src/QKDLite/QKDLite.csproj'),
        '-c', $Configuration, '-o', $BinDir, "-p:Version=$version", '--nologo', '--verbosity', 'quiet')

    foreach ($file in 'QKDLite.dll', 'QKDLite.Core.dll') {
        if (-not (Test-Path -LiteralPath (Join-Path $BinDir $file))) {
            throw "dotnet publish succeeded but bin/$file is missing."
        }
    }
    # PowerShell supplies System.Management.Automation; a copy in the module folder breaks loading.
    if (Test-Path -LiteralPath (Join-Path $BinDir 'System.Management.Automation.dll')) {
        throw 'bin/ contains System.Management.Automation.dll: reference PowerShellStandard.Library with ExcludeAssets="runtime" so it is never copied.'
    }
    if (-not (Test-Path -LiteralPath (Join-Path $BinDir 'QKDLite.Format.ps1xml'))) {
        Write-Warning 'bin/QKDLite.Format.ps1xml is missing; Import-Module fails until src/QKDLite copies it (FormatsToProcess).'
    }

    Publish-EtsiServer -Version $version

    $converter = Join-Path $RepoRoot 'tools/ConvertTo-MamlHelp.ps1'
    $cmdletPages = @(Get-ChildItem -Path $HelpSource -Filter '*.md' -File -ErrorAction Ignore | Where-Object Name -NotLike 'about_*')
    if (-not (Test-Path -LiteralPath $converter -PathType Leaf)) {
        Write-Warning 'tools/ConvertTo-MamlHelp.ps1 does not exist yet; skipping help generation.'
    }
    elseif ($cmdletPages.Count -eq 0) {
        Write-Warning 'docs/en-US has no cmdlet markdown yet; skipping help generation.'
    }
    else {
        Write-Step 'tools/ConvertTo-MamlHelp.ps1 docs/en-US -> en-US/QKDLite.dll-Help.xml'
        # A fresh process keeps this script's strict mode and preferences out of the converter.
        Invoke-Native dotnet @('pwsh', '-NoProfile', '-NonInteractive', '-File', $converter,
            '-Path', $HelpSource, '-OutputPath', $HelpOutput)
    }
}

function Publish-EtsiServer {
    # Start-EtsiServer runs bin/etsi/QKDLite_ETSI.dll; framework-dependent, since it needs the ASP.NET
    # Core shared framework that comes with the .NET runtime anyway.
    param([Parameter(Mandatory)][string]$Version)
    $project = Join-Path $RepoRoot 'src/QKDLite.EtsiServer/QKDLite.EtsiServer.csproj'
    $output = Join-Path $BinDir 'etsi'
    if (-not (Test-Path -LiteralPath $project -PathType Leaf)) {
        Write-Step 'src/QKDLite.EtsiServer does not exist yet: bin/etsi/ (the ETSI server) is not built.'
        return
    }
    Write-Step "dotnet publish src/QKDLite.EtsiServer -c $Configuration -> bin/etsi/"
    Invoke-Native dotnet @(
        'publish', $project, '-c', $Configuration, '-o', $output, "-p:Version=$Version",
        '--self-contained', 'false', '--nologo', '--verbosity', 'quiet')
    if (-not (Test-Path -LiteralPath (Join-Path $output 'QKDLite_ETSI.dll'))) {
        throw 'dotnet publish succeeded but bin/etsi/QKDLite_ETSI.dll is missing.'
    }
}

function Invoke-TestTask {
    Invoke-Task Bootstrap
    Invoke-Task Build

    $null = New-Item -ItemType Directory -Force -Path $TestResultsDir
    # Results of an earlier run must never be read as this run's.
    Get-ChildItem -LiteralPath $TestResultsDir -Force | Remove-Item -Recurse -Force

    # Every xunit project under tests/ (Core, the test KME pair, the KME client).
    foreach ($project in @(Get-ChildItem -Path (Join-Path $RepoRoot 'tests') -Filter '*.Tests.csproj' -Recurse -File | Sort-Object Name)) {
        Invoke-XunitTest -Project $project
    }
    $pesterFiles = @(Get-ChildItem -Path (Join-Path $RepoRoot 'tests/Pester') -Filter '*.Tests.ps1' -File -ErrorAction Ignore |
            Sort-Object Name)
    foreach ($file in $pesterFiles) {
        Invoke-PesterTestFile -File $file
    }
    Write-TestSummary
}

function Invoke-XunitTest {
    param([Parameter(Mandatory)][System.IO.FileInfo]$Project)
    $version = Get-ModuleVersion
    $name = $Project.BaseName
    $trxName = "$name.trx"
    $trx = Join-Path $TestResultsDir $trxName
    $relative = [IO.Path]::GetRelativePath($RepoRoot, $Project.DirectoryName)
    Write-Step "dotnet test $relative -c $Configuration"
    $watch = [Diagnostics.Stopwatch]::StartNew()
    # -p:Version as in Build, so the shared Core project is not rebuilt with another version.
    Invoke-Native dotnet @(
        'test', $Project.FullName, '-c', $Configuration, "-p:Version=$version",
        '--nologo', '--logger', "trx;LogFileName=$trxName", '--results-directory', $TestResultsDir) -IgnoreExitCode
    $exitCode = $LASTEXITCODE
    $result = [pscustomobject]@{
        Runner = 'xunit'; Name = $name; Passed = 0; Failed = 0; Skipped = 0
        Seconds = $watch.Elapsed.TotalSeconds; Note = ''; Failures = @()
    }
    if (-not (Test-Path -LiteralPath $trx)) {
        $result.Failed = 1
        $result.Note = "no trx written (dotnet test exit code $exitCode)"
    }
    else {
        try {
            $counters = ([xml](Get-Content -Raw -LiteralPath $trx)).TestRun.ResultSummary.Counters
            $result.Passed = [int]$counters.passed
            $result.Failed = [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
            # xunit's skipped tests are "NotExecuted" results, counted only as total minus executed.
            $result.Skipped = [Math]::Max(0, [int]$counters.total - [int]$counters.executed)
            $result.Failures = @(Get-TrxFailure -Path $trx)
        }
        catch {
            $result.Failed = 1
            $result.Note = "unreadable trx: $($_.Exception.Message)"
        }
        if ($exitCode -ne 0 -and $result.Failed -eq 0) {
            # A crashed test host or a failed build can exit non-zero with no failed test counted.
            $result.Failed = 1
            $result.Note = "dotnet test exit code $exitCode with no failed test in the trx"
        }
    }
    $script:TestResults.Add($result)
}

function Invoke-PesterTestFile {
    param([Parameter(Mandatory)][System.IO.FileInfo]$File)
    $json = Join-Path $TestResultsDir "$($File.BaseName).json"
    $relative = [IO.Path]::GetRelativePath($RepoRoot, $File.FullName)
    Write-Step "Pester $relative (fresh process)"
    $watch = [Diagnostics.Stopwatch]::StartNew()
    # One process per file: SoftHSM2 reads SOFTHSM2_CONF once per process and each file has its own store.
    Invoke-Native dotnet @(
        'pwsh', '-NoProfile', '-NonInteractive', '-File', (Join-Path $RepoRoot 'tests/Invoke-PesterFile.ps1'),
        '-Path', $File.FullName, '-ResultPath', $json) -IgnoreExitCode
    $exitCode = $LASTEXITCODE
    $result = [pscustomobject]@{
        Runner = 'Pester'; Name = $File.Name; Passed = 0; Failed = 0; Skipped = 0
        Seconds = $watch.Elapsed.TotalSeconds; Note = ''; Failures = @()
    }
    try {
        $counts = Get-Content -Raw -LiteralPath $json | ConvertFrom-Json
        $result.Passed = [int]$counts.passed
        $result.Failed = [int]$counts.failed
        $result.Skipped = [int]$counts.skipped
        if ($counts.PSObject.Properties['failures']) { $result.Failures = @($counts.failures) }
        if ($exitCode -ne 0 -and $result.Failed -eq 0) {
            $result.Failed = 1
            $result.Note = "exit code $exitCode with no failed test reported"
        }
    }
    catch {
        $result.Failed = 1
        $result.Note = "crashed or wrote no results (exit code $exitCode)"
    }
    $script:TestResults.Add($result)
}

function Get-TrxFailure {
    # Each failed test of a trx as "name: first line of its message".
    param([Parameter(Mandatory)][string]$Path)
    $xml = [xml](Get-Content -Raw -LiteralPath $Path)
    foreach ($r in @($xml.TestRun.Results.UnitTestResult | Where-Object { $_.outcome -eq 'Failed' })) {
        $message = "$($r.Output.ErrorInfo.Message)" -split "`r?`n" | Where-Object { $_.Trim() } | Select-Object -First 1
        if ($message.Length -gt 300) { $message = $message.Substring(0, 300) + '...' }
        '{0}: {1}' -f $r.testName, $message
    }
}

function Get-Sum {
    # Measure-Object -Sum writes nothing at all for empty input.
    param([object[]]$Item, [string]$Property)
    $total = 0
    foreach ($i in $Item) { $total += [int]$i.$Property }
    $total
}

function Write-TestSummary {
    param([string]$Problem)
    $results = @($script:TestResults)
    Write-Host ''
    Write-Host 'Test summary'
    foreach ($r in $results) {
        $line = '  {0,-7}{1,-40}{2,5} passed, {3} failed, {4} skipped  {5,6:0.0} s' -f $r.Runner, $r.Name, $r.Passed, $r.Failed, $r.Skipped, $r.Seconds
        if ($r.Note) { $line += "  ($($r.Note))" }
        Write-Host $line
    }
    # Named again here because CI keeps only the end of the output.
    $failures = @(foreach ($r in $results) { foreach ($f in @($r.Failures)) { "$($r.Name): $f" } })
    if ($failures.Count -gt 0) {
        Write-Host '  failed tests:'
        foreach ($f in $failures) { Write-Host "    $f" }
    }
    foreach ($runner in 'xunit', 'Pester') {
        $mine = @($results | Where-Object Runner -EQ $runner)
        $files = if ($runner -eq 'Pester') { " in $($mine.Count) file(s)" } else { '' }
        Write-Host ("  {0}: {1} passed, {2} failed, {3} skipped{4}" -f $runner,
            (Get-Sum $mine Passed), (Get-Sum $mine Failed), (Get-Sum $mine Skipped), $files)
    }
    $passed = Get-Sum $results Passed
    $failed = Get-Sum $results Failed
    $skipped = Get-Sum $results Skipped
    if ($Problem) {
        Write-Host "  not run to the end: $Problem"
        $failed++
    }
    $script:TestSummaryPrinted = $true
    if ($failed -gt 0) { $script:ExitCode = 1 }
    # CI reads this exact form from the very last line of output.
    $last = "$passed passed, $failed failed"
    if ($skipped -gt 0) { $last += ", $skipped skipped" }
    Write-Host $last
}

function Invoke-DemoTask {
    Invoke-Task Bootstrap
    Invoke-Task Build
    Invoke-ChildScript 'Examples/Start-Demo.ps1'
}

function Invoke-BenchTask {
    Invoke-Task Bootstrap
    Invoke-Task Build
    Invoke-ChildScript 'tests/Benchmarks/Invoke-Benchmark.ps1'
}

function Invoke-CleanTask {
    $targets = @(
        $BinDir, $ArtifactsDir, (Join-Path $RepoRoot 'obj'), $HelpOutput
        Get-ChildItem -Path (Join-Path $RepoRoot 'src'), (Join-Path $RepoRoot 'tests') -Directory -Depth 1 -ErrorAction Ignore |
            Where-Object Name -In 'bin', 'obj', 'TestResults' |
            Select-Object -ExpandProperty FullName
    ) | Where-Object { Test-Path -LiteralPath $_ }
    if (-not $targets) {
        Write-Step 'nothing to remove'
        return
    }
    Write-Step ('removing ' + (($targets | ForEach-Object { [IO.Path]::GetRelativePath($RepoRoot, $_) }) -join ', '))
    $targets | Remove-Item -Recurse -Force
}

#endregion

# Child processes (dotnet pwsh) work only at or below the folder holding dotnet-tools.json.
Push-Location -LiteralPath $RepoRoot
try {
    foreach ($name in $Task) {
        Invoke-Task $name
        if ($script:ExitCode -ne 0) { break }
    }
}
catch {
    if ($Task -contains 'Test' -and -not $script:TestSummaryPrinted) {
        # Keep the CI-readable summary as the last line even when a step before the tests broke.
        Write-Host "ERROR: $($_.Exception.Message)"
        Write-Host $_.ScriptStackTrace
        Write-TestSummary -Problem $_.Exception.Message
        $script:ExitCode = 1
    }
    else {
        throw
    }
}
finally {
    Pop-Location
}
exit $script:ExitCode
