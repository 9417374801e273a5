<#
.SYNOPSIS
    Creates this node's local key store (a SoftHSM2 token in QKDLite's data directory) for unattended use.
.DESCRIPTION
    A random PIN goes into an owner-only file next to node.json, so scheduled tasks can use the store
    without a prompt. The data directory is $env:QKDLITE_HOME, else the user's local application data.
#>
param([string] $TokenLabel = 'QKDLite')
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../QKDLite.psd1')

Initialize-KeyStore -TokenLabel $TokenLabel -NewPinFile -WarningAction SilentlyContinue
