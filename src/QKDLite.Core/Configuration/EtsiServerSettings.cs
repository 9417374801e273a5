using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using QKDLite.Core.Errors;
using QKDLite.Core.Keys;
using QKDLite.Core.Tls;

namespace QKDLite.Core.Configuration;

/// <summary>
/// The <c>EtsiServer</c> section of the node configuration: how QKDLite_ETSI listens, whom it trusts,
/// how it names callers, and which SAE pairs it serves from which keyID. Relative paths are taken
/// from the folder of the node configuration file.
/// </summary>
public sealed class EtsiServerSettings
{
    /// <summary>File name of the audit log when <see cref="AuditLog"/> is not set (next to the node configuration).</summary>
    public const string DefaultAuditLogName = "etsi-audit.log";
    /// <summary>Largest <see cref="MaxKeysPerRequest"/> accepted.</summary>
    public const int MaxKeysPerRequestLimit = 10_000;
    /// <summary>Smallest <see cref="MaxBodyBytes"/> accepted: room for a request naming a few key_IDs.</summary>
    public const int MinBodyBytesLimit = 1024;
    /// <summary>Largest <see cref="MaxBodyBytes"/> accepted.</summary>
    public const int MaxBodyBytesLimit = 16 * 1024 * 1024;

    /// <summary>IP address to listen on ("127.0.0.1", "::1", "0.0.0.0", "::"), or "localhost" or "*" (every address).</summary>
    public string Address { get; set; } = "127.0.0.1";
    /// <summary>TCP port; 0 lets the system pick a free one (the state file names it).</summary>
    public int Port { get; set; } = 8443;
    /// <summary>TLS server certificate: a PFX/PKCS#12 file without password, or a PEM certificate (key in <see cref="ServerCertificateKey"/> or in the same file).</summary>
    public string? ServerCertificate { get; set; }
    /// <summary>PEM private key of a PEM <see cref="ServerCertificate"/>, when the key is in a file of its own.</summary>
    public string? ServerCertificateKey { get; set; }
    /// <summary>PEM file of the CA (or CAs) that SAE client certificates must chain to; the machine's trust store plays no part.</summary>
    public string? ClientCaCertificate { get; set; }
    /// <summary>Where a caller's SAE ID comes from in its client certificate.</summary>
    public SaeIdentitySource SaeIdentity { get; set; } = SaeIdentitySource.SubjectCommonName;
    /// <summary>Certificate thumbprint (SHA-1 or SHA-256, hex) to SAE ID, for <see cref="SaeIdentitySource.Thumbprint"/>.</summary>
    public Dictionary<string, string>? SaeThumbprints { get; set; }
    /// <summary>This node's KME ID (status <c>source_KME_ID</c>).</summary>
    public string? KmeId { get; set; }
    /// <summary>The SAE pairs served, each from its own keyID.</summary>
    public List<EtsiSaePair> Pairs { get; set; } = new();
    /// <summary>Most keys one request may ask for (status <c>max_key_per_request</c>); also bounds the key_IDs of one <c>dec_keys</c>.</summary>
    public int MaxKeysPerRequest { get; set; } = 128;
    /// <summary>Largest key size in bits a request may ask for (status <c>max_key_size</c>).</summary>
    public int MaxKeySize { get; set; } = 1024;
    /// <summary>Smallest key size in bits a request may ask for (status <c>min_key_size</c>).</summary>
    public int MinKeySize { get; set; } = KeyRules.MinSizeBits;
    /// <summary>Largest request body in bytes; larger requests are refused with 400 before they are read.</summary>
    public int MaxBodyBytes { get; set; } = 65536;
    /// <summary>Audit log (one JSON line per request); default <see cref="DefaultAuditLogName"/> next to the node configuration.</summary>
    public string? AuditLog { get; set; }
    /// <summary>Seconds a stopping server gives requests in flight before it closes their connections.</summary>
    public int ShutdownTimeoutSeconds { get; set; } = 10;
    /// <summary>
    /// How the listener of <see cref="Address"/> and <see cref="Port"/> negotiates TLS: <see cref="Tls.TlsProfile.Hybrid"/>
    /// (the default: a hybrid ML-KEM key exchange preferred, classical accepted), <see cref="Tls.TlsProfile.PostQuantumOnly"/>
    /// or <see cref="Tls.TlsProfile.Classical"/> (the platform's TLS).
    /// </summary>
    public TlsProfile TlsProfile { get; set; } = TlsProfile.Hybrid;
    /// <summary>Post-quantum groups offered by the Hybrid and PostQuantumOnly profiles, most preferred first; default <c>[X25519MLKEM768]</c>.</summary>
    public List<string>? TlsGroups { get; set; }
    /// <summary>Further listeners, each with its own address, port and TLS profile, served beside the one of <see cref="Address"/> and <see cref="Port"/>.</summary>
    public List<EtsiListenerSettings>? Listeners { get; set; }

