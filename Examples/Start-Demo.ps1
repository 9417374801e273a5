#Requires -Version 7.0
<#
.SYNOPSIS
    QKDLite's main job on the local key store, shown step by step for an administrator.
.DESCRIPTION
    Initialises a throwaway local key store, creates keys under two keyIDs, lists and counts them,
    removes some through a pipeline, shows the result, and removes the throwaway store again.
    Run it with: dotnet pwsh ./build.ps1 Demo
#>
[CmdletBinding()]
param()
$ErrorActionPreference = 'Stop'
$PSStyle.OutputRendering = 'PlainText'

$root = if (Test-Path '/dev/shm') { '/dev/shm' } else { [IO.Path]::GetTempPath() }
$node = Join-Path $root ('qkdlite-demo-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
$env:QKDLITE_HOME = $node

function Show-Step([int] $Number, [string] $Text) { Write-Host ''; Write-Host "[$Number] $Text" }
function Show-Table { $input | Format-Table -AutoSize | Out-String -Width 120 | ForEach-Object TrimEnd | Write-Host }

try {
    Import-Module (Join-Path $PSScriptRoot '../QKDLite.psd1') -Force
    Write-Host "QKDLite demo: the key lifecycle on a local SoftHSM2 key store"

    Show-Step 1 "Initialising a throwaway local key store in $node"
    $store = Initialize-KeyStore -TokenLabel 'DemoNode' -NewPinFile -WarningAction SilentlyContinue
    Write-Host ("    token '{0}' (serial {1}, {2}); PIN kept in an owner-only file, never shown" -f $store.TokenLabel, $store.SerialNumber, $store.Model)

    Show-Step 2 "Creating 6 keys of 256 bits for the VPN pair 'VPN-A-B' and 3 keys of 128 bits for 'PaymentMaster'"
    $vpn = New-QuantumKey -KeyId 'VPN-A-B' -Count 6 -Size 256
    $payment = New-QuantumKey -KeyId 'PaymentMaster' -Count 3 -Size 128
    Write-Host ("    created {0} keys from the {1} source; each has a unique UUID label" -f ($vpn.Count + $payment.Count), $vpn[0].Source)

    Show-Step 3 'Listing the keys (metadata and check values only: key bytes never leave the token unwrapped)'
    Get-QuantumKey | Show-Table

    Show-Step 4 'Counting keys per keyID'
    Get-KeyCount | Show-Table

    Show-Step 5 "Removing the 4 oldest 'VPN-A-B' keys through a pipeline"
    Write-Host "    Get-QuantumKey -KeyId VPN-A-B | Select-Object -First 4 | Remove-QuantumKey -Force -PassThru"
    $removed = Get-QuantumKey -KeyId 'VPN-A-B' | Select-Object -First 4 | Remove-QuantumKey -Force -PassThru
    $removed | Show-Table

    Show-Step 6 'Counting again'
    $counts = Get-KeyCount
    $counts | Show-Table

    $vpnLeft = ($counts | Where-Object KeyId -eq 'VPN-A-B').Count
    $paymentLeft = ($counts | Where-Object KeyId -eq 'PaymentMaster').Count
    if ($removed.Count -ne 4 -or $vpnLeft -ne 2 -or $paymentLeft -ne 3) {
        throw "Unexpected result: removed $($removed.Count), VPN-A-B left $vpnLeft, PaymentMaster left $paymentLeft."
    }
    Write-Host ("Done: 9 keys created, 4 removed, {0} left (VPN-A-B {1}, PaymentMaster {2})." -f ($vpnLeft + $paymentLeft), $vpnLeft, $paymentLeft)
}
finally {
    Remove-Module QKDLite -ErrorAction SilentlyContinue
    if (Test-Path $node) { Remove-Item -Recurse -Force $node }
    Write-Host "The throwaway key store in $node was removed."
}
