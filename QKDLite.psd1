@{
    RootModule             = 'bin/QKDLite.dll'
    ModuleVersion          = '0.1.0'
    GUID                   = '6b0f3f5e-2f7c-4c55-9d8e-3a7f1f0c9b21'
    Author                 = 'QKDLite'
    CompanyName            = 'QKDLite'
    Copyright              = '(c) QKDLite. All rights reserved.'
    Description            = 'Quantum key management: QKD and QRNG keys stored in PKCS#11 HSMs, replicated between sites and delivered over ETSI GS QKD 014.'
    PowerShellVersion      = '5.1'
    CompatiblePSEditions   = @('Desktop', 'Core')
    FormatsToProcess       = @('bin/QKDLite.Format.ps1xml')
    CmdletsToExport        = @(
        'Initialize-KeyStore'
        'Connect-KeyStore'
        'Disconnect-KeyStore'
        'Get-KeyStore'
        'New-QuantumKey'
        'Get-QuantumKey'
        'Remove-QuantumKey'
        'Get-KeyCount'
        'Set-TransportKey'
        'Get-TransportKey'
        'New-TransportKeyRequest'
        'Export-QuantumKey'
        'Import-QuantumKey'
        'Get-KmeStatus'
        'Test-TlsEndpoint'
        'Start-EtsiServer'
        'Get-EtsiServer'
        'Stop-EtsiServer'
        'Submit-QuantumKeyTransaction'
        'Complete-QuantumKeyTransaction'
        'Undo-QuantumKeyTransaction'
        'Get-QuantumKeyTransaction'
    )
    # The replication functions: the bundled script module, part of this module and of its version
    # (the functions need PowerShell 7 when called).
    NestedModules          = @('src/QKDLite.Replication/QKDLite.Replication.psm1')
    FunctionsToExport      = @(
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
    AliasesToExport        = @()
    VariablesToExport      = @()
    PrivateData            = @{
        PSData = @{
            Tags       = @('QKD', 'QRNG', 'PKCS11', 'HSM', 'ETSI', 'PostQuantum', 'KeyManagement')
            ProjectUri = ''
        }
    }
}
