# The scripts in Examples/ run as an administrator would run them: each in its own fresh
# PowerShell process, one after another, against one throwaway node.
BeforeAll {
    $script:Repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $root = if (Test-Path '/dev/shm') { '/dev/shm' } else { [IO.Path]::GetTempPath() }
    $script:Node = Join-Path $root ('qkdlite-examples-' + [guid]::NewGuid().ToString('N').Substring(0, 8))

    function Invoke-Example([string] $Name, [string[]] $Arguments = @()) {
        $previous = $env:QKDLITE_HOME
        $env:QKDLITE_HOME = $script:Node
        $env:NO_COLOR = '1'   # plain text from the child, so the output can be matched
        try {
            Push-Location $script:Repo
            $output = & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $script:Repo "Examples/$Name") @Arguments 2>&1 | Out-String
            [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = $output }
        }
        finally {
            Pop-Location
            $env:QKDLITE_HOME = $previous
        }
    }
}

AfterAll {
    if (Test-Path $script:Node) { Remove-Item -Recurse -Force $script:Node }
}

Describe 'Examples' {
    It '01 initialises the local key store with an owner-only PIN file' {
        $result = Invoke-Example '01-Initialize-LocalKeyStore.ps1'
        $result.ExitCode | Should -Be 0 -Because $result.Output
        $result.Output | Should -Match 'TokenLabel\s*:\s*QKDLite'
        (Get-Content (Join-Path $script:Node 'node.json') -Raw | ConvertFrom-Json).KeyStore.TokenLabel | Should -Be 'QKDLite'
        if (-not $IsWindows) { [int](Get-Item (Join-Path $script:Node 'QKDLite.pin')).UnixFileMode | Should -Be 384 -Because 'the PIN file must be mode 600' }
    }

    It '02 creates keys under two keyIDs and counts them' {
        $result = Invoke-Example '02-New-KeysAndCount.ps1' @('-Count', '5')
        $result.ExitCode | Should -Be 0 -Because $result.Output
        $result.Output | Should -Match 'VPN-A-B\s+5\b'
        $result.Output | Should -Match 'PaymentMaster\s+2\b'
    }

    It '03 removes the oldest keys through the pipeline and keeps the newest' {
        $result = Invoke-Example '03-Remove-OldestKeys.ps1' @('-KeyId', 'VPN-A-B', '-Keep', '3')
        $result.ExitCode | Should -Be 0 -Because $result.Output
        ([regex]::Matches($result.Output, 'VPN-A-B')).Count | Should -Be 2
        $check = Invoke-Example '02-New-KeysAndCount.ps1' @('-Count', '1')
        $check.Output | Should -Match 'VPN-A-B\s+4\b'
    }

    It 'Start-Demo runs the main job end to end and removes its throwaway store' {
        $before = @(Get-ChildItem ($(if (Test-Path '/dev/shm') { '/dev/shm' } else { [IO.Path]::GetTempPath() })) -Filter 'qkdlite-demo-*' -ErrorAction SilentlyContinue).Count
        $result = Invoke-Example 'Start-Demo.ps1'
        $result.ExitCode | Should -Be 0 -Because $result.Output
        $result.Output | Should -Match 'Done: 9 keys created, 4 removed, 5 left'
        $result.Output | Should -Match 'transport key check values: DemoNode ([0-9A-F]{6}), RemoteNode \1'
        $result.Output | Should -Match 'Done: 4 of 4 keys are identical on both nodes'
        $result.Output | Should -Match 'Done: 2 of 2 keys delivered by node A and node B are identical'
        ([regex]::Matches($result.Output, '\d+ Stopped https://127\.0\.0\.1:\d+')).Count | Should -Be 2 -Because 'the demo stops both ETSI servers'
        # Both nodes behind their own sshd, each connection post-quantum, creation and deletion replicated.
        ([regex]::Matches($result.Output, '@127\.0\.0\.1:\d+ (sntrup761x25519-sha512@openssh\.com|mlkem768x25519-sha256)\s+True\s+\S+\s+True\s+True')).Count |
            Should -Be 2 -Because 'each node negotiates a post-quantum key exchange and is ready'
        $result.Output | Should -Match '\bCreate Committed\s+True\s+3\b'
        $result.Output | Should -Match 'Done: 3 keys replicated and 1 deleted on both nodes; VPN-A-D holds 2 keys on node A and 2 on node B, over (sntrup761x25519-sha512@openssh\.com|mlkem768x25519-sha256)\.'
        $result.Output | Should -Match 'was removed'
        if ($IsLinux) {
            $servers = @(Get-ChildItem -LiteralPath '/proc' -Directory | Where-Object Name -Match '^\d+$' | Where-Object {
                    $commandLine = try { [IO.File]::ReadAllText("/proc/$($_.Name)/cmdline") } catch { '' }
                    $commandLine.Contains('QKDLite_ETSI') -and $commandLine.Contains('qkdlite-demo-')
                })
            $servers | Should -BeNullOrEmpty -Because 'no demo server outlives the demo'
            $sshds = @(Get-Process -Name sshd -ErrorAction Ignore | Where-Object { $_.CommandLine -like '*qkdlite-demo-*' })
            $sshds | Should -BeNullOrEmpty -Because 'no demo sshd outlives the demo'
        }
        @(Get-ChildItem ($(if (Test-Path '/dev/shm') { '/dev/shm' } else { [IO.Path]::GetTempPath() })) -Filter 'qkdlite-demo-*' -ErrorAction SilentlyContinue).Count | Should -Be $before
    }
}
