namespace QKDLite.EtsiServer.Protocol;

/// <summary>The fields of a status answer.</summary>
internal sealed record EtsiStatus(
    string SourceKmeId, string TargetKmeId, string MasterSaeId, string SlaveSaeId, int KeySize, int StoredKeyCount,
    int MaxKeyCount, int MaxKeyPerRequest, int MaxKeySize, int MinKeySize, int MaxSaeIdCount);
