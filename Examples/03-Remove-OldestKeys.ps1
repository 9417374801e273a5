<#
.SYNOPSIS
    Keeps only the newest keys of a keyID, removing the oldest through the pipeline.
.DESCRIPTION
    Get-QuantumKey lists oldest first, so Select-Object picks the oldest surplus keys, and
    Remove-QuantumKey destroys them. -Force skips the confirmation a High-impact removal asks for.
#>
param(
    [string] $KeyId = 'VPN-A-B',
    [int] $Keep = 3
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../QKDLite.psd1')

$keys = @(Get-QuantumKey -KeyId $KeyId)
$surplus = [math]::Max(0, $keys.Count - $Keep)
$keys | Select-Object -First $surplus | Remove-QuantumKey -Force -PassThru
