using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Serialization;
using QKDLite.Core.Errors;
using QKDLite.Core.KeyStore;

namespace QKDLite.Core.Configuration;

/// <summary>
/// The node configuration file (JSON), read by the cmdlets, the ETSI server and replication.
/// It names where things are and how to get the PIN, never the PIN itself.
/// </summary>
public sealed class NodeConfiguration
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>The node's key store.</summary>
    public KeyStoreConfiguration? KeyStore { get; set; }

    /// <summary>KMEs of QKD links this node takes keys from (ETSI GS QKD 014), by name.</summary>
    public List<Kme.KmeSettings>? Kmes { get; set; }

    /// <summary>Quantum random number generators, by name.</summary>
    public List<Sources.QrngSettings>? Qrngs { get; set; }

    /// <summary>The ETSI GS QKD 014 key-delivery server (QKDLite_ETSI) of this node.</summary>
    public EtsiServerSettings? EtsiServer { get; set; }

    /// <summary>The remote sites this node replicates to.</summary>
    public ReplicationSettings? Replication { get; set; }
    /// <summary>The keyIDs the scheduled maintenance job keeps stocked on this node and its remote sites.</summary>
    public MaintenanceSettings? Maintenance { get; set; }

    /// <summary>The KME configuration with this name (case-insensitive).</summary>
    public Kme.KmeSettings Kme(string name, string file) =>
        Kmes?.FirstOrDefault(k => string.Equals(k.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new QKDLiteException(ErrorIds.KeySourceNotConfigured, QKDLiteErrorCategory.ObjectNotFound,
            $"No KME named '{name}' is in '{file}'. Configured: {Names(Kmes?.Select(k => k.Name))}.", name);

    /// <summary>The QRNG configuration with this name (case-insensitive).</summary>
    public Sources.QrngSettings Qrng(string name, string file) =>
        Qrngs?.FirstOrDefault(q => string.Equals(q.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new QKDLiteException(ErrorIds.KeySourceNotConfigured, QKDLiteErrorCategory.ObjectNotFound,
            $"No QRNG named '{name}' is in '{file}'. Configured: {Names(Qrngs?.Select(q => q.Name))}.", name);

    private static string Names(IEnumerable<string>? names)
    {
        var list = names?.ToList() ?? new List<string>();
        return list.Count == 0 ? "none" : string.Join(", ", list);
    }

    /// <summary>Reads a configuration file.</summary>
    public static NodeConfiguration Load(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new QKDLiteException(ErrorIds.NodeConfigurationNotFound, QKDLiteErrorCategory.ObjectNotFound,
                $"The node configuration file '{full}' does not exist. Run Initialize-KeyStore, or Connect-KeyStore with -Save.", full);
        try
        {
            var configuration = JsonSerializer.Deserialize<NodeConfiguration>(File.ReadAllText(full), Json)
                ?? throw new JsonException("The file is empty.");
            configuration.KeyStore?.Validate(full);
            configuration.EtsiServer?.Validate(full);
            configuration.Replication?.Validate(full);
            configuration.Maintenance?.Validate(full, configuration.Qrngs?.Select(q => q.Name) ?? Enumerable.Empty<string>());
            return configuration;
        }
        catch (JsonException e)
        {
            throw new QKDLiteException(ErrorIds.NodeConfigurationInvalid, QKDLiteErrorCategory.InvalidData,
                $"The node configuration file '{full}' is not valid JSON: {e.Message}", full, e);
        }
    }

    /// <summary>Writes the configuration atomically: a reader sees the old file or the new one, never half of one.</summary>
    public void Save(string path)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        var temporary = Path.Combine(directory, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
            if (File.Exists(full)) File.Replace(temporary, full, null);
            else File.Move(temporary, full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new QKDLiteException(ErrorIds.NodeConfigurationWriteFailed, QKDLiteErrorCategory.WriteError,
                $"The node configuration file '{full}' could not be written: {e.Message}", full, e);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}

/// <summary>The key store section of the node configuration.</summary>
public sealed class KeyStoreConfiguration
{
    /// <summary>PKCS#11 library path.</summary>
    public string Library { get; set; } = string.Empty;
    /// <summary>Token label.</summary>
    public string TokenLabel { get; set; } = string.Empty;
    /// <summary>SoftHSM2 configuration file for a local store.</summary>
    public string? SoftHsmConfig { get; set; }
    /// <summary>Owner-only file holding the PIN, for unattended use.</summary>
    public string? PinFile { get; set; }
    /// <summary>Environment variable holding the PIN, for automation pipelines.</summary>
    public string? PinEnvironmentVariable { get; set; }

    /// <summary>The settings to open this key store with.</summary>
    public KeyStoreSettings ToSettings() => new(Library, TokenLabel, SoftHsmConfig);

    internal void Validate(string file)
    {
        if (string.IsNullOrWhiteSpace(Library) || string.IsNullOrWhiteSpace(TokenLabel))
            throw new QKDLiteException(ErrorIds.NodeConfigurationInvalid, QKDLiteErrorCategory.InvalidData,
                $"The key store section of '{file}' must name both Library and TokenLabel.", file);
    }
}
