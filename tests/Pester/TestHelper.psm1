#Requires -Version 7.2
<#
.SYNOPSIS
    Shared plumbing of the QKDLite Pester tests: a private node per test file, store snapshots,
    check values, tab completion, and fresh child PowerShell processes.

.DESCRIPTION
    Every *.Tests.ps1 file runs in its own PowerShell process (tests/Invoke-PesterFile.ps1), because
    SoftHSM2 reads SOFTHSM2_CONF once per process. A file calls New-TestNode in its BeforeAll: that
    makes a private data directory on tmpfs, points $env:QKDLITE_HOME at it, imports the staged
    module and creates the node's key store; Remove-TestNode in AfterAll deletes it again.

    Invoke-TestChildProcess runs a script block in another fresh PowerShell process (working
    directory: the repository root; $env:QKDLITE_HOME inherited) and returns its output and errors
    as data, for cross-process and "new session" tests. Values go to the child through environment
    variables, never on its command line.

    The staged module is <repo>/QKDLite.psd1; set $env:QKDLITE_TEST_MODULE to test a module staged
    elsewhere.
#>

Set-StrictMode -Version Latest

$script:RepoRoot = (Resolve-Path -LiteralPath (Join-Path $PSScriptRoot '../..')).ProviderPath
$script:NodePrefix = 'qkdlite-test-'
$script:AesSizes = 128, 192, 256

function Get-TestRepoRoot {
    <# .SYNOPSIS The repository root (working directory of child processes). #>
    [OutputType([string])]
    param()
    $script:RepoRoot
}

function Get-TestModulePath {
    <# .SYNOPSIS The manifest of the staged module the tests import. #>
    [OutputType([string])]
    param()
    if ($env:QKDLITE_TEST_MODULE) { return $env:QKDLITE_TEST_MODULE }
    Join-Path $script:RepoRoot 'QKDLite.psd1'
}

function New-TestDirectory {
    <# .SYNOPSIS A new empty owner-only directory on tmpfs (else the temp folder), named qkdlite-test-<random>. #>
    [OutputType([string])]
    param()
    $parent = if (Test-Path -LiteralPath '/dev/shm' -PathType Container) { '/dev/shm' } else { [IO.Path]::GetTempPath() }
    $path = Join-Path $parent ($script:NodePrefix + [guid]::NewGuid().ToString('N').Substring(0, 12))
    $null = New-Item -ItemType Directory -Path $path -ErrorAction Stop
    $path
}

function New-TestNode {
    <#
    .SYNOPSIS
        Creates a private node: data directory, $env:QKDLITE_HOME, module import, and (unless
        -NoInitialize) Initialize-KeyStore -NewPinFile. Returns the data directory.
    #>
    [OutputType([string])]
    param(
        # Only make the directory and import the module; the test creates the key store itself.
        [switch]$NoInitialize
    )
    $path = New-TestDirectory
    try {
        $env:QKDLITE_HOME = $path
        # -Global: imported from inside this module, the cmdlets would otherwise be visible only here.
        Import-Module -Name (Get-TestModulePath) -Force -Global -ErrorAction Stop
        if (-not $NoInitialize) {
            $null = Initialize-KeyStore -NewPinFile -WarningAction SilentlyContinue -ErrorAction Stop
        }
    }
    catch {
        Remove-TestNode -Path $path
        throw
    }
    $path
}

function Remove-TestNode {
    <# .SYNOPSIS Deletes a directory made by New-TestNode or New-TestDirectory (and nothing else). #>
    param([string]$Path)
    if (-not $Path) { return }
    if ((Split-Path -Leaf $Path) -notlike "$($script:NodePrefix)*") {
        throw "Refusing to delete '$Path': not a test node directory."
    }
    if (Test-Path -LiteralPath $Path) { Remove-Item -LiteralPath $Path -Recurse -Force }
}

function Get-TestStoreState {
    <#
    .SYNOPSIS
        A text snapshot of every visible key (label, keyID, size, check value), for asserting that a
        failed command changed nothing.
    #>
    [OutputType([string])]
    param()
    $lines = @(Get-QuantumKey -ErrorAction Stop | ForEach-Object { '{0}|{1}|{2}|{3}' -f $_.Label, $_.KeyId, $_.SizeBits, $_.CheckValue } | Sort-Object -CaseSensitive)
    "$($lines.Count) keys`n" + ($lines -join "`n")
}

