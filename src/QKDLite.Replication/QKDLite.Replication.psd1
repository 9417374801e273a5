@{
    RootModule           = 'QKDLite.Replication.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '0d7c6a52-8f0e-4d4b-9a37-2f51c3b8e6a1'
    Author               = 'QKDLite'
    CompanyName          = 'QKDLite'
    Copyright            = '(c) QKDLite. All rights reserved.'
    Description          = 'Replication between QKDLite nodes: PowerShell remoting over SSH with post-quantum key exchange. Loaded by QKDLite as a nested module.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    FunctionsToExport    = @(
        'New-ReplicationSession'
        'Test-ReplicationNode'
        'New-ReplicatedQuantumKey'
        'Import-ReplicatedQuantumKey'
        'Remove-ReplicatedQuantumKey'
        'Resume-QuantumKeyReplication'
        'Get-QuantumKeyReplication'
    )
    CmdletsToExport      = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
}
