namespace QKDLite.Core.Errors;

/// <summary>Stable error ids. Renaming one breaks scripts that test for it: add, never rename.</summary>
public static class ErrorIds
{
    /// <summary>The PKCS#11 library file does not exist or cannot be loaded.</summary>
    public const string KeyStoreLibraryNotFound = nameof(KeyStoreLibraryNotFound);
    /// <summary>No token with the configured label is present.</summary>
    public const string KeyStoreTokenNotFound = nameof(KeyStoreTokenNotFound);
    /// <summary>The token refused the PIN.</summary>
    public const string KeyStorePinIncorrect = nameof(KeyStorePinIncorrect);
    /// <summary>The token's user PIN is locked.</summary>
    public const string KeyStorePinLocked = nameof(KeyStorePinLocked);
    /// <summary>No PIN was given and no PIN source is configured.</summary>
    public const string KeyStorePinMissing = nameof(KeyStorePinMissing);
    /// <summary>The PIN file is readable by other users.</summary>
    public const string PinFileNotOwnerOnly = nameof(PinFileNotOwnerOnly);
    /// <summary>The PIN file does not exist.</summary>
    public const string PinFileNotFound = nameof(PinFileNotFound);
    /// <summary>A token label is empty, longer than 32 bytes, or contains path or control characters.</summary>
    public const string TokenLabelInvalid = nameof(TokenLabelInvalid);
    /// <summary>A new PIN is shorter than 4 or longer than 255 bytes.</summary>
    public const string PinLengthInvalid = nameof(PinLengthInvalid);
    /// <summary>Two PIN entries differ.</summary>
    public const string PinConfirmationMismatch = nameof(PinConfirmationMismatch);
    /// <summary>The SoftHSM2 configuration file does not exist.</summary>
    public const string SoftHsmConfigNotFound = nameof(SoftHsmConfigNotFound);
    /// <summary>The node configuration file could not be written.</summary>
    public const string NodeConfigurationWriteFailed = nameof(NodeConfigurationWriteFailed);
    /// <summary>A key object was listed from another key store than the connected one.</summary>
    public const string KeyFromAnotherStore = nameof(KeyFromAnotherStore);
    /// <summary>A new PIN file was to be written where a file exists already.</summary>
    public const string PinFileExists = nameof(PinFileExists);
    /// <summary>The named environment variable holding the PIN is not set.</summary>
    public const string PinEnvironmentVariableNotSet = nameof(PinEnvironmentVariableNotSet);
    /// <summary>A PKCS#11 call failed for a reason not listed elsewhere.</summary>
    public const string KeyStoreOperationFailed = nameof(KeyStoreOperationFailed);
    /// <summary>The token or device disappeared.</summary>
    public const string KeyStoreUnavailable = nameof(KeyStoreUnavailable);
    /// <summary>No key store is selected for this session and none is configured.</summary>
    public const string KeyStoreNotConnected = nameof(KeyStoreNotConnected);
    /// <summary>The process already loaded SoftHSM2 with another configuration.</summary>
    public const string SoftHsmConfigurationConflict = nameof(SoftHsmConfigurationConflict);
    /// <summary>A token with that label exists already.</summary>
    public const string KeyStoreExists = nameof(KeyStoreExists);
    /// <summary>The node configuration file is malformed.</summary>
    public const string NodeConfigurationInvalid = nameof(NodeConfigurationInvalid);
    /// <summary>The node configuration file does not exist.</summary>
    public const string NodeConfigurationNotFound = nameof(NodeConfigurationNotFound);
    /// <summary>Key size is not a multiple of 8 bits.</summary>
    public const string KeySizeNotMultipleOf8 = nameof(KeySizeNotMultipleOf8);
    /// <summary>Key size is outside the supported range.</summary>
    public const string KeySizeOutOfRange = nameof(KeySizeOutOfRange);
    /// <summary>Key count is zero, negative or too large.</summary>
    public const string KeyCountOutOfRange = nameof(KeyCountOutOfRange);
    /// <summary>The keyID is empty or contains characters outside the allowed set.</summary>
    public const string KeyIdInvalid = nameof(KeyIdInvalid);
    /// <summary>The keyLabel is empty, too long or contains control characters.</summary>
    public const string KeyLabelInvalid = nameof(KeyLabelInvalid);
    /// <summary>Another key already has that label.</summary>
    public const string DuplicateKeyLabel = nameof(DuplicateKeyLabel);
    /// <summary>The number of labels given does not match the number of keys requested.</summary>
    public const string KeyLabelCountMismatch = nameof(KeyLabelCountMismatch);
    /// <summary>No key has that label.</summary>
    public const string KeyNotFound = nameof(KeyNotFound);
    /// <summary>The requested key source is not available in this version or configuration.</summary>
    public const string KeySourceNotAvailable = nameof(KeySourceNotAvailable);
    /// <summary>The key store has no transport key.</summary>
    public const string TransportKeyNotSet = nameof(TransportKeyNotSet);
    /// <summary>A transport key exists and -Force was not given to replace it.</summary>
    public const string TransportKeyExists = nameof(TransportKeyExists);
    /// <summary>Fewer than two key components were given.</summary>
    public const string TooFewComponents = nameof(TooFewComponents);
    /// <summary>A key component is not 64 hexadecimal characters.</summary>
    public const string ComponentMalformed = nameof(ComponentMalformed);
    /// <summary>A key component does not match its check value.</summary>
    public const string ComponentCheckValueMismatch = nameof(ComponentCheckValueMismatch);
    /// <summary>Components cannot be shown because the session has no console.</summary>
    public const string ComponentDisplayUnavailable = nameof(ComponentDisplayUnavailable);
    /// <summary>No ML-KEM transport key request is pending on this key store.</summary>
    public const string TransportKeyRequestNotFound = nameof(TransportKeyRequestNotFound);
    /// <summary>The ML-KEM encapsulation key is malformed.</summary>
    public const string EncapsulationKeyInvalid = nameof(EncapsulationKeyInvalid);
    /// <summary>The ML-KEM ciphertext answers another transport key request than the pending one.</summary>
    public const string TransportKeyRequestMismatch = nameof(TransportKeyRequestMismatch);
    /// <summary>The ML-KEM ciphertext's key confirmation failed: altered, or not made for this request.</summary>
    public const string TransportKeyConfirmationFailed = nameof(TransportKeyConfirmationFailed);
    /// <summary>Two key components are the same, or they combine to an all-zero key.</summary>
    public const string ComponentsNotIndependent = nameof(ComponentsNotIndependent);
    /// <summary>The session cannot prompt for key components.</summary>
    public const string ComponentPromptUnavailable = nameof(ComponentPromptUnavailable);
    /// <summary>A key block file does not exist.</summary>
    public const string KeyBlockFileNotFound = nameof(KeyBlockFileNotFound);
    /// <summary>A key block file cannot be read.</summary>
    public const string KeyBlockFileUnreadable = nameof(KeyBlockFileUnreadable);
    /// <summary>No KME reachable: every configured URL failed (timeout, connection, 503).</summary>
    public const string KmeUnavailable = nameof(KmeUnavailable);
    /// <summary>The KME refused this SAE (401).</summary>
    public const string KmeUnauthorized = nameof(KmeUnauthorized);
    /// <summary>The KME refused the request (400 and similar), with its message.</summary>
    public const string KmeRequestRefused = nameof(KmeRequestRefused);
    /// <summary>The KME answered something that is not ETSI GS QKD 014 (malformed JSON, wrong key length, missing fields).</summary>
    public const string KmeAnswerInvalid = nameof(KmeAnswerInvalid);
    /// <summary>The KME's TLS certificate does not chain to the configured CA.</summary>
    public const string KmeCertificateInvalid = nameof(KmeCertificateInvalid);
    /// <summary>The KME connection settings (certificates, URLs) are unusable.</summary>
    public const string KmeConfigurationInvalid = nameof(KmeConfigurationInvalid);
    /// <summary>No KME or QRNG of that name is in the node configuration.</summary>
    public const string KeySourceNotConfigured = nameof(KeySourceNotConfigured);
    /// <summary>The QRNG could not deliver random bytes (device missing or short, service down).</summary>
    public const string QrngUnavailable = nameof(QrngUnavailable);
    /// <summary>The QRNG service answered something that is not the expected JSON of hex or Base64 bytes.</summary>
    public const string QrngAnswerInvalid = nameof(QrngAnswerInvalid);
    /// <summary>The ML-KEM ciphertext is malformed.</summary>
    public const string CiphertextInvalid = nameof(CiphertextInvalid);
    /// <summary>A key block is not in the key block format.</summary>
    public const string KeyBlockMalformed = nameof(KeyBlockMalformed);
    /// <summary>A key block has a format version this QKDLite does not know.</summary>
    public const string KeyBlockVersionUnsupported = nameof(KeyBlockVersionUnsupported);
    /// <summary>A key block was made under another transport key.</summary>
    public const string KeyBlockWrongTransportKey = nameof(KeyBlockWrongTransportKey);
    /// <summary>A key block failed authentication: its header or wrapped key was changed.</summary>
    public const string KeyBlockTampered = nameof(KeyBlockTampered);
    /// <summary>The token cannot wrap or unwrap a key of this size to standard RFC 5649.</summary>
    public const string KeySizeNotExportable = nameof(KeySizeNotExportable);
    /// <summary>A key's bytes do not match the check value recorded with it.</summary>
    public const string KeyCheckValueMismatch = nameof(KeyCheckValueMismatch);
    /// <summary>Another key with different material already has the block's label.</summary>
    public const string KeyLabelConflict = nameof(KeyLabelConflict);
    /// <summary>The node configuration has no EtsiServer section.</summary>
    public const string EtsiServerNotConfigured = nameof(EtsiServerNotConfigured);
    /// <summary>The EtsiServer section of the node configuration has a bad or missing value.</summary>
    public const string EtsiServerConfigurationInvalid = nameof(EtsiServerConfigurationInvalid);
    /// <summary>The ETSI server's TLS certificate or client CA file is missing or unusable.</summary>
    public const string EtsiServerCertificateInvalid = nameof(EtsiServerCertificateInvalid);
    /// <summary>The ETSI server could not start listening (address in use, bad command line).</summary>
    public const string EtsiServerStartFailed = nameof(EtsiServerStartFailed);
    /// <summary>Fewer active keys of the keyID and size are stored than were asked for; nothing was taken.</summary>
    public const string KeyPoolExhausted = nameof(KeyPoolExhausted);
    /// <summary>The ETSI server program (bin/etsi/QKDLite_ETSI) or a dotnet host to run it is missing.</summary>
    public const string EtsiServerProgramNotFound = nameof(EtsiServerProgramNotFound);
    /// <summary>An ETSI server already runs for this node configuration.</summary>
    public const string EtsiServerAlreadyRunning = nameof(EtsiServerAlreadyRunning);
    /// <summary>The ETSI server did not listen within the time allowed; it was stopped.</summary>
    public const string EtsiServerStartTimeout = nameof(EtsiServerStartTimeout);
    /// <summary>No ETSI server runs for this node configuration.</summary>
    public const string EtsiServerNotRunning = nameof(EtsiServerNotRunning);
    /// <summary>An ETSI server run in the foreground ended with a non-zero exit code.</summary>
    public const string EtsiServerExited = nameof(EtsiServerExited);
    /// <summary>The ETSI server process could not be stopped (for example another user's process).</summary>
    public const string EtsiServerStopFailed = nameof(EtsiServerStopFailed);
    /// <summary>A replication transaction id is empty, too long or has characters outside the allowed set.</summary>
    public const string TransactionIdInvalid = nameof(TransactionIdInvalid);
    /// <summary>The transaction was already committed or aborted on this node: a late prepare, or the opposite decision, is refused.</summary>
    public const string TransactionAlreadyDecided = nameof(TransactionAlreadyDecided);
    /// <summary>This node has no record of the transaction (commit without prepare).</summary>
    public const string TransactionNotFound = nameof(TransactionNotFound);
    /// <summary>The transaction id is already used for another operation.</summary>
    public const string TransactionOperationMismatch = nameof(TransactionOperationMismatch);
    /// <summary>The key is prepared by another replication transaction.</summary>
    public const string KeyInTransaction = nameof(KeyInTransaction);
    /// <summary>A key with this label was deleted by replication; it is never stored again.</summary>
    public const string KeyLabelDeleted = nameof(KeyLabelDeleted);
    /// <summary>The replication journal or participant record (SQLite) could not be opened, read or written.</summary>
    public const string ReplicationStoreFailed = nameof(ReplicationStoreFailed);
    /// <summary>The transaction id is already in the replication journal.</summary>
    public const string TransactionExists = nameof(TransactionExists);
    /// <summary>A replication step does not fit the transaction's journalled state (for example a commit before every node prepared).</summary>
    public const string TransactionStateInvalid = nameof(TransactionStateInvalid);
    /// <summary>The Replication section of the node configuration is not valid (names, nodes, ports).</summary>
    public const string ReplicationConfigurationInvalid = nameof(ReplicationConfigurationInvalid);
    /// <summary>A PostQuantumOnly TLS connection was refused: the peer agreed to none of the hybrid or ML-KEM groups offered (a classical-only peer).</summary>
    public const string TlsPostQuantumRefused = nameof(TlsPostQuantumRefused);
    /// <summary>The Hybrid and PostQuantumOnly TLS profiles need a newer .NET runtime (PowerShell 7.4 or later) than the one running.</summary>
    public const string TlsProfileNotSupported = nameof(TlsProfileNotSupported);
    /// <summary>The client certificate's private key cannot be exported to the post-quantum TLS stack (a non-exportable store key), or its key type is not supported.</summary>
    public const string TlsClientKeyUnusable = nameof(TlsClientKeyUnusable);
    /// <summary>A TLS endpoint to test is not an https:// URI with a host.</summary>
    public const string TlsEndpointInvalid = nameof(TlsEndpointInvalid);
    /// <summary>A TLS endpoint refused the connection, or its host name could not be resolved.</summary>
    public const string TlsEndpointUnreachable = nameof(TlsEndpointUnreachable);
    /// <summary>A TLS endpoint did not complete the connection and handshake within the time allowed.</summary>
    public const string TlsEndpointTimeout = nameof(TlsEndpointTimeout);
    /// <summary>A TLS endpoint's certificate does not chain to the CA given (or the system's trust), or does not name the host.</summary>
    public const string TlsEndpointCertificateUntrusted = nameof(TlsEndpointCertificateUntrusted);
    /// <summary>The TLS handshake failed for another reason (alert from the peer, not TLS at all, no common cipher suite).</summary>
    public const string TlsHandshakeFailed = nameof(TlsHandshakeFailed);
    /// <summary>The Maintenance section of the node configuration is not valid (the message names the entry and the problem).</summary>
    public const string MaintenanceConfigurationInvalid = nameof(MaintenanceConfigurationInvalid);
}