function Get-TestCheckValue {
    <#
    .SYNOPSIS
        The PKCS#11 check value of raw key bytes, computed independently of QKDLite: for AES sizes the
        first 3 bytes of AES-ECB of a zero block, for generic secrets the first 3 bytes of SHA-1.
    #>
    [OutputType([string])]
    param(
        [Parameter(Mandatory)][byte[]]$Key,
        [Parameter(Mandatory)][int]$SizeBits
    )
    if ($script:AesSizes -contains $SizeBits) {
        $aes = [System.Security.Cryptography.Aes]::Create()
        try {
            $aes.Key = $Key
            $block = $aes.EncryptEcb([byte[]]::new(16), [System.Security.Cryptography.PaddingMode]::None)
        }
        finally { $aes.Dispose() }
    }
    else {
        $block = [System.Security.Cryptography.SHA1]::HashData($Key)
    }
    [Convert]::ToHexString($block, 0, 3)
}

function Get-TestKeyRepresentation {
    <#
    .SYNOPSIS
        Ways key bytes could show up in text: Base64, hex (both cases) and PowerShell's "{1, 2, 3…" view.
    #>
    [OutputType([string[]])]
    param([Parameter(Mandatory)][byte[]]$Key)
    $hex = [Convert]::ToHexString($Key)
    [Convert]::ToBase64String($Key)
    $hex
    $hex.ToLowerInvariant()
    # Hyphenated hex as BitConverter prints it, and the start of a default byte[] rendering.
    [BitConverter]::ToString($Key, 0, [Math]::Min(8, $Key.Length))
    ($Key[0..([Math]::Min(4, $Key.Length) - 1)] -join ', ')
}

function Get-TestCompletion {
    <# .SYNOPSIS The completion texts PowerShell offers at the end of an input line. #>
    [OutputType([string[]])]
    param([Parameter(Mandatory)][string]$InputScript)
    $result = TabExpansion2 -inputScript $InputScript -cursorColumn $InputScript.Length
    @($result.CompletionMatches | ForEach-Object CompletionText)
}

function Get-TestPwshCommand {
    # The PowerShell that runs this process, started directly: the same version as `dotnet pwsh`
    # (a dotnet local tool), without the tool resolver's start-up cost of about a second per child.
    $process = [Environment]::ProcessPath
    $name = [IO.Path]::GetFileNameWithoutExtension($process)
    $dll = Join-Path $PSHOME 'pwsh.dll'
    if ($name -eq 'dotnet' -and (Test-Path -LiteralPath $dll)) { return @($process, $dll) }
    if ($name -eq 'pwsh') { return @($process) }
    @('dotnet', 'pwsh')
}

