# QKDLite.Replication: fail-safe two-phase replication of key activity from this (main) node to other
# nodes, over PowerShell remoting on SSH with the key exchange restricted to post-quantum hybrids and
# host keys checked. Loaded as a nested module of QKDLite, also by Windows PowerShell 5.1: the
# functions need PowerShell 7 (SSH remoting) and say so when called, so these files keep to 5.1 syntax.

Set-StrictMode -Version 3.0

foreach ($folder in 'Private', 'Public') {
    foreach ($file in Get-ChildItem -Path (Join-Path $PSScriptRoot $folder) -Filter '*.ps1' -File | Sort-Object Name) {
        . $file.FullName
    }
}

# -Remote completes with the site names of node.json. Registered here, so the completer runs in this module.
Register-ArgumentCompleter -CommandName 'New-ReplicatedQuantumKey', 'Import-ReplicatedQuantumKey', 'Remove-ReplicatedQuantumKey', 'Resume-QuantumKeyReplication', 'Test-ReplicationNode' -ParameterName 'Remote' -ScriptBlock ${function:Get-RemoteNameCompletion}
Register-ArgumentCompleter -CommandName 'Get-ReplicationRemote' -ParameterName 'Name' -ScriptBlock ${function:Get-RemoteNameCompletion}
Register-ArgumentCompleter -CommandName 'Test-ReplicationNode' -ParameterName 'Via' -ScriptBlock ${function:Get-RemoteNameCompletion}

Export-ModuleMember -Function @(
    'New-ReplicationSession'
    'Test-ReplicationNode'
    'New-ReplicatedQuantumKey'
    'Import-ReplicatedQuantumKey'
    'Remove-ReplicatedQuantumKey'
    'Resume-QuantumKeyReplication'
    'Get-QuantumKeyReplication'
    'Get-ReplicationRemote'
    'Invoke-QuantumKeyMaintenance'
    'Register-QuantumKeyMaintenance'
    'Unregister-QuantumKeyMaintenance'
)