    /// <summary>
    /// Checks every value that is set (ranges, formats, pairs) without touching any file. Throws
    /// EtsiServerConfigurationInvalid naming the first problem. <paramref name="file"/> names the
    /// node configuration in the message.
    /// </summary>
    public void Validate(string file)
    {
        if (string.IsNullOrWhiteSpace(Address) || !IsListenAddress(Address))
            throw Invalid(file, $"Address '{Address}' is not an IP address, 'localhost' or '*'");
        if (Port < 0 || Port > 65535)
            throw Invalid(file, $"Port {Port} is out of range; use 1 to 65535, or 0 for a free port");
        if (!Enum.IsDefined(typeof(SaeIdentitySource), SaeIdentity))
            throw Invalid(file, $"SaeIdentity '{SaeIdentity}' is not one of {string.Join(", ", Enum.GetNames(typeof(SaeIdentitySource)))}");
        if (MaxKeysPerRequest < 1 || MaxKeysPerRequest > MaxKeysPerRequestLimit)
            throw Invalid(file, $"MaxKeysPerRequest {MaxKeysPerRequest} is out of range; use 1 to {MaxKeysPerRequestLimit}");
        CheckSizeLimit(file, nameof(MinKeySize), MinKeySize);
        CheckSizeLimit(file, nameof(MaxKeySize), MaxKeySize);
        if (MinKeySize > MaxKeySize)
            throw Invalid(file, $"MinKeySize {MinKeySize} is larger than MaxKeySize {MaxKeySize}");
        if (MaxBodyBytes < MinBodyBytesLimit || MaxBodyBytes > MaxBodyBytesLimit)
            throw Invalid(file, $"MaxBodyBytes {MaxBodyBytes} is out of range; use {MinBodyBytesLimit} to {MaxBodyBytesLimit}");
        if (ShutdownTimeoutSeconds < 0 || ShutdownTimeoutSeconds > 3600)
            throw Invalid(file, $"ShutdownTimeoutSeconds {ShutdownTimeoutSeconds} is out of range; use 0 to 3600");
        ValidateListeners(file);
        if (SaeThumbprints is not null)
        {
            foreach (var entry in SaeThumbprints)
            {
                var normalized = NormalizeThumbprint(entry.Key);
                if (normalized.Length != 40 && normalized.Length != 64 || !normalized.All(IsHexDigit))
                    throw Invalid(file, $"SaeThumbprints key '{entry.Key}' is not a SHA-1 (40 hex digits) or SHA-256 (64 hex digits) thumbprint");
                if (!IsSaeId(entry.Value))
                    throw Invalid(file, $"SaeThumbprints names no valid SAE ID for thumbprint '{entry.Key}'");
            }
            var duplicate = SaeThumbprints.Keys.GroupBy(NormalizeThumbprint).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
                throw Invalid(file, $"SaeThumbprints lists thumbprint {duplicate.Key} twice");
        }
        if (Pairs is null)
            throw Invalid(file, "Pairs must be a list (it may be empty)");
        var seenPairs = new HashSet<string>(StringComparer.Ordinal);
        var seenKeyIds = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < Pairs.Count; i++)
        {
            var pair = Pairs[i] ?? throw Invalid(file, $"Pairs[{i}] is empty");
            var name = $"Pairs[{i}]";
            if (!IsSaeId(pair.MasterSaeId)) throw Invalid(file, $"{name} has no valid MasterSaeId (1 to 256 printable characters)");
            if (!IsSaeId(pair.SlaveSaeId)) throw Invalid(file, $"{name} has no valid SlaveSaeId (1 to 256 printable characters)");
            if (string.Equals(pair.MasterSaeId, pair.SlaveSaeId, StringComparison.Ordinal))
                throw Invalid(file, $"{name} names SAE '{pair.MasterSaeId}' as both master and slave");
            try
            {
                KeyRules.CheckKeyId(pair.KeyId);
            }
            catch (QKDLiteException e)
            {
                throw Invalid(file, $"{name}: {e.Message.TrimEnd('.')}", e);
            }
            if (pair.KeySize % 8 != 0 || pair.KeySize < MinKeySize || pair.KeySize > MaxKeySize)
                throw Invalid(file, $"{name} KeySize {pair.KeySize} must be a multiple of 8 from MinKeySize {MinKeySize} to MaxKeySize {MaxKeySize}");
            if (!seenPairs.Add(pair.MasterSaeId + "\n" + pair.SlaveSaeId))
                throw Invalid(file, $"{name} repeats the pair master '{pair.MasterSaeId}', slave '{pair.SlaveSaeId}'");
            // Two pairs drawing on one keyID could be served each other's keys.
            if (!seenKeyIds.Add(pair.KeyId))
                throw Invalid(file, $"{name} uses keyID '{pair.KeyId}', which another pair uses already; give each pair its own keyID");
        }
    }

    /// <summary>
    /// <see cref="Validate"/> plus what a running server needs: certificates named, a KME ID, at least
    /// one pair with its peer KME ID, and thumbprints when SAE IDs come from them.
    /// </summary>
    public void ValidateForServing(string file)
    {
        Validate(file);
        if (string.IsNullOrWhiteSpace(ServerCertificate)) throw Invalid(file, "ServerCertificate is not set");
        if (string.IsNullOrWhiteSpace(ClientCaCertificate)) throw Invalid(file, "ClientCaCertificate is not set");
        if (string.IsNullOrWhiteSpace(KmeId)) throw Invalid(file, "KmeId is not set");
        if (Pairs.Count == 0) throw Invalid(file, "Pairs is empty: the server would serve nobody");
        for (var i = 0; i < Pairs.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(Pairs[i].PeerKmeId)) throw Invalid(file, $"Pairs[{i}] has no PeerKmeId");
        }
        if (SaeIdentity == SaeIdentitySource.Thumbprint && (SaeThumbprints is null || SaeThumbprints.Count == 0))
            throw Invalid(file, "SaeIdentity is Thumbprint but SaeThumbprints is empty");
    }

    /// <summary>
    /// Every listener with its defaults applied: the one of <see cref="Address"/> and <see cref="Port"/>
    /// first, then <see cref="Listeners"/>. Call after <see cref="Validate"/>.
    /// </summary>
    public IReadOnlyList<EtsiListener> ResolveListeners()
    {
        var listeners = new List<EtsiListener> { Resolve(Address, Port, TlsProfile, TlsGroups) };
        foreach (var extra in Listeners ?? new List<EtsiListenerSettings>())
            listeners.Add(Resolve(extra.Address, extra.Port, extra.TlsProfile ?? TlsProfile, extra.TlsGroups ?? TlsGroups));
        return listeners;
    }

    private static EtsiListener Resolve(string address, int port, TlsProfile profile, List<string>? groups)
    {
        var names = profile == TlsProfile.Classical
            ? new List<string>()
            : (groups ?? new List<string> { PostQuantumGroups.DefaultGroup }).Select(Canonical).ToList();
        return new EtsiListener(address, port, profile, names);
    }

    private static string Canonical(string name) =>
        PostQuantumGroups.TryGetPostQuantum(name, out var code) ? PostQuantumGroups.NameOf(code) : name;

    private void ValidateListeners(string file)
    {
        CheckTls(file, "", TlsProfile, TlsGroups);
        if (Listeners is null) return;
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (Port != 0) seen[Address + "\n" + Port] = "Address and Port";
        for (var i = 0; i < Listeners.Count; i++)
        {
            var name = $"Listeners[{i}]";
            var listener = Listeners[i] ?? throw Invalid(file, $"{name} is empty");
            if (string.IsNullOrWhiteSpace(listener.Address) || !IsListenAddress(listener.Address))
                throw Invalid(file, $"{name} Address '{listener.Address}' is not an IP address, 'localhost' or '*'");
            if (listener.Port < 0 || listener.Port > 65535)
                throw Invalid(file, $"{name} Port {listener.Port} is out of range; use 1 to 65535, or 0 for a free port");
            CheckTls(file, name + " ", listener.TlsProfile ?? TlsProfile, listener.TlsGroups ?? TlsGroups);
            // Port 0 picks a free port each time, so only fixed ports can collide.
            if (listener.Port != 0 && seen.TryGetValue(listener.Address + "\n" + listener.Port, out var other))
                throw Invalid(file, $"{name} listens on {listener.Address} port {listener.Port}, like {other}; give each listener its own address and port");
            if (listener.Port != 0) seen[listener.Address + "\n" + listener.Port] = name;
        }
    }

    private static void CheckTls(string file, string where, TlsProfile profile, List<string>? groups)
    {
        if (!Enum.IsDefined(typeof(TlsProfile), profile))
            throw Invalid(file, $"{where}TlsProfile '{profile}' is not one of {string.Join(", ", Enum.GetNames(typeof(TlsProfile)))}");
        if (groups is null) return;
        var known = string.Join(", ", PostQuantumGroups.PostQuantumNames);
        if (groups.Count == 0)
            throw Invalid(file, $"{where}TlsGroups is empty; name at least one of {known}, or leave it out for {PostQuantumGroups.DefaultGroup}");
        var seen = new HashSet<int>();
        foreach (var group in groups)
        {
            if (PostQuantumGroups.TryGetPostQuantum(group, out var code))
            {
                if (!seen.Add(code)) throw Invalid(file, $"{where}TlsGroups lists {PostQuantumGroups.NameOf(code)} twice");
                continue;
            }
            var classical = PostQuantumGroups.ClassicalFallback.Select(PostQuantumGroups.NameOf)
                .FirstOrDefault(n => string.Equals(n, group, StringComparison.OrdinalIgnoreCase));
            if (classical is not null && profile == TlsProfile.PostQuantumOnly)
                throw Invalid(file, $"{where}TlsGroups names the classical group {classical}, which the PostQuantumOnly profile never offers; name only {known}");
            if (classical is not null)
                throw Invalid(file, $"{where}TlsGroups names the classical group {classical}; list post-quantum groups only ({known}): the Hybrid profile accepts {string.Join(", ", PostQuantumGroups.ClassicalFallback.Select(PostQuantumGroups.NameOf))} by itself");
            throw Invalid(file, $"{where}TlsGroups names '{group}', which is not a known group; use {known}");
        }
    }

    /// <summary>A path from this section, made absolute against the folder of the node configuration <paramref name="file"/>.</summary>
    public static string ResolvePath(string file, string path) =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".", path));

    /// <summary>The audit log file for the node configuration <paramref name="file"/>.</summary>
    public string AuditLogPath(string file) =>
        ResolvePath(file, string.IsNullOrWhiteSpace(AuditLog) ? DefaultAuditLogName : AuditLog!);

    /// <summary>A thumbprint in upper-case hex without separators (':', '-', spaces), as certificates report it.</summary>
    public static string NormalizeThumbprint(string thumbprint) =>
        new string((thumbprint ?? string.Empty).Where(c => c != ':' && c != '-' && !char.IsWhiteSpace(c)).ToArray()).ToUpperInvariant();

    private static bool IsListenAddress(string address) =>
        address == "*" || string.Equals(address, "localhost", StringComparison.OrdinalIgnoreCase) || IPAddress.TryParse(address, out _);

    /// <summary>SAE IDs travel in URL paths and certificates: printable, not blank, of reasonable length.</summary>
    private static bool IsSaeId(string? id) =>
        !string.IsNullOrWhiteSpace(id) && id!.Length <= 256 && id.Trim().Length == id.Length && !id.Any(char.IsControl);

    private static bool IsHexDigit(char c) => c is >= '0' and <= '9' or >= 'A' and <= 'F';

    private static void CheckSizeLimit(string file, string name, int bits)
    {
        if (bits % 8 != 0 || bits < KeyRules.MinSizeBits || bits > KeyRules.MaxSizeBits)
            throw Invalid(file, $"{name} {bits} must be a multiple of 8 from {KeyRules.MinSizeBits} to {KeyRules.MaxSizeBits}");
    }

    private static QKDLiteException Invalid(string file, string why, Exception? inner = null) =>
        new(ErrorIds.EtsiServerConfigurationInvalid, QKDLiteErrorCategory.InvalidData,
            $"The EtsiServer section of '{file}' is not valid: {why}.", file, inner);
}
