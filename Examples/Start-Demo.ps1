#Requires -Version 7.0
<#
.SYNOPSIS
    QKDLite's main job on the local key store, shown step by step for an administrator.
.DESCRIPTION
    Initialises a throwaway local key store, creates keys under two keyIDs, lists and counts them,
    removes some through a pipeline, then adds a second node on the same machine, shares a transport
    key with it by ML-KEM, moves new keys to it as key blocks and compares both nodes by check value.
    It removes the throwaway stores again at the end.
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

    Show-Step 7 "A second node on this machine: initialising key store 'RemoteNode'"
    $null = Initialize-KeyStore -TokenLabel 'RemoteNode' -NewPinFile -WarningAction SilentlyContinue
    Write-Host "    both nodes' tokens live in the throwaway directory; each has its own PIN file"

    Show-Step 8 'Sharing a transport key by ML-KEM-1024: only the public encapsulation key and the ciphertext travel'
    $request = New-TransportKeyRequest -TokenLabel 'RemoteNode'
    Write-Host ("    RemoteNode publishes its encapsulation key (fingerprint {0})" -f $request.Fingerprint)
    $sent = Set-TransportKey -TokenLabel 'DemoNode' -EncapsulationKey $request.EncapsulationKey -Confirm:$false
    Write-Host ("    DemoNode encapsulates to it and sends back {0} bytes of ciphertext, naming request {1}" -f [Convert]::FromBase64String($sent.Ciphertext.Split('.')[2]).Length, $sent.Ciphertext.Split('.')[1])
    $received = Set-TransportKey -TokenLabel 'RemoteNode' -Ciphertext $sent.Ciphertext -Confirm:$false
    Write-Host ("    transport key check values: DemoNode {0}, RemoteNode {1}" -f $sent.CheckValue, $received.CheckValue)
    if ($sent.CheckValue -ne $received.CheckValue) { throw 'The two nodes derived different transport keys.' }

    Show-Step 9 'Moving 4 new keys: New-QuantumKey | Export-QuantumKey | Import-QuantumKey'
    Write-Host "    New-QuantumKey -TokenLabel DemoNode -KeyId VPN-A-C -Count 4 | Export-QuantumKey -TokenLabel DemoNode | Import-QuantumKey -TokenLabel RemoteNode"
    $imported = New-QuantumKey -TokenLabel 'DemoNode' -KeyId 'VPN-A-C' -Count 4 |
        Export-QuantumKey -TokenLabel 'DemoNode' |
        Import-QuantumKey -TokenLabel 'RemoteNode'
    Write-Host ("    {0} keys imported into RemoteNode, each wrapped under the transport key inside the HSM and authenticated" -f @($imported).Count)

    Show-Step 10 'Comparing both nodes by key check values (never by key bytes)'
    $onRemote = @{}
    Get-QuantumKey -TokenLabel 'RemoteNode' -KeyId 'VPN-A-C' | ForEach-Object { $onRemote[$_.Label] = $_.CheckValue }
    $comparison = Get-QuantumKey -TokenLabel 'DemoNode' -KeyId 'VPN-A-C' | ForEach-Object {
        [pscustomobject]@{ Label = $_.Label; DemoNode = $_.CheckValue; RemoteNode = $onRemote[$_.Label]; Same = $_.CheckValue -eq $onRemote[$_.Label] }
    }
    $comparison | Show-Table
    $same = @($comparison | Where-Object Same).Count
    if ($same -ne 4) { throw "Only $same of 4 keys match on both nodes." }
    Write-Host "Done: 4 of 4 keys are identical on both nodes."
}
finally {
    Remove-Module QKDLite -ErrorAction SilentlyContinue
    if (Test-Path $node) { Remove-Item -Recurse -Force $node }
    Write-Host "The throwaway key store in $node was removed."
}
