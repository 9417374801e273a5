using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using QKDLite.Completion;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using QKDLite.Core.Kme;
using QKDLite.Core.Tls;

namespace QKDLite.Commands;

/// <summary>
/// Connects to a TLS endpoint (a KME, an ETSI server, any HTTPS server) and reports what it negotiates:
/// TLS version, key-exchange group (post-quantum or not), cipher suite and its certificate. Sends no request.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "TlsEndpoint", DefaultParameterSetName = UriSet)]
[OutputType(typeof(TlsEndpointReport))]
public sealed class TestTlsEndpointCommand : QKDLiteCmdlet
{
    private const string UriSet = "Uri";
    private const string KmeSet = "Kme";
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>https://host:port of the endpoints.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = UriSet)]
    [ValidateNotNullOrEmpty]
    public Uri[] Uri { get; set; } = Array.Empty<Uri>();

    /// <summary>A KME of the node configuration: each of its URLs is tested with its CA, client certificate and TLS settings.</summary>
    [Parameter(Mandatory = true, ParameterSetName = KmeSet)]
    [ArgumentCompleter(typeof(KeySourceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Kme { get; set; } = string.Empty;

    /// <summary>Profile to offer with (default Hybrid: post-quantum groups first, classical ones too; with -Kme its TlsProfile).</summary>
    [Parameter]
    public TlsProfile TlsProfile { get; set; } = TlsProfile.Hybrid;

    /// <summary>Post-quantum groups to offer, most preferred first (default X25519MLKEM768; with -Kme its TlsGroups).</summary>
    [Parameter]
    [ValidateSet("X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "MLKEM768", "MLKEM1024")]
    public string[]? Group { get; set; }

    /// <summary>PEM or DER file of the CA the server certificate must chain to (default: the roots this machine trusts).</summary>
    [Parameter(ParameterSetName = UriSet)]
    [ValidateNotNullOrEmpty]
    public string? CaCertificate { get; set; }

    /// <summary>Client certificate for servers that ask for one: PFX (no password), PEM with -ClientKey, or cert:&lt;thumbprint&gt;.</summary>
    [Parameter(ParameterSetName = UriSet)]
    [ValidateNotNullOrEmpty]
    public string? ClientCertificate { get; set; }

    /// <summary>PEM private key of a PEM -ClientCertificate.</summary>
    [Parameter(ParameterSetName = UriSet)]
    [ValidateNotNullOrEmpty]
    public string? ClientKey { get; set; }

    /// <summary>Reports on a server whose certificate is not trusted (or names another host) instead of failing.</summary>
    [Parameter]
    public SwitchParameter SkipCertificateCheck { get; set; }

    /// <summary>Seconds allowed for the connection and handshake to each endpoint.</summary>
    [Parameter]
    [ValidateRange(1, 300)]
    public int TimeoutSeconds { get; set; } = 10;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (ParameterSetName == KmeSet)
        {
            var file = QKDLitePaths.DefaultConfigurationFile;
            var settings = Terminating(() => NodeConfiguration.Load(file).Kme(Kme, file));
            var profile = MyInvocation.BoundParameters.ContainsKey(nameof(TlsProfile)) ? TlsProfile : settings.TlsProfile;
            Terminating(() =>
            {
                settings.Validate();
                return true;
            });
            var groups = Group is not null ? Codes(Group) : profile == TlsProfile.Classical ? Array.Empty<int>() : Terminating(settings.TlsGroupCodes);
            var ca = Terminating(settings.LoadCa);
            var certificate = Terminating(() => settings.LoadClientCertificate(exportable: profile != TlsProfile.Classical));
            foreach (var url in settings.Urls)
                PerItem(() => Probe(new System.Uri(url), profile, groups, ca, certificate, settings.Name));
            return;
        }

        var own = new KmeSettings
        {
            Name = "Test-TlsEndpoint",
            CaCertificate = CaCertificate is null ? string.Empty : GetUnresolvedProviderPathFromPSPath(CaCertificate),
            ClientCertificate = ClientCertificate is null ? string.Empty
                : ClientCertificate.StartsWith("cert:", StringComparison.OrdinalIgnoreCase) ? ClientCertificate : GetUnresolvedProviderPathFromPSPath(ClientCertificate),
            ClientKey = ClientKey is null ? null : GetUnresolvedProviderPathFromPSPath(ClientKey),
        };
        var givenCa = CaCertificate is null ? null : Terminating(own.LoadCa);
        var givenCertificate = ClientCertificate is null ? null : Terminating(() => own.LoadClientCertificate(exportable: TlsProfile != TlsProfile.Classical));
        foreach (var uri in Uri)
            PerItem(() => Probe(uri, TlsProfile, Codes(Group ?? Array.Empty<string>()), givenCa, givenCertificate, null));
    }

    private void Probe(Uri uri, TlsProfile profile, IReadOnlyList<int> groups, X509Certificate2? ca, X509Certificate2? certificate, string? kme)
    {
        if (!uri.IsAbsoluteUri || uri.Scheme != System.Uri.UriSchemeHttps || string.IsNullOrEmpty(uri.Host))
            throw new QKDLiteException(ErrorIds.TlsEndpointInvalid, QKDLiteErrorCategory.InvalidArgument,
                $"'{uri}' is not an https:// URI with a host (for example https://kme.example:443).", uri);
        var offered = profile == TlsProfile.Classical ? "the platform's classical groups"
            : string.Join(", ", (groups.Count > 0 ? groups : new[] { Org.BouncyCastle.Tls.NamedGroup.X25519MLKEM768 }).Select(PostQuantumGroups.NameOf))
              + (profile == TlsProfile.Hybrid ? ", then x25519, secp256r1, secp384r1" : " only");
        WriteVerbose($"Connecting to {uri.Host}:{uri.Port} with TlsProfile {profile}, offering {offered}.");
        var report = TlsEndpointProbe.Test(new TlsProbeRequest
        {
            Host = uri.Host,
            Port = uri.Port,
            Profile = profile,
            Groups = groups,
            Ca = ca,
            ClientCertificate = certificate,
            SkipCertificateCheck = SkipCertificateCheck,
            Timeout = TimeSpan.FromSeconds(TimeoutSeconds),
            Kme = kme,
        }, _stopping.Token);
        WriteVerbose(report.Group is null
            ? $"{report.Endpoint} negotiated {report.Protocol}, {report.CipherSuite} through the platform's TLS, which does not report the group."
            : $"{report.Endpoint} negotiated {report.Protocol}, group {report.Group} ({(report.PostQuantum ? "post-quantum" : "classical")}), {report.CipherSuite}.");
        if (!report.CertificateTrusted)
            WriteWarning($"The certificate of {report.Endpoint} ('{report.ServerCertificateSubject}') is not trusted or does not name the host; reported because of -SkipCertificateCheck.");
        WriteObject(report);
    }

    private static IReadOnlyList<int> Codes(IEnumerable<string> names) =>
        names.Select(n => PostQuantumGroups.TryGetPostQuantum(n, out var code) ? code : throw new ArgumentException(n)).ToList();

    /// <inheritdoc />
    protected override void StopProcessing() => _stopping.Cancel();
}
