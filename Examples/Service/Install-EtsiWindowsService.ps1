#Requires -Version 5.1
#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Registers QKDLite_ETSI, the node's ETSI GS QKD 014 key-delivery server, to start with Windows.

.DESCRIPTION
    By default registers a Windows service with New-Service that runs the server program directly:
        "<dotnet.exe>" "<module>\bin\etsi\QKDLite_ETSI.dll" --config "<node.json>"
    The Service Control Manager then starts it at boot and stops it with Stop-Service, which the
    server answers like SIGTERM: requests in flight finish first (ShutdownTimeoutSeconds in node.json).
    A program registered as a service must answer the Service Control Manager itself; the script
    checks that this build of QKDLite_ETSI does (it carries Microsoft.Extensions.Hosting.WindowsServices)
    and otherwise stops and points to -AsScheduledTask.

    With -AsScheduledTask it registers a task that runs at startup under SYSTEM instead:
        pwsh -NoProfile -NonInteractive -Command "Import-Module <module>\QKDLite.psd1; Start-EtsiServer -ConfigurationPath <node.json> -Wait"
    Stop it with Stop-EtsiServer (Stop-ScheduledTask would end PowerShell, not the server).

    node.json must name a PinFile or a PinEnvironmentVariable (a machine-wide variable) for the key
    store: nobody can type a PIN at boot, and the PIN never goes on a command line. The account the
    server runs as must be able to read node.json, the PIN file, the certificates and the token files,
    and to write the folder of node.json (state file, audit log).

.PARAMETER ModulePath
    The staged module's folder (QKDLite.psd1 with bin\ and bin\etsi\ after ./build.ps1 Build).
    Default: the repository this script belongs to.

.PARAMETER ConfigurationPath
    The node configuration with the EtsiServer section. Default: $env:ProgramData\QKDLite\node.json.

.PARAMETER Name
    Name of the service or scheduled task. Default: QKDLiteEtsi.

.PARAMETER AsScheduledTask
    Registers a scheduled task that runs Start-EtsiServer -Wait at startup instead of a service.

.EXAMPLE
    ./Install-EtsiWindowsService.ps1 -ModulePath 'C:\Program Files\QKDLite' -ConfigurationPath 'C:\ProgramData\QKDLite\node.json'
    Start-Service QKDLiteEtsi

.EXAMPLE
    ./Install-EtsiWindowsService.ps1 -AsScheduledTask -WhatIf
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [string]$ModulePath = (Split-Path -Parent (Split-Path -Parent $PSScriptRoot)),
    [string]$ConfigurationPath = (Join-Path $env:ProgramData 'QKDLite\node.json'),
    [string]$Name = 'QKDLiteEtsi',
    [switch]$AsScheduledTask
)
$ErrorActionPreference = 'Stop'

$manifest = Join-Path $ModulePath 'QKDLite.psd1'
$program = Join-Path $ModulePath 'bin\etsi\QKDLite_ETSI.dll'
foreach ($required in $manifest, $program, $ConfigurationPath) {
    if (-not (Test-Path -LiteralPath $required -PathType Leaf)) { throw "'$required' does not exist. Build the module (./build.ps1 Build) and write node.json first." }
}
$dotnet = (Get-Command -Name 'dotnet.exe' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1).Source
if (-not $dotnet) { throw 'dotnet.exe is not on PATH: install the .NET 10 runtime with ASP.NET Core (the Hosting Bundle).' }

# Paths go in double quotes: Program Files has a space, and an unquoted service path is a known
# privilege-escalation hole.
function Format-Argument([string]$Value) { '"' + $Value + '"' }

if ($AsScheduledTask) {
    $pwsh = (Get-Command -Name 'pwsh.exe' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1).Source
    if (-not $pwsh) { throw 'pwsh.exe (PowerShell 7) is not on PATH.' }
    $command = "Import-Module '$($manifest.Replace("'", "''"))'; Start-EtsiServer -ConfigurationPath '$($ConfigurationPath.Replace("'", "''"))' -Wait"
    $action = New-ScheduledTaskAction -Execute $pwsh -Argument "-NoProfile -NonInteractive -Command `"$command`"" -WorkingDirectory (Split-Path -Parent $ConfigurationPath)
    $trigger = New-ScheduledTaskTrigger -AtStartup
    $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Limited
    # No time limit, and a restart when the server ends with an error (a non-zero exit fails the task).
    $settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) -RestartCount 3 -RestartInterval (New-TimeSpan -Minutes 1) -StartWhenAvailable
    if ($PSCmdlet.ShouldProcess($Name, 'Register a startup task running Start-EtsiServer -Wait')) {
        Register-ScheduledTask -TaskName $Name -Action $action -Trigger $trigger -Principal $principal -Settings $settings `
            -Description 'QKDLite ETSI GS QKD 014 key-delivery server'
    }
    return
}

$dependencies = Join-Path $ModulePath 'bin\etsi\QKDLite_ETSI.deps.json'
if (-not (Select-String -LiteralPath $dependencies -Pattern 'Microsoft.Extensions.Hosting.WindowsServices' -SimpleMatch -Quiet)) {
    throw "This build of QKDLite_ETSI does not answer the Windows Service Control Manager, so a service running it would fail to start (error 1053). Use -AsScheduledTask."
}
$binaryPath = '{0} {1} --config {2}' -f (Format-Argument $dotnet), (Format-Argument $program), (Format-Argument $ConfigurationPath)
if ($PSCmdlet.ShouldProcess($Name, "Register a service running $binaryPath")) {
    New-Service -Name $Name -BinaryPathName $binaryPath -DisplayName 'QKDLite ETSI key-delivery server' `
        -Description 'Delivers keys from the QKDLite key store to SAEs over ETSI GS QKD 014 with mutual TLS.' `
        -StartupType Automatic
    # Restart after a crash: after 5 s, twice, then every minute.
    & sc.exe failure $Name reset= 86400 actions= restart/5000/restart/5000/restart/60000 | Out-Null
    # LocalSystem by default. A virtual account limits the server to what it needs; grant it read
    # access to node.json, the PIN file, certificates and tokens, and write access to their folder:
    #   sc.exe config QKDLiteEtsi obj= "NT SERVICE\QKDLiteEtsi"
    #   icacls C:\ProgramData\QKDLite /grant "NT SERVICE\QKDLiteEtsi:(OI)(CI)M"
}