function New-TestChildWrapper {
    <#
    .SYNOPSIS
        The script a test child process runs: imports the module (unless -Import is empty), runs the
        script block with the JSON parameters from QKDLITE_TEST_CHILD_ARGS, and writes its output,
        errors and terminating error as JSON to QKDLITE_TEST_CHILD_RESULT.
    #>
    param([Parameter(Mandatory)][scriptblock]$ScriptBlock, [string]$Import = '')
    @"
`$ProgressPreference = 'SilentlyContinue'
`$__out = [System.Collections.Generic.List[object]]::new()
`$__err = [System.Collections.Generic.List[object]]::new()
`$__term = `$null
function __ConvertError(`$e) {
    [ordered]@{
        FullyQualifiedErrorId = `$e.FullyQualifiedErrorId
        Category = [string]`$e.CategoryInfo.Category
        Message = `$e.Exception.Message
        TargetObject = [string]`$e.TargetObject
    }
}
try {
    $import
    `$__params = @{}
    if (`$env:QKDLITE_TEST_CHILD_ARGS) { `$__params = `$env:QKDLITE_TEST_CHILD_ARGS | ConvertFrom-Json -AsHashtable }
    & {
$($ScriptBlock.ToString())
    } @__params 2>&1 | ForEach-Object {
        if (`$_ -is [System.Management.Automation.ErrorRecord]) { `$__err.Add((__ConvertError `$_)) } else { `$__out.Add(`$_) }
    }
}
catch {
    `$__term = __ConvertError `$_
}
[ordered]@{ Output = `$__out.ToArray(); Errors = `$__err.ToArray(); TerminatingError = `$__term } |
    ConvertTo-Json -Depth 6 -EnumsAsStrings -Compress |
    Set-Content -LiteralPath `$env:QKDLITE_TEST_CHILD_RESULT -Encoding utf8NoBOM
exit ([int](`$null -ne `$__term))
"@
}

function Start-TestChildProcess {
    <#
    .SYNOPSIS
        Starts a script block in a fresh `pwsh -NoProfile -NonInteractive -Command` process with the
        staged module imported. Collect the result with Wait-TestChildProcess.
    .PARAMETER ArgumentList
        Named parameters for the script block (declare them with param()); passed as JSON through an
        environment variable, so they never appear on a command line.
    .PARAMETER Environment
        Environment variables to set (a $null value removes the variable) in the child only.
    #>
    param(
        [Parameter(Mandatory)][scriptblock]$ScriptBlock,
        [hashtable]$ArgumentList = @{},
        [hashtable]$Environment = @{},
        [switch]$NoImport
    )
    $resultFile = Join-Path ([IO.Path]::GetTempPath()) ("qkdlite-child-" + [guid]::NewGuid().ToString('N') + '.json')
    if (Test-Path -LiteralPath '/dev/shm' -PathType Container) {
        $resultFile = Join-Path '/dev/shm' (Split-Path -Leaf $resultFile)
    }
    $import = if ($NoImport) { '' } else { "Import-Module -Name '$((Get-TestModulePath).Replace("'", "''"))' -ErrorAction Stop" }
    $wrapper = New-TestChildWrapper -ScriptBlock $ScriptBlock -Import $import
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($wrapper))
    $command = Get-TestPwshCommand
    $info = [System.Diagnostics.ProcessStartInfo]::new($command[0])
    foreach ($argument in @($command | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-OutputFormat', 'Text', '-EncodedCommand', $encoded)) {
        $info.ArgumentList.Add($argument)
    }
    $info.WorkingDirectory = $script:RepoRoot
    $info.UseShellExecute = $false
    $info.RedirectStandardInput = $true
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    # A fresh process finds its key store through node.json, not through what this one loaded.
    $null = $info.Environment.Remove('SOFTHSM2_CONF')
    $info.Environment['QKDLITE_TEST_CHILD_RESULT'] = $resultFile
    $info.Environment['QKDLITE_TEST_CHILD_ARGS'] = ($ArgumentList | ConvertTo-Json -Depth 5 -Compress)
    foreach ($name in $Environment.Keys) {
        if ($null -eq $Environment[$name]) { $null = $info.Environment.Remove($name) }
        else { $info.Environment[$name] = [string]$Environment[$name] }
    }
    $process = [System.Diagnostics.Process]::Start($info)
    $process.StandardInput.Close()
    [pscustomobject]@{
        Process    = $process
        StdOut     = $process.StandardOutput.ReadToEndAsync()
        StdErr     = $process.StandardError.ReadToEndAsync()
        ResultFile = $resultFile
    }
}

function Wait-TestChildProcess {
    <#
    .SYNOPSIS
        Waits for a child started by Start-TestChildProcess and returns ExitCode, Output (objects
        converted through JSON), Errors and TerminatingError (FullyQualifiedErrorId, Category,
        Message, TargetObject), StdOut and StdErr. Kills the child when it takes too long.
    #>
    param(
        [Parameter(Mandatory)]$Child,
        [int]$TimeoutSeconds = 120
    )
    $process = $Child.Process
    try {
        if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
            $process.Kill($true)
            $null = $process.WaitForExit(10000)
            throw "The child process $($process.Id) did not finish within $TimeoutSeconds s. Output: $($Child.StdOut.Result) $($Child.StdErr.Result)"
        }
        $process.WaitForExit()
        $result = $null
        if (Test-Path -LiteralPath $Child.ResultFile) {
            $result = Get-Content -Raw -LiteralPath $Child.ResultFile | ConvertFrom-Json
        }
        [pscustomobject]@{
            ExitCode         = $process.ExitCode
            Output           = if ($result) { @($result.Output) } else { @() }
            Errors           = if ($result) { @($result.Errors) } else { @() }
            TerminatingError = if ($result) { $result.TerminatingError } else { $null }
            StdOut           = $Child.StdOut.Result
            StdErr           = $Child.StdErr.Result
        }
    }
    finally {
        $process.Dispose()
        Remove-Item -LiteralPath $Child.ResultFile -ErrorAction Ignore
    }
}

function Invoke-TestChildProcess {
    <# .SYNOPSIS Start-TestChildProcess and Wait-TestChildProcess in one. #>
    param(
        [Parameter(Mandatory)][scriptblock]$ScriptBlock,
        [hashtable]$ArgumentList = @{},
        [hashtable]$Environment = @{},
        [switch]$NoImport,
        [int]$TimeoutSeconds = 120
    )
    $child = Start-TestChildProcess -ScriptBlock $ScriptBlock -ArgumentList $ArgumentList -Environment $Environment -NoImport:$NoImport
    Wait-TestChildProcess -Child $child -TimeoutSeconds $TimeoutSeconds
}

function Initialize-TestKeyStore {
    <#
    .SYNOPSIS
        Creates one more key store (token) in this node's data directory with a new PIN file and
        connects it for this session (node.json keeps naming the first store). Returns nothing.
    #>
    param([Parameter(Mandatory)][string]$TokenLabel)
    $null = Initialize-KeyStore -TokenLabel $TokenLabel -NewPinFile -WarningAction SilentlyContinue -ErrorAction Stop
}

function Get-TestKeyStoreConnection {
    <#
    .SYNOPSIS
        Parameters for Connect-KeyStore (Library, TokenLabel, SoftHsmConfig, PinFile) that connect a
        store made by New-TestNode or Initialize-TestKeyStore, for a child process: pass the hashtable
        in -ArgumentList and splat it there.
    #>
    [OutputType([hashtable])]
    param([Parameter(Mandatory)][string]$TokenLabel)
    $info = Get-KeyStore -TokenLabel $TokenLabel -ErrorAction Stop
    $pinFile = Join-Path $env:QKDLITE_HOME "$TokenLabel.pin"
    if (-not (Test-Path -LiteralPath $pinFile)) { throw "No PIN file '$pinFile' for key store '$TokenLabel'." }
    @{
        Library       = $info.LibraryPath
        TokenLabel    = $TokenLabel
        SoftHsmConfig = $info.SoftHsmConfig
        PinFile       = $pinFile
    }
}

function Get-TestTokenState {
    <#
    .SYNOPSIS
        Get-TestStoreState for the connected store named by -TokenLabel, plus its transport key
        (check value, origin and creation time, or "no transport key").
    #>
    [OutputType([string])]
    param([Parameter(Mandatory)][string]$TokenLabel)
    $lines = @(Get-QuantumKey -TokenLabel $TokenLabel -ErrorAction Stop | ForEach-Object { '{0}|{1}|{2}|{3}|{4}' -f $_.Label, $_.KeyId, $_.SizeBits, $_.CheckValue, $_.Created.UtcTicks } | Sort-Object -CaseSensitive)
    $tk = Get-TransportKey -TokenLabel $TokenLabel -ErrorAction SilentlyContinue
    $tkLine = if ($tk) { 'TK {0} {1} {2}' -f $tk.CheckValue, $tk.Origin, $tk.Created.UtcTicks } else { 'no transport key' }
    "$tkLine`n$($lines.Count) keys`n" + ($lines -join "`n")
}

function New-TestKeyComponent {
    <#
    .SYNOPSIS
        Random 256-bit transport key components: Bytes, Hex (64 digits), Grouped (16 groups of 4, as
        Set-TransportKey -Generate shows them), Secure (a SecureString for -Component) and CheckValue.
    #>
    param([int]$Count = 2)
    foreach ($i in 1..$Count) {
        $bytes = [byte[]]::new(32)
        [System.Security.Cryptography.RandomNumberGenerator]::Fill($bytes)
        $hex = [Convert]::ToHexString($bytes)
        [pscustomobject]@{
            Bytes      = $bytes
            Hex        = $hex
            Grouped    = ($hex -split '(?<=\G.{4})(?=.)') -join ' '
            Secure     = ConvertTo-SecureString -String $hex -AsPlainText -Force
            CheckValue = Get-TestCheckValue -Key $bytes -SizeBits 256
        }
    }
}

function Get-TestXor {
    <#
    .SYNOPSIS
        The XOR of equally long byte arrays (the transport key its components make). Takes byte arrays
        or objects with a Bytes property (from New-TestKeyComponent).
    #>
    [OutputType([byte[]])]
    param([Parameter(Mandatory)][object[]]$Component)
    $parts = @(foreach ($item in $Component) { if ($item -is [byte[]]) { , $item } else { , [byte[]]$item.Bytes } })
    $result = [byte[]]::new($parts[0].Length)
    foreach ($part in $parts) {
        if ($part.Length -ne $result.Length) { throw 'The arrays differ in length.' }
        for ($i = 0; $i -lt $result.Length; $i++) { $result[$i] = $result[$i] -bxor $part[$i] }
    }
    , $result
}

function Edit-TestKeyBlock {
    <#
    .SYNOPSIS
        A key block with one character changed (to another Base64url character) in the middle of the
        whole text or of one of its parts (Header, Wrapped, Mac), for tamper tests.
    #>
    [OutputType([string])]
    param(
        [Parameter(Mandatory)][string]$Text,
        [ValidateSet('Middle', 'Header', 'Wrapped', 'Mac')][string]$Part = 'Middle'
    )
    $parts = $Text.Split('.')
    if ($Part -eq 'Middle') {
        $start = 0
        $length = $Text.Length
    }
    else {
        $n = @{ Header = 1; Wrapped = 2; Mac = 3 }[$Part]
        $start = ($parts[0..($n - 1)] | ForEach-Object { $_.Length + 1 } | Measure-Object -Sum).Sum
        $length = $parts[$n].Length
    }
    $at = $start + [int][Math]::Floor($length / 2)
    if ($Text[$at] -eq '.') { $at++ }
    $replacement = if ($Text[$at] -ceq 'A') { 'B' } else { 'A' }
    $Text.Substring(0, $at) + $replacement + $Text.Substring($at + 1)
}

function Find-TestSecret {
    <#
    .SYNOPSIS
        The positions (in -Secret) of the secrets that occur in -Text, compared ordinally. Assert with
        `| Should -BeNullOrEmpty`: a failure then names only positions, so neither the secret nor the
        text holding it (a transcript, terminal output with escape sequences) reaches the test log.
    #>
    [OutputType([int[]])]
    param(
        [Parameter(Mandatory)][AllowEmptyString()][string]$Text,
        [Parameter(Mandatory)][string[]]$Secret
    )
    if ($Secret.Count -eq 0) { throw 'No secrets to look for: the check would pass vacuously.' }
    for ($i = 0; $i -lt $Secret.Count; $i++) {
        if ([string]::IsNullOrEmpty($Secret[$i])) { throw "Secret $i is empty." }
        if ($Text.IndexOf($Secret[$i], [StringComparison]::Ordinal) -ge 0) { $i }
    }
}

function Invoke-TestTerminalProcess {
    <#
    .SYNOPSIS
        Runs a script block in a fresh PowerShell process attached to a pseudo-terminal (util-linux
        `script`), so that the console is not redirected, and feeds -InputText to its terminal.
        Returns ExitCode, Terminal (everything the process wrote to its terminal), Output, Errors and
        TerminatingError as Invoke-TestChildProcess does.
    .PARAMETER ArgumentList
        Named parameters for the script block; passed as JSON through an environment variable.
    .PARAMETER InputText
        Typed ahead at once, before the process asks for anything (the terminal echoes typed-ahead text).
    .PARAMETER Answers
        Typed in turn, each once the terminal output shows its prompt: hashtables with After (a regex
        matched in the output after the previous answer) and Text (what to type, e.g. "value`r").
    .PARAMETER Interactive
        Starts PowerShell without -NonInteractive, so that the host can prompt.
    #>
    param(
        [Parameter(Mandatory)][scriptblock]$ScriptBlock,
        [hashtable]$ArgumentList = @{},
        [string]$InputText = '',
        [hashtable[]]$Answers = @(),
        [switch]$Interactive,
        [int]$TimeoutSeconds = 120
    )
    $scriptCommand = Get-Command -Name 'script' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $scriptCommand) { throw "util-linux 'script' is needed to give a test process a terminal; install util-linux." }
    $parent = if (Test-Path -LiteralPath '/dev/shm' -PathType Container) { '/dev/shm' } else { [IO.Path]::GetTempPath() }
    $id = [guid]::NewGuid().ToString('N')
    $wrapperFile = Join-Path $parent "qkdlite-terminal-$id.ps1"
    $resultFile = Join-Path $parent "qkdlite-terminal-$id.json"
    $wrapper = New-TestChildWrapper -ScriptBlock $ScriptBlock -Import "Import-Module -Name '$((Get-TestModulePath).Replace("'", "''"))' -ErrorAction Stop"
    Set-Content -LiteralPath $wrapperFile -Value $wrapper -Encoding utf8NoBOM
    try {
        $quote = { param($s) "'" + $s.Replace("'", "'\''") + "'" }
        $words = @(Get-TestPwshCommand) + @('-NoProfile') + @(if (-not $Interactive) { '-NonInteractive' }) + @('-File', $wrapperFile)
        $commandLine = ($words | ForEach-Object { & $quote $_ }) -join ' '
        $info = [System.Diagnostics.ProcessStartInfo]::new($scriptCommand.Source)
        foreach ($argument in '-q', '-e', '-c', $commandLine, '/dev/null') { $info.ArgumentList.Add($argument) }
        $info.WorkingDirectory = $script:RepoRoot
        $info.UseShellExecute = $false
        $info.RedirectStandardInput = $true
        $info.RedirectStandardOutput = $true
        $info.RedirectStandardError = $true
        $null = $info.Environment.Remove('SOFTHSM2_CONF')
        if (-not $info.Environment['TERM']) { $info.Environment['TERM'] = 'xterm' }
        $info.Environment['QKDLITE_TEST_CHILD_RESULT'] = $resultFile
        $info.Environment['QKDLITE_TEST_CHILD_ARGS'] = ($ArgumentList | ConvertTo-Json -Depth 5 -Compress)
        $process = [System.Diagnostics.Process]::Start($info)
        try {
            $stderr = $process.StandardError.ReadToEndAsync()
            $stdin = $process.StandardInput
            $stdin.Write($InputText)
            $stdin.Flush()
            # Read the terminal as it comes, to answer each prompt once it shows.
            $terminal = [System.Text.StringBuilder]::new()
            $buffer = [char[]]::new(4096)
            $pending = $process.StandardOutput.ReadAsync($buffer, 0, $buffer.Length)
            $next = 0
            $searchFrom = 0
            $cursorQueries = 0
            $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
            # An interactive host asks the terminal for the cursor position (ESC[6n) and waits for the
            # answer, so stdin stays open to answer for the terminal.
            if ($Answers.Count -eq 0 -and -not $Interactive) { $stdin.Close() }
            while ($true) {
                if ($pending.Wait(50)) {
                    $read = $pending.Result
                    if ($read -eq 0) { break }
                    $null = $terminal.Append($buffer, 0, $read)
                    $pending = $process.StandardOutput.ReadAsync($buffer, 0, $buffer.Length)
                    if ($Interactive) {
                        $asked = ([regex]::Matches($terminal.ToString(), "`e\[6n")).Count
                        for (; $cursorQueries -lt $asked; $cursorQueries++) { $stdin.Write("`e[1;1R") }
                        $stdin.Flush()
                    }
                }
                if ($next -lt $Answers.Count) {
                    $match = [regex]::new($Answers[$next].After).Match($terminal.ToString(), $searchFrom)
                    if ($match.Success) {
                        # Let the prompt start reading before typing (typed-ahead text is echoed).
                        Start-Sleep -Milliseconds 300
                        $stdin.Write([string]$Answers[$next].Text)
                        $stdin.Flush()
                        $searchFrom = $match.Index + $match.Length
                        $next++
                        if ($next -eq $Answers.Count -and -not $Interactive) { $stdin.Close() }
                    }
                }
                if ([DateTime]::UtcNow -gt $deadline) {
                    $process.Kill($true)
                    $null = $process.WaitForExit(10000)
                    throw "The terminal process $($process.Id) did not finish within $TimeoutSeconds s (answered $next of $($Answers.Count) prompts). Output: $terminal $($stderr.Result)"
                }
            }
            if ($next -lt $Answers.Count -or $Interactive) { $stdin.Close() }
            if (-not $process.WaitForExit(30000)) {
                $process.Kill($true)
                throw "The terminal process $($process.Id) closed its terminal but did not exit."
            }
            $process.WaitForExit()
            $result = $null
            if (Test-Path -LiteralPath $resultFile) { $result = Get-Content -Raw -LiteralPath $resultFile | ConvertFrom-Json }
            [pscustomobject]@{
                ExitCode         = $process.ExitCode
                Terminal         = $terminal.ToString()
                StdErr           = $stderr.Result
                Output           = if ($result) { @($result.Output) } else { @() }
                Errors           = if ($result) { @($result.Errors) } else { @() }
                TerminatingError = if ($result) { $result.TerminatingError } else { $null }
            }
        }
        finally { $process.Dispose() }
    }
    finally {
        Remove-Item -LiteralPath $wrapperFile, $resultFile -ErrorAction Ignore
    }
}

function Start-TestKme {
    <#
    .SYNOPSIS
        Builds the test KME pair (tests/QKDLite.TestKme, Release, quietly) and starts it as a process
        writing its PKI and kme.json to -Directory. Returns Process, Directory, Info (kme.json as an
        object) and ControlUrl. Stop it with Stop-TestKme (it also stops by itself after -MaxSeconds).
    .PARAMETER ArgumentList
        Further options of the test KME, e.g. '--max-key-per-request', '4'.
    #>
    param(
        [Parameter(Mandatory)][string]$Directory,
        [string[]]$ArgumentList = @(),
        [int]$MaxSeconds = 300,
        [int]$TimeoutSeconds = 60
    )
    $project = Join-Path $script:RepoRoot 'tests/QKDLite.TestKme'
    # No node reuse or compiler server: nothing may outlive the build and hold the test's output pipes.
    $build = & dotnet build $project -c Release -nologo -v q -nodeReuse:false -p:UseSharedCompilation=false 2>&1
    if ($LASTEXITCODE -ne 0) { throw "Building the test KME failed (exit $LASTEXITCODE):`n$($build -join "`n")" }
    $dll = Join-Path $project 'bin/Release/net10.0/QKDLite.TestKme.dll'
    if (-not (Test-Path -LiteralPath $dll)) { throw "The test KME build wrote no '$dll'." }
    $null = New-Item -ItemType Directory -Force -Path $Directory
    $dotnet = (Get-Command -Name 'dotnet' -CommandType Application -ErrorAction Stop | Select-Object -First 1).Source
    $info = [System.Diagnostics.ProcessStartInfo]::new($dotnet)
    foreach ($argument in @($dll, '--dir', $Directory, '--key-algorithm', 'ecdsa', '--no-stdin', '--max-seconds', "$MaxSeconds") + $ArgumentList) {
        $info.ArgumentList.Add($argument)
    }
    $info.UseShellExecute = $false
    $info.RedirectStandardInput = $true
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $info.WorkingDirectory = $script:RepoRoot
    $process = [System.Diagnostics.Process]::Start($info)
    try {
        $stderr = $process.StandardError.ReadToEndAsync()
        $line = $process.StandardOutput.ReadLineAsync()
        if (-not $line.Wait([TimeSpan]::FromSeconds($TimeoutSeconds))) { throw "The test KME printed nothing within $TimeoutSeconds s." }
        $manifest = Join-Path $Directory 'kme.json'
        if ($line.Result -ne "READY $manifest") {
            throw "The test KME did not start: '$($line.Result)' $(if ($process.WaitForExit(5000)) { $stderr.Result })"
        }
        # Keep reading its output so that it never blocks on a full pipe.
        $stdout = $process.StandardOutput.ReadToEndAsync()
        $kmeInfo = Get-Content -Raw -LiteralPath $manifest | ConvertFrom-Json
        [pscustomobject]@{
            Process    = $process
            Directory  = $Directory
            Info       = $kmeInfo
            ControlUrl = $kmeInfo.controlUrl
            StdOut     = $stdout
            StdErr     = $stderr
        }
    }
    catch {
        if (-not $process.HasExited) { $process.Kill($true) }
        $process.Dispose()
        throw
    }
}

function Stop-TestKme {
    <# .SYNOPSIS Stops a test KME started by Start-TestKme (its process, by id) and waits for it to exit. #>
    param($Kme)
    if (-not $Kme -or -not $Kme.Process) { return }
    $process = $Kme.Process
    try {
        if (-not $process.HasExited) {
            $process.Kill($true)
            $null = $process.WaitForExit(10000)
        }
    }
    finally { $process.Dispose() }
}

function Invoke-TestKmeControl {
    <#
    .SYNOPSIS
        Calls the test KME's control endpoint (or the QRNG stand-in): -Path e.g. 'control/A/behaviour',
        -Body a hashtable sent as JSON. Returns the parsed answer.
    #>
    param(
        [Parameter(Mandatory)]$Kme,
        [Parameter(Mandatory)][string]$Path,
        [ValidateSet('Get', 'Put', 'Post', 'Delete')][string]$Method = 'Get',
        [hashtable]$Body
    )
    $parameters = @{ Method = $Method; Uri = "$($Kme.ControlUrl)/$($Path.TrimStart('/'))"; TimeoutSec = 30 }
    if ($PSBoundParameters.ContainsKey('Body')) {
        $parameters.ContentType = 'application/json'
        $parameters.Body = $Body | ConvertTo-Json -Compress -Depth 5
    }
    # -NoEnumerate: a request log stays one array, also when it holds one entry or none.
    , (Invoke-RestMethod @parameters -NoProxy)
}

function New-TestKmeSettings {
    <#
    .SYNOPSIS
        A KME entry for node.json (Kmes) for a client of a test KME started by Start-TestKme: by default
        KME A's URL, the client's SAE ID, its PEM certificate and key, and the test CA.
    .PARAMETER Certificate
        Pem (certificate and ClientKey), Pfx (no password) or PfxWithPassword (with -PasswordVariable).
    #>
    [OutputType([hashtable])]
    param(
        [Parameter(Mandatory)]$Kme,
        [Parameter(Mandatory)][string]$Name,
        [ValidateSet('SAE-A', 'SAE-B', 'SAE-X', 'wrong-ca')][string]$Client = 'SAE-A',
        [ValidateSet('A', 'B')][string]$Side = 'A',
        [string[]]$Urls,
        [ValidateSet('Pem', 'Pfx', 'PfxWithPassword')][string]$Certificate = 'Pem',
        [string]$PasswordVariable,
        [string]$CaCertificate,
        [int]$TimeoutSeconds,
        [int]$Rounds,
        [ValidateSet('Classical', 'Hybrid', 'PostQuantumOnly')][string]$TlsProfile,
        [string[]]$TlsGroups
    )
    $entry = $Kme.Info.clients.$Client
    $settings = [ordered]@{
        Name          = $Name
        Urls          = @(if ($Urls) { $Urls } elseif ($Side -eq 'A') { $Kme.Info.kmeA.url } else { $Kme.Info.kmeB.url })
        SaeId         = $entry.saeId
        CaCertificate = if ($CaCertificate) { $CaCertificate } else { $Kme.Info.caPem }
    }
    switch ($Certificate) {
        'Pem' { $settings.ClientCertificate = $entry.certPem; $settings.ClientKey = $entry.keyPem }
        'Pfx' { $settings.ClientCertificate = $entry.pfx }
        'PfxWithPassword' { $settings.ClientCertificate = $entry.pfxWithPassword }
    }
    if ($PasswordVariable) { $settings.ClientCertificatePasswordVariable = $PasswordVariable }
    if ($PSBoundParameters.ContainsKey('TimeoutSeconds')) { $settings.TimeoutSeconds = $TimeoutSeconds }
    if ($PSBoundParameters.ContainsKey('Rounds')) { $settings.Rounds = $Rounds }
    if ($TlsProfile) { $settings.TlsProfile = $TlsProfile }
    if ($TlsGroups) { $settings.TlsGroups = @($TlsGroups) }
    $settings
}

function Set-TestKeySource {
    <#
    .SYNOPSIS
        Writes the Kmes and/or Qrngs sections of this node's node.json ($env:QKDLITE_HOME), keeping the
        rest of the file. Each is a list of hashtables (New-TestKmeSettings, or QRNG settings).
    #>
    param(
        [System.Collections.IDictionary[]]$Kme,
        [System.Collections.IDictionary[]]$Qrng
    )
    $file = Join-Path $env:QKDLITE_HOME 'node.json'
    $configuration = if (Test-Path -LiteralPath $file) { Get-Content -Raw -LiteralPath $file | ConvertFrom-Json -AsHashtable } else { [ordered]@{} }
    if ($PSBoundParameters.ContainsKey('Kme')) { $configuration['Kmes'] = @($Kme) }
    if ($PSBoundParameters.ContainsKey('Qrng')) { $configuration['Qrngs'] = @($Qrng) }
    $configuration | ConvertTo-Json -Depth 6 | Set-Content -LiteralPath $file -Encoding utf8NoBOM
}

Export-ModuleMember -Function @(
    'Get-TestRepoRoot'
    'Get-TestModulePath'
    'New-TestDirectory'
    'New-TestNode'
    'Remove-TestNode'
    'Get-TestStoreState'
    'Get-TestCheckValue'
    'Get-TestKeyRepresentation'
    'Get-TestCompletion'
    'Start-TestChildProcess'
    'Wait-TestChildProcess'
    'Invoke-TestChildProcess'
    'Initialize-TestKeyStore'
    'Get-TestKeyStoreConnection'
    'Get-TestTokenState'
    'New-TestKeyComponent'
    'Get-TestXor'
    'Edit-TestKeyBlock'
    'Find-TestSecret'
    'Invoke-TestTerminalProcess'
    'Start-TestKme'
    'Stop-TestKme'
    'Invoke-TestKmeControl'
    'New-TestKmeSettings'
    'Set-TestKeySource'
)
