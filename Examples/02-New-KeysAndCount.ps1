<#
.SYNOPSIS
    Creates keys for two purposes and shows how many each keyID holds.
.DESCRIPTION
    Uses the key store recorded in node.json (run 01-Initialize-LocalKeyStore.ps1 first). Keys get
    UUID labels; every key records its source (here the classical system RNG).
#>
param([int] $Count = 5)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../QKDLite.psd1')

New-QuantumKey -KeyId 'VPN-A-B' -Count $Count -Size 256 | Out-Null
New-QuantumKey -KeyId 'PaymentMaster' -Count 2 -Size 128 | Out-Null
Get-KeyCount -KeyId 'VPN-A-B', 'PaymentMaster'
